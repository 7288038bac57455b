"""The recorder on a real X display (Xvfb + openbox), input injected with xdotool into xterms,
read back from the sealed store: keys, clicks, windows, frames, exclusion, pause hotkey, policy."""

from __future__ import annotations

import numpy as np
import pytest

from recorder.capture.policy import CapturePolicy
from recorder.capture.recording import RecordOptions
from tests.support import xhelpers as xh
from tests.support.recording import read_back, recording, settle, typed

pytestmark = pytest.mark.x11


def test_keys_clicks_and_window_titles_in_order(home, user, xenv) -> None:
    with xh.xterm("OwnTrace Notes", xenv, geometry="80x24+40+40"), recording(home) as rec:
        xh.type_text("hello world 42", xenv)
        xh.click(200, 120, xenv)
        xh.click(300, 200, xenv, button=3)
        with xh.xterm("OwnTrace Other", xenv, geometry="40x10+700+300"):
            xh.type_text("xyz", xenv)
            xh.click(760, 360, xenv)
            settle(rec)
    s, key, events = read_back(home, user)
    assert s.meta.state == "recorded" and s.meta.screens == [{"x": 0, "y": 0, "w": 1280, "h": 800, "scale": 1.0}]

    inputs = [e for e in events if e.kind in ("key_down", "click")]
    assert typed(inputs) == "hello world 42xyz"
    clicks = [(e.get("x"), e.get("y"), e.get("button"), e.get("pressed")) for e in events if e.kind == "click"]
    assert clicks == [
        (200, 120, "left", True), (200, 120, "left", False),
        (300, 200, "right", True), (300, 200, "right", False),
        (760, 360, "left", True), (760, 360, "left", False),
    ]
    # each key and click happened in the window the journal says was focused
    title = None
    seen = []
    for e in events:
        if e.kind == "window":
            title = e.get("title")
        elif e.kind in ("key_down", "click") and e.get("pressed", True):
            seen.append((e.get("char") or e.get("button"), title))
    assert {t for c, t in seen[:15]} == {"OwnTrace Notes"}
    assert {t for c, t in seen[17:]} == {"OwnTrace Other"}
    # keys come in press/release pairs, in order
    ups = [e.get("key") for e in events if e.kind == "key_up"]
    assert "".join(ups).replace("space", " ") == "hello world 42xyz"
    # the path ends where the click happened, and a frame precedes every press
    for i, e in enumerate(events):
        if e.kind == "click" and e.get("pressed"):
            assert events[i - 1].kind == "frame" and events[i - 1].get("reason") == "action"
    frame_events = [e for e in events if e.kind == "frame"]
    assert frame_events and all(1 <= e.get("n") <= s.meta.frames for e in frame_events)
    for n in range(1, s.meta.frames + 1):
        assert s.frame_image(key, n).size == (1280, 800)
    assert [e.t for e in events if e.kind == "key_down"] == sorted(e.t for e in events if e.kind == "key_down")


def test_excluded_window_leaves_no_keys_and_is_black_in_every_frame(home, user, xenv) -> None:
    with xh.xterm("Sign in", xenv, geometry="50x10+600+400") as signin, \
            xh.xterm("OwnTrace Notes", xenv, geometry="60x20+20+20") as notes, recording(home):
        xh.type_text("visible", xenv)
        xh.focus(signin, xenv)
        xh.type_text("hunter2secret", xenv)
        xh.key("Return", xenv)
        xh.focus(notes, xenv)
        xh.type_text("after", xenv)
    s, key, events = read_back(home, user)
    assert typed(events) == "visibleafter"
    wins = [e for e in events if e.kind == "window" and e.get("excluded")]
    assert wins and all(w.get("title") == "" for w in wins)
    assert sum(e.kind == "excluded" for e in events) == 1
    i = next(i for i, e in enumerate(events) if e.kind == "excluded")
    j = next(j for j, e in enumerate(events) if j > i and e.kind == "window" and not e.get("excluded"))
    assert not [e for e in events[i:j] if e.kind.startswith("key")]  # no count, no timing
    journal = b"".join(s.read_sealed(key, f"journal/{p.name}") for p in s.segment_files())
    assert b"hunter" not in journal and b"secret" not in journal

    x, y, w, h = (wins[0].get(k) for k in ("x", "y", "w", "h"))
    assert w > 300 and h > 100
    assert s.meta.frames >= 2
    for n in range(1, s.meta.frames + 1):
        pixels = np.asarray(s.frame_image(key, n))
        assert not pixels[y : y + h, x : x + w].any(), f"frame {n} shows the excluded window"
        assert pixels[40:200, 40:300].any()  # the notes window is there, white


