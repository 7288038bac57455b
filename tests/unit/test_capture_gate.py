"""The capture gate without X: input events and plain window facts in, what is journaled out;
and the options a detached recorder is started with."""

from __future__ import annotations

from recorder.capture.exclusion import ExclusionRules
from recorder.capture.gate import NO_WINDOW, SCROLL_RUN_NS, TYPING_PAUSE_NS, CaptureGate, Verdict, WindowFacts
from recorder.capture.hotkey import Hotkey
from recorder.capture.policy import CapturePolicy
from recorder.capture.recording import RecordOptions
from recorder.config import Config
from recorder.store.records import Event

MS = 1_000_000
XTERM = WindowFacts(10, ("xterm", "XTerm"), "notes - xterm", 42, (0, 0, 640, 400))
KEEPASS = WindowFacts(20, ("keepassxc", "KeePassXC"), "vault", 43, (700, 0, 400, 300))
SIGN_IN = WindowFacts(30, ("chromium", "Chromium"), "Sign in - Chromium", 44, (0, 420, 800, 380))


def _gate(policy: CapturePolicy | None = None, config: Config | None = None) -> CaptureGate:
    return CaptureGate(ExclusionRules.build(config or Config(), policy), Hotkey.parse("ctrl+alt+shift+p"))


def _key(t: int, kind: str, key: str, char: str = "") -> Event:
    return Event(t * MS, kind, {"key": key, "char": char, "mods": []} if kind == "key_down" else {"key": key, "mods": []})


def _type(gate: CaptureGate, text: str, t0: int = 0) -> list[Event]:
    """Press and release each character, 10 ms apart; the events the gate lets through."""
    out = []
    for i, ch in enumerate(text):
        for j, kind in enumerate(("key_down", "key_up")):
            for e in gate.hotkey(_key(t0 + 10 * i + 5 * j, kind, ch, ch))[0]:
                d = gate.decide(e)
                if d.verdict is Verdict.RECORD:
                    out.append(d.event)
    return out


def _pointer(gate: CaptureGate, kind: str, x: int, y: int, t: int, rects, **data):
    e = Event(t * MS, kind, {"x": x, "y": y, **data})
    return gate.decide(e, rects)


def test_keys_into_an_excluded_window_leave_nothing_and_entering_it_one_marker() -> None:
    gate = _gate()
    journal = gate.focus(0, XTERM)
    assert [e.kind for e in journal] == ["window"] and journal[0].data["title"] == "notes - xterm"
    assert journal[0].data["excluded"] is False
    assert "".join(e.data["char"] for e in _type(gate, "hi") if e.kind == "key_down") == "hi"
    assert gate.focus(1, XTERM) == []  # nothing changed, nothing journaled
    journal = gate.focus(100 * MS, KEEPASS)
    assert [e.kind for e in journal] == ["window", "excluded"]
    assert journal[0].data == {"wid": 20, "app": "KeePassXC", "title": "", "pid": 43, "x": 700, "y": 0, "w": 400,
                               "h": 300, "excluded": True}
    assert _type(gate, "secret", t0=200) == []
    retitled = WindowFacts(20, KEEPASS.wm_class, "vault (2)", 43, KEEPASS.rect)
    assert [e.kind for e in gate.focus(300 * MS, retitled)] == ["window"]  # still inside: no second marker
    assert [e.kind for e in gate.focus(400 * MS, SIGN_IN)] == ["window", "excluded"]  # by its title


def test_a_key_pressed_in_an_excluded_window_is_not_released_elsewhere() -> None:
    gate = _gate()
    gate.focus(0, KEEPASS)
    assert gate.decide(_key(1, "key_down", "a", "a")).verdict is Verdict.DROP
    gate.focus(2 * MS, XTERM)
    assert gate.decide(_key(3, "key_up", "a")).verdict is Verdict.DROP
    assert gate.decide(_key(4, "key_up", "a")).verdict is Verdict.RECORD  # a later release is its own


def test_apps_outside_a_study_allow_list_are_excluded_by_class_only() -> None:
    gate = _gate(CapturePolicy(apps_allowed=("XTerm",)))
    assert not gate.excluded(XTERM)
    assert gate.excluded(WindowFacts(11, ("xterm", "Scratch"), "scratch", 1, (0, 0, 1, 1)))  # `xterm -class Scratch`
    assert gate.excluded(SIGN_IN)
    assert not gate.excluded(NO_WINDOW)  # no focused window is not an excluded one
    gate.focus(0, WindowFacts(12, ("firefox", "firefox"), "news", 2, (0, 0, 9, 9)))
    assert _type(gate, "abc") == []


def test_study_policy_without_key_text_or_titles() -> None:
    gate = _gate(CapturePolicy(key_text=False, window_titles=False))
    assert gate.focus(0, XTERM)[0].data["title"] == ""
    assert _type(gate, "ab") == []  # text keys and their releases
    d = gate.decide(Event(100 * MS, "key_down", {"key": "enter", "char": "\n", "mods": []}))
    assert d.verdict is Verdict.RECORD and d.event.data == {"key": "enter", "char": "", "mods": []}
    shortcut = gate.decide(Event(101 * MS, "key_down", {"key": "c", "char": "", "mods": ["ctrl"]}))
    assert shortcut.verdict is Verdict.RECORD


