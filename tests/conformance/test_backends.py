"""Capture backend conformance: the same checks against every backend this machine can run, each
on its real display (the driver in conftest.py hides how windows are opened and input is made).
What recorder/capture/backend.py promises of a backend is what is checked: screens, frames
(pixels and change hints), windows (focus, titles, rectangles, exclusion), input in one
normalised form, doctor checks, and failing closed where the focused window cannot be known."""

from __future__ import annotations

import numpy as np
import pytest

from recorder.capture.backend import Rect
from recorder.capture.recording import read_status
from tests.conformance.conftest import SCREEN, Driver, Probe, poll
from tests.support.recording import read_back, typed

pytestmark = pytest.mark.conformance

W, H = SCREEN
RED, BLUE, WHITE = "ff0000", "0000ff", "ffffff"
TOLERANCE = 8  # per channel: the colours are exact on both displays; this leaves room for dithering
SECRET, NOTES = "Conformance Secret", "Conformance Notes"
EXCLUDE_SECRET = "^Conformance Secret$"
CLICK = (321, 234)

# "Hi!" and Enter, Shift held around H and !: the same events from every backend (no key repeat)
EXPECTED_KEYS = [
    ("key_down", {"key": "shift", "char": "", "mods": []}),
    ("key_down", {"key": "H", "char": "H", "mods": ["shift"]}),
    ("key_up", {"key": "H", "mods": ["shift"]}),
    ("key_up", {"key": "shift", "mods": []}),
    ("key_down", {"key": "i", "char": "i", "mods": []}),
    ("key_up", {"key": "i", "mods": []}),
    ("key_down", {"key": "shift", "char": "", "mods": []}),
    ("key_down", {"key": "!", "char": "!", "mods": ["shift"]}),
    ("key_up", {"key": "!", "mods": ["shift"]}),
    ("key_up", {"key": "shift", "mods": []}),
    ("key_down", {"key": "enter", "char": "\n", "mods": []}),
    ("key_up", {"key": "enter", "mods": []}),
]
EXPECTED_CLICKS = [
    ("click", {"x": CLICK[0], "y": CLICK[1], "button": "left", "pressed": True}),
    ("click", {"x": CLICK[0], "y": CLICK[1], "button": "left", "pressed": False}),
]


def contains(outer: Rect | list[int], inner: Rect | list[int]) -> bool:
    ox, oy, ow, oh = outer
    ix, iy, iw, ih = inner
    return ox <= ix and oy <= iy and ix + iw <= ox + ow and iy + ih <= oy + oh


def intersects(a: Rect | list[int], b: Rect | list[int]) -> bool:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    return ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah


def inside(rect: Rect, top: int = 40, margin: int = 12) -> list[int]:
    """A box [x0, y0, x1, y1] well inside a terminal's client area: its background only (the
    cursor and anything typed sit in the first line)."""
    x, y, w, h = rect
    return [x + margin, y + top, x + w - margin, y + h - margin]


def test_screens(driver: Driver) -> None:
    with driver.probe() as probe:
        screens = probe.open().call("screens")
    assert screens and screens == [{"x": 0, "y": 0, "w": W, "h": H, "scale": 1.0}]


def assert_shows(probe: Probe, rect: Rect, rgb: str) -> None:
    """The frame source's pixels show a terminal with background `rgb` exactly where the display
    server says its client area is: all of it (below the first lines: cursor, typed text) in that
    colour, and the 2-pixel strips just left, right and below it not (its frame, or the desktop)."""
    x, y, w, h = rect
    seen = probe.call("colour", box=[x, y + 40, x + w, y + h], rgb=rgb, tolerance=TOLERANCE, share=0.999, timeout=10)
    assert seen["share"] >= 0.999, (rect, rgb, seen)
    for x0, y0, x1, y1 in ((x - 2, y + 40, x, y + h), (x + w, y + 40, x + w + 2, y + h), (x, y + h, x + w, y + h + 2)):
        if 0 <= x0 and x1 <= W and y1 <= H:
            seen = probe.call("colour", box=[x0, y0, x1, y1], rgb=rgb, tolerance=TOLERANCE, share=2, timeout=0)
            assert seen["share"] < 0.5, ("the colour spills past the window: frames offset?", rect, (x0, y0, x1, y1), seen)


def test_frames_show_the_screen_and_report_changes(driver: Driver) -> None:
    red, blue = driver.terminal("Conformance Red", RED), driver.terminal("Conformance Blue", BLUE)
    # each recording opens a frame source of its own, whatever was on screen and shared before: a
    # second one, opened while the screen is still, must show it as promptly as the first
    for attempt in ("first", "second"):
        with driver.probe() as probe:
            screens = probe.open().call("screens")
            frames = probe.call("frames")
            assert [frames["bounds"]] == [[s["x"], s["y"], s["w"], s["h"]] for s in screens]
            # the first answer that is not [] covers the whole picture (or None: grab it all)
            first = poll(lambda: (r := probe.call("changes", timeout=0.5)) != [] and [r], "a first picture", 10)[0]
            assert first is None or any(contains(r, frames["bounds"]) for r in first), first
            for win, rgb in ((red, RED), (blue, BLUE)):  # side by side: an offset shows as the wrong colour
                assert_shows(probe, driver.rect(win), rgb)
            if attempt == "first":
                continue
            # a still screen: [] (or None where the platform cannot tell); then a change is reported
            poll(lambda: probe.call("changes", timeout=0.5) in ([], None), "the screen to settle")
            driver.type_on_screen("conformance")  # into the blue terminal, which has the focus
            changed = poll(lambda: (r := probe.call("changes", timeout=1)) is None and ["unknown"] or r,
                           "the typed text to be reported")
            if changed != ["unknown"]:
                assert all(contains(frames["bounds"], r) for r in changed), changed
                assert any(intersects(r, driver.rect(blue)) for r in changed), (changed, driver.rect(blue))