def test_pointer_over_an_excluded_window_records_nothing(home, user, xenv) -> None:
    with xh.xterm("Sign in", xenv, geometry="50x10+600+400"), \
            xh.xterm("OwnTrace Notes", xenv, geometry="60x20+20+20"), recording(home) as rec:
        xh.click(150, 130, xenv)
        for x, y in ((640, 450), (700, 470), (760, 480)):  # moves across the excluded window
            xh.xdotool("mousemove", "--sync", str(x), str(y), env=xenv)
        xh.click(720, 460, xenv)  # focuses it
        xh.click(730, 465, xenv, button=3)
        xh.click(735, 470, xenv, button=5, repeat=3)  # scroll down
        xh.type_text("hunter2", xenv)
        xh.click(160, 140, xenv)  # back to the notes
        settle(rec)
    s, key, events = read_back(home, user)
    x, y, w, h = (next(e for e in events if e.kind == "window" and e.get("excluded")).get(k) for k in "xywh")
    assert w > 300 and h > 100 and x <= 600 and y <= 400
    pointer = [e for e in events if e.kind in ("move", "click", "scroll")]
    inside = [e for e in pointer if x <= e.get("x") < x + w and y <= e.get("y") < y + h]
    assert inside == [], inside
    clicks = [(e.get("x"), e.get("y"), e.get("pressed")) for e in events if e.kind == "click"]
    assert clicks == [(150, 130, True), (150, 130, False), (160, 140, True), (160, 140, False)]
    assert not [e for e in events if e.kind == "scroll"] and typed(events) == ""
    # one bare marker for the pointer's entry and one for the focus: no count, no timing
    markers = [e for e in events if e.kind == "excluded"]
    assert 1 <= len(markers) <= 2 and all(e.data == {} for e in markers)


def test_pause_hotkey_is_absent_and_paused_time_records_nothing(home, user, xenv) -> None:
    with xh.xterm("OwnTrace Notes", xenv), recording(home):
        xh.type_text("abc", xenv)
        xh.key("ctrl+alt+shift+p", xenv)
        xh.type_text("zzsecret", xenv)
        xh.click(100, 100, xenv)
        xh.key("ctrl+alt+shift+p", xenv)
        xh.type_text("def", xenv)
    s, key, events = read_back(home, user)
    assert typed(events) == "abcdef"
    keys = [e.get("key").lower() for e in events if e.kind.startswith("key")]
    assert not {"ctrl", "alt", "shift", "p"} & set(keys)
    kinds = [e.kind for e in events]
    assert kinds.count("pause") == 1 and kinds.count("resume") == 1
    paused = kinds[kinds.index("pause") + 1 : kinds.index("resume")]
    assert paused == []
    assert not [e for e in events if e.kind == "click"]


def test_study_policy_applies_at_capture_time(home, user, xenv) -> None:
    policy = CapturePolicy(key_text=False, screenshots=False, window_titles=False)
    with xh.xterm("OwnTrace Notes", xenv), recording(home, RecordOptions(policy=policy, study="s1")):
        xh.type_text("abc", xenv)
        for named in ("BackSpace", "Tab", "Escape", "Up", "F5", "Return", "ctrl+e", "alt+x"):
            xh.key(named, xenv)
        xh.type_text("d\n", xenv)  # xdotool sends the newline as the Linefeed keysym
        xh.click(130, 110, xenv)  # not where the last test left the pointer: `mousemove --sync` would wait
    s, key, events = read_back(home, user)
    assert s.meta.study == "s1" and s.meta.frames == 0
    assert not [e for e in events if e.kind == "frame"]
    assert all(not e.get("char") for e in events if e.kind == "key_down")
    downs = [e.get("key") for e in events if e.kind == "key_down"]
    assert downs == ["backspace", "tab", "esc", "up", "f5", "enter", "ctrl", "e", "alt", "x", "enter"]
    assert [e.get("mods") for e in events if e.kind == "key_down" and e.get("key") in ("e", "x")] == [["ctrl"], ["alt"]]
    assert all(e.get("title") == "" for e in events if e.kind == "window")
    assert [e.kind for e in events if e.kind == "click"] == ["click", "click"]


def test_apps_outside_the_study_are_excluded(home, user, xenv) -> None:
    policy = CapturePolicy(apps_allowed=("firefox",))
    with xh.xterm("OwnTrace Notes", xenv), recording(home, RecordOptions(policy=policy)):
        xh.type_text("abc", xenv)
    s, key, events = read_back(home, user)
    assert typed(events) == ""
    assert [e.get("excluded") for e in events if e.kind == "window"][-1] is True
    for n in range(1, s.meta.frames + 1):
        assert not np.asarray(s.frame_image(key, n))[60:300, 60:400].any()
