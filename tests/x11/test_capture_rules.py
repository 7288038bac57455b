"""Pure capture rules: move coalescing, the pause-hotkey filter, exclusion rules, key naming."""

from __future__ import annotations

import pytest

from recorder.capture.coalesce import MoveCoalescer
from recorder.capture.exclusion import ExclusionRules, pointer_in
from recorder.capture.hotkey import Hotkey, HotkeyFilter
from recorder.capture.keynames import types_text
from recorder.capture.policy import CapturePolicy
from recorder.capture.x11.input import key_name
from recorder.config import Config
from recorder.errors import OwnTraceError
from recorder.store.records import Event

MS = 1_000_000


def _coalesce(points: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    c = MoveCoalescer()
    out = []
    for p in points:
        out += c.add(*p)
    return out + c.flush()


def test_straight_run_keeps_little_more_than_its_ends() -> None:
    line = [(i * 2 * MS, 100 + i, 200 + i // 2) for i in range(100)]  # 400 moves/s for 0.2 s
    out = _coalesce(line)
    assert out[0] == line[0] and out[-1] == line[-1] and len(out) <= 3


def test_corners_of_the_path_are_kept() -> None:
    right = [(i * MS, i, 0) for i in range(0, 50)]
    down = [((50 + i) * MS, 49, i) for i in range(1, 50)]
    out = _coalesce(right + down)
    assert out[0] == right[0] and out[-1] == down[-1]
    assert any(abs(x - 49) <= 2 and y <= 2 for _t, x, y in out)  # the corner
    assert len(out) <= 5


def test_slow_hover_keeps_its_timing() -> None:
    hover = [(i * 100 * MS, 10 + i, 10 + i) for i in range(30)]  # 3 s along a line
    out = _coalesce(hover)
    assert len(out) >= 3e9 / MoveCoalescer().max_gap_ns - 1
    assert [p[0] for p in out] == sorted(p[0] for p in out)


def _keys(spec: str) -> list[Event]:
    """'+ctrl +c -c -ctrl' -> key_down/key_up events, 1 ms apart."""
    out = []
    for i, tok in enumerate(spec.split()):
        out.append(Event(i * MS, "key_down" if tok[0] == "+" else "key_up", {"key": tok[1:]}))
    return out


def _feed(f: HotkeyFilter, events: list[Event]) -> tuple[list[str], int]:
    passed, toggles = [], 0
    for e in events:
        out, toggled = f.feed(e)
        passed += [("+" if o.kind == "key_down" else "-") + o.data["key"] for o in out]
        toggles += toggled
    return passed, toggles


def test_hotkey_and_its_modifiers_never_pass() -> None:
    f = HotkeyFilter(Hotkey.parse("ctrl+alt+shift+p"))
    passed, toggles = _feed(f, _keys("+a -a +ctrl +alt +shift +P -P -shift -alt -ctrl +b -b"))
    assert passed == ["+a", "-a", "+b", "-b"] and toggles == 1


def test_modifiers_of_other_shortcuts_pass_in_order_with_their_times() -> None:
    f = HotkeyFilter(Hotkey.parse("ctrl+alt+shift+p"))
    events = _keys("+ctrl +c -c -ctrl +shift +A -A -shift +ctrl +alt +t -t -alt -ctrl")
    out = []
    for e in events:
        out += f.feed(e)[0]
    assert [("+" if o.kind == "key_down" else "-") + o.data["key"] for o in out] == [
        "+ctrl", "+c", "-c", "-ctrl", "+shift", "+A", "-A", "-shift", "+ctrl", "+alt", "+t", "-t", "-alt", "-ctrl",
    ]
    assert [o.t for o in out] == [e.t for e in events]


def test_held_modifier_goes_in_before_a_click() -> None:
    f = HotkeyFilter(Hotkey.parse("ctrl+alt+shift+p"))
    out = []
    for e in [Event(1, "key_down", {"key": "ctrl"}), Event(2, "move", {"x": 1, "y": 1}), Event(3, "click", {"pressed": True})]:
        out += f.feed(e)[0]
    assert [(e.kind, e.t) for e in out] == [("move", 2), ("key_down", 1), ("click", 3)]


def test_hotkey_pressed_twice_with_modifiers_held_toggles_twice() -> None:
    f = HotkeyFilter(Hotkey.parse("ctrl+alt+shift+p"))
    passed, toggles = _feed(f, _keys("+ctrl +alt +shift +p +p -p +p -p -shift -alt -ctrl"))
    assert passed == [] and toggles == 2  # the second +p is auto-repeat


@pytest.mark.parametrize("bad", ["p", "ctrl+", "ctrl+a+b", ""])
def test_bad_hotkey_is_a_clear_error(bad: str) -> None:
    with pytest.raises(OwnTraceError, match="pause_hotkey"):
        Hotkey.parse(bad)


@pytest.mark.parametrize(
    "wm_class,title",
    [
        (("keepassxc", "KeePassXC"), "Passwords.kdbx - KeePassXC"),
        (("1password", "1Password"), "1Password"),
        (("bitwarden", "Bitwarden"), "Vault"),
        (("Navigator", "firefox"), "Bank — Mozilla Firefox Private Browsing"),
        (("chromium", "Chromium"), "New Tab - Chromium (Incognito)"),
        (("xterm", "XTerm"), "Sign in"),
        (("chromium", "Chromium"), "Log in to your account - Chromium"),
        (("xterm", "XTerm"), "sudo: password for me"),
    ],
)
def test_builtin_exclusions(wm_class, title) -> None:
    assert ExclusionRules.build(Config()).reason(wm_class, title) is not None


@pytest.mark.parametrize("title", ["Inbox - Mail", "Design review notes", "Blog: signing off for the year"])
def test_ordinary_windows_are_captured(title) -> None:
    assert ExclusionRules.build(Config()).reason(("xterm", "XTerm"), title) is None


def test_config_and_study_rules() -> None:
    rules = ExclusionRules.build(
        Config(exclude_apps=["Signal"], exclude_titles=[r"^Payroll\b"]),
        CapturePolicy(apps_allowed=("xterm", "firefox"), apps_excluded=("firefox",)),
    )
    assert rules.reason(("signal", "Signal"), "Chats") == "app"
    assert rules.reason(("xterm", "XTerm"), "Payroll 2026") == "title"
    assert rules.reason(("Navigator", "firefox"), "Docs") == "study"
    assert rules.reason(("gimp", "Gimp"), "Untitled") == "study"
    assert rules.reason(("xterm", "XTerm"), "notes") is None


def test_bad_title_regex_is_a_clear_error() -> None:
    with pytest.raises(OwnTraceError, match="invalid regex"):
        ExclusionRules.build(Config(exclude_titles=["(unclosed"]))


def test_study_allow_list_matches_the_class_only_deny_rules_either_name() -> None:
    rules = ExclusionRules.build(Config(), CapturePolicy(apps_allowed=("XTerm",), apps_excluded=("scratchpad",)))
    assert rules.reason(("xterm", "XTerm"), "notes") is None
    assert rules.reason(("xterm", "Scratch"), "notes") == "study"  # `xterm -class Scratch`
    assert rules.reason(("XTerm", "Other"), "notes") == "study"  # the instance alone never allows
    assert rules.reason(("scratchpad", "XTerm"), "notes") == "study"  # a deny rule matches the instance
    assert rules.reason((), "no WM_CLASS") == "study"
    assert ExclusionRules.build(Config()).reason((), "no WM_CLASS") is None
    policy = CapturePolicy(apps_allowed=("XTerm",))
    assert policy.app_allowed("xterm") and not policy.app_allowed("Scratch")


def test_pointer_in_excluded_rectangles() -> None:
    rects = [(100, 50, 200, 100), (600, 400, 10, 10)]
    assert pointer_in(rects, 100, 50) and pointer_in(rects, 299, 149) and pointer_in(rects, 605, 405)
    assert not pointer_in(rects, 300, 100) and not pointer_in(rects, 150, 150) and not pointer_in([], 0, 0)


class _KeyCode:  # what pynput hands over for a key it cannot name
    def __init__(self, vk: int, char: str | None = None) -> None:
        self.vk, self.char = vk, char


@pytest.mark.parametrize("keysym", [0xFF0A, 0xFF0D, 0xFF8D])  # Linefeed (`xdotool type "\n"`), Return, KP_Enter
def test_enter_keysyms_are_named_enter(keysym) -> None:
    assert key_name(_KeyCode(keysym)) == ("enter", "\n")


@pytest.mark.parametrize(
    "name,char,text",
    [("a", "a", True), ("space", " ", True), ("A", "A", True), ("enter", "\n", False), ("tab", "\t", False),
     ("backspace", "", False), ("esc", "", False), ("up", "", False), ("f5", "", False), ("e", "", False)],
)
def test_only_keys_that_type_text_are_dropped_without_key_text(name, char, text) -> None:
    assert types_text(name, char) is text  # ("e", "") is ctrl+e: the listener already cleared its char