def test_windows_follow_the_focus(driver: Driver) -> None:
    with driver.probe() as probe:
        probe.open().call("windows")
        assert probe.call("known") is True
        alpha = driver.terminal("Conformance Alpha")
        beta = driver.terminal("Conformance Beta")
        for win, other in ((beta, alpha), (alpha, beta)):
            if win is alpha:
                driver.focus(alpha)
            facts = poll(lambda w=win: (f := probe.call("active"))["title"] == w.title and f,
                         f"active() to say {win.title!r}")
            assert facts["app"] == driver.app and facts["title"] == win.title
            client = driver.rect(win)
            # the window with its frame: all of the client area, little more, nothing of the other one
            assert contains(facts["rect"], client), (facts["rect"], client)
            assert contains((0, 0, W, H), facts["rect"]), facts["rect"]
            assert facts["rect"][2] - client[2] <= 32 and facts["rect"][3] - client[3] <= 64, (facts["rect"], client)
            assert not intersects(facts["rect"], driver.rect(other)), (facts["rect"], driver.rect(other))


def test_excluded_windows_are_listed_and_black_in_frames(driver: Driver) -> None:
    secret = driver.terminal(SECRET, RED)
    notes = driver.terminal(NOTES, WHITE)
    with driver.probe() as probe:
        probe.open(exclude_titles=(EXCLUDE_SECRET,)).call("windows")
        rects = probe.call("excluded")
    assert any(contains(r, driver.rect(secret)) for r in rects), (rects, driver.rect(secret))
    assert not any(intersects(r, driver.rect(notes)) for r in rects), (rects, driver.rect(notes))

    home = driver.owntrace_home(f'[exclude]\ntitles = ["{EXCLUDE_SECRET}"]\n')

    def first_frame() -> None:  # a change on screen too: a screen-cast stream may send its first frame only then
        driver.type_on_screen("notes")
        poll(lambda: (st := read_status(home)) is None or st.frames >= 1, "the first frame", 30)

    done = driver.record(home, duration=3, during=first_frame)
    assert done.ok, done.error
    s, key, events = read_back(home, driver.user)
    assert s.meta.frames >= 1
    notes_box = inside(driver.rect(notes), top=150)  # below the recorder's own notification, where one shows
    for n in range(1, s.meta.frames + 1):
        pixels = np.asarray(s.frame_image(key, n).convert("RGB")).astype(int)
        for x, y, w, h in rects:
            assert not pixels[y : y + h, x : x + w].any(), f"frame {n} shows the excluded window at {(x, y, w, h)}"
        x0, y0, x1, y1 = notes_box
        white = (np.abs(pixels[y0:y1, x0:x1] - 255) <= TOLERANCE).all(axis=-1).mean()
        assert white >= 0.98, f"frame {n}: the notes window is not on it ({white:.2f} of its box white)"


def test_input_is_normalised(driver: Driver) -> None:
    driver.terminal("Conformance Input")  # where typing goes on screen
    with driver.probe() as probe:
        assert probe.open().call("input_start") is True, "no input source on this desktop"
        driver.keys("Hi!\n")
        keys = poll(lambda: len(k := _events(probe, "key")) >= len(EXPECTED_KEYS) and k, "the keys")
        driver.click(*CLICK)
        clicks = poll(lambda: len(c := _events(probe, "click")) >= len(EXPECTED_CLICKS) and c, "the click")
        assert keys == EXPECTED_KEYS
        assert clicks == EXPECTED_CLICKS


def test_doctor_finds_nothing_failing(driver: Driver) -> None:
    with driver.probe() as probe:
        checks = probe.call("doctor", kind=driver.kind)
    assert {"display", "input capture", "screen capture"} <= {c["name"] for c in checks}, checks
    assert [c for c in checks if c["level"] == "fail"] == []


def test_no_frames_where_the_focused_window_is_unknown(driver: Driver) -> None:
    if not driver.can_hide_focus:
        pytest.skip(f"{driver.kind}: every window manager says which window has the focus (EWMH); "
                    "no real state makes WindowSource.known() False")
    driver.terminal("Conformance Unknown")
    home = driver.owntrace_home()

    def typing() -> None:
        poll(lambda: (st := read_status(home)) is None or st.state == "recording", "the recorder to record")
        driver.keys("Hi!\n")
        poll(lambda: (st := read_status(home)) is None or st.events >= len(EXPECTED_KEYS), "the keys in the journal")

    done = driver.record(home, duration=3, during=typing, hide_focus=True)
    assert done.ok, done.error
    assert any(n.startswith("note: no frames: ") for n in done.notices), done.notices
    s, _key, events = read_back(home, driver.user)
    assert s.meta.frames == 0 and not [e for e in events if e.kind == "frame"]
    assert typed(events) == "Hi!\n"


def _events(probe: Probe, prefix: str) -> list[tuple[str, dict]]:
    return [(e["kind"], e["data"]) for e in probe.call("input_events") if e["kind"].startswith(prefix)]