def test_the_pause_hotkey_never_passes_and_paused_time_records_nothing() -> None:
    gate = _gate()
    gate.focus(0, XTERM)
    passed, toggles = [], 0
    for i, tok in enumerate("+ctrl +alt +shift +p -p -shift -alt -ctrl".split()):
        out, toggled = gate.hotkey(_key(i, "key_down" if tok[0] == "+" else "key_up", tok[1:]))
        passed += out
        toggles += toggled
    assert passed == [] and toggles == 1
    gate.set_paused(True)
    assert _type(gate, "x", t0=50) == []
    assert _pointer(gate, "click", 5, 5, 60, [], button="left", pressed=True).verdict is Verdict.DROP
    gate.set_paused(False)
    assert [e.kind for e in gate.focus(70 * MS, XTERM)] == ["window"]  # journaled again after a pause
    assert [e.data["key"] for e in _type(gate, "y", t0=80)] == ["y", "y"]


def test_a_held_modifier_goes_in_before_the_click_it_modifies() -> None:
    gate = _gate()
    assert gate.hotkey(_key(0, "key_down", "ctrl")) == ([], False)  # may start the hotkey: held back
    click = Event(MS, "click", {"x": 1, "y": 1, "button": "left", "pressed": True})
    passed, _ = gate.hotkey(click)
    assert [e.kind for e in passed] == ["key_down", "click"] and passed[0].t == 0


def test_pointer_over_an_excluded_window_journals_one_marker_and_nothing_else() -> None:
    gate = _gate()
    rects = [KEEPASS.rect]
    assert _pointer(gate, "move", 100, 100, 0, rects).verdict is Verdict.RECORD
    entering = _pointer(gate, "move", 800, 100, 1, rects)
    assert entering.verdict is Verdict.EXCLUDED and entering.event.kind == "excluded" and entering.event.data == {}
    assert _pointer(gate, "move", 810, 100, 2, rects).verdict is Verdict.DROP
    assert _pointer(gate, "click", 810, 100, 3, rects, button="left", pressed=True).verdict is Verdict.DROP
    assert _pointer(gate, "scroll", 810, 100, 4, rects, dx=0, dy=1).verdict is Verdict.DROP
    assert _pointer(gate, "move", 100, 100, 5, rects).verdict is Verdict.RECORD
    # the press was dropped over the excluded window: its release outside is dropped too, once
    assert _pointer(gate, "click", 100, 100, 6, rects, button="left", pressed=False).verdict is Verdict.DROP
    assert _pointer(gate, "click", 100, 100, 7, rects, button="left", pressed=True).verdict is Verdict.RECORD
    assert _pointer(gate, "click", 100, 100, 8, rects, button="left", pressed=False).verdict is Verdict.RECORD


def test_frames_go_before_new_actions_only() -> None:
    gate = _gate()
    gate.focus(0, XTERM)
    downs = [gate.decide(_key(t, "key_down", "a", "a")) for t in (0, 100, 100 + TYPING_PAUSE_NS // MS)]
    assert [d.frame_before for d in downs] == [True, False, True]
    assert _pointer(gate, "click", 1, 1, 0, [], button="left", pressed=True).frame_before is True
    assert _pointer(gate, "click", 1, 1, 1, [], button="left", pressed=False).frame_before is False
    notch = SCROLL_RUN_NS // MS
    scrolls = [_pointer(gate, "scroll", 1, 1, t, [], dx=0, dy=-1) for t in (10, 20, 20 + notch)]
    assert [d.frame_before for d in scrolls] == [True, False, True]


def test_fresh_rectangles_for_presses_and_scroll_starts_only() -> None:
    gate = _gate()
    press = Event(0, "click", {"x": 1, "y": 1, "button": "left", "pressed": True})
    release = Event(1, "click", {"x": 1, "y": 1, "button": "left", "pressed": False})
    move = Event(2, "move", {"x": 1, "y": 1})
    assert gate.needs_fresh_rects(press) and not gate.needs_fresh_rects(release) and not gate.needs_fresh_rects(move)
    scroll = Event(10 * MS, "scroll", {"x": 1, "y": 1, "dx": 0, "dy": 1})
    assert gate.needs_fresh_rects(scroll)
    gate.decide(scroll, [])
    assert not gate.needs_fresh_rects(Event(20 * MS, "scroll", scroll.data))
    assert gate.needs_fresh_rects(Event(10 * MS + SCROLL_RUN_NS, "scroll", scroll.data))


def test_config_rules_exclude_too() -> None:
    gate = _gate(config=Config(exclude_apps=["XTerm"]))
    assert [e.kind for e in gate.focus(0, XTERM)] == ["window", "excluded"]
    assert _type(gate, "a") == []


def test_a_detached_recorder_gets_the_policy_its_caller_resolved() -> None:
    options = RecordOptions(name="n", study="s1", duration_s=2.0,
                            policy=CapturePolicy(key_text=False, apps_allowed=("XTerm",), extra_deny=("Nightjar",)))
    assert RecordOptions.from_json(options.to_json()) == options
    assert RecordOptions.from_json(RecordOptions().to_json()) == RecordOptions()
