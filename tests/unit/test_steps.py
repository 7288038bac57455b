"""Events → steps, on synthetic journals (the recorded-session test is in test_steps_x11.py)."""

from __future__ import annotations

import pytest

from recorder.steps import Screen, derive_steps, index_findings, step_redactions
from recorder.store.records import Event

MS = 1_000_000
SCREEN = Screen(0, 0, 1280, 800)


class Journal:
    """Builds an event list the way the recorder writes it (frame event just before an action)."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.t = 0
        self.frames = 0

    def add(self, kind: str, dt_ms: int = 10, **data) -> Journal:
        self.t += dt_ms * MS
        self.events.append(Event(self.t, kind, data))
        return self

    def frame(self) -> Journal:
        self.frames += 1
        return self.add("frame", n=self.frames, w=1280, h=800, reason="action", dup=False)

    def click(self, x: int, y: int, button: str = "left", to: tuple[int, int] | None = None) -> Journal:
        self.frame().add("click", x=x, y=y, button=button, pressed=True)
        if to:
            for k in range(1, 4):
                self.add("move", x=x + (to[0] - x) * k // 3, y=y + (to[1] - y) * k // 3)
            x, y = to
        return self.add("click", 60, x=x, y=y, button=button, pressed=False)

    def key(self, key: str, char: str = "", mods: tuple[str, ...] = (), **extra) -> Journal:
        self.add("key_down", 40, key=key, char=char, mods=list(mods), **extra)
        return self.add("key_up", 30, key=key, mods=list(mods))

    def type(self, text: str) -> Journal:
        for c in text:
            self.key("space" if c == " " else c, c, ("shift",) if c.isupper() else ())
        return self

    def steps(self):
        return derive_steps(self.events, started_at="2026-01-02T03:04:05.000Z", screen=SCREEN)


def test_click_with_coordinates_frame_and_pyautogui() -> None:
    j = Journal().add("window", wid=7, app="XTerm", title="shell", pid=1, x=0, y=0, w=640, h=480, excluded=False)
    j.click(512, 300)
    [s] = j.steps()
    assert s.action.type == "click" and (s.action.x_px, s.action.y_px) == (512, 300)
    assert s.action.x_norm == 0.4 and s.action.y_norm == 0.375
    assert s.pyautogui == "pyautogui.click(x=512, y=300)"
    assert s.frame == 1 and s.window == {"app": "XTerm", "title": "shell"} and s.window_event == 0
    assert s.wall_time == "2026-01-02T03:04:05.030Z" and s.t_start == 0.03


def test_double_right_and_middle_clicks() -> None:
    j = Journal().click(100, 100).click(101, 100)  # 2nd press 80 ms after the 1st: a double click
    j.add("pause", 1000).add("resume", 10)
    j.click(100, 100, "right").click(5, 5, "middle")
    kinds = [(s.action.type, s.pyautogui) for s in j.steps()]
    assert kinds == [
        ("double_click", "pyautogui.doubleClick(x=100, y=100)"),
        ("right_click", "pyautogui.rightClick(x=100, y=100)"),
        ("click", "pyautogui.click(x=5, y=5, button='middle')"),
    ]


def test_slow_second_click_is_two_clicks_and_third_click_starts_over() -> None:
    j = Journal().click(10, 10)
    j.add("move", 700, x=10, y=10).click(10, 10)
    assert [s.action.type for s in j.steps()] == ["click", "click"]
    j = Journal().click(10, 10).click(10, 10).click(10, 10)
    assert [s.action.type for s in j.steps()] == ["double_click", "click"]


def test_drag_has_end_point() -> None:
    [s] = Journal().click(100, 200, to=(400, 250)).steps()
    a = s.action
    assert a.type == "drag" and (a.x_px, a.y_px, a.end_x_px, a.end_y_px) == (100, 200, 400, 250)
    assert a.end_x_norm == 0.3125 and s.t_end > s.t_start
    assert s.pyautogui == "pyautogui.moveTo(x=100, y=200); pyautogui.dragTo(x=400, y=250, button='left')"


def test_scroll_notches_merge_by_time_and_place() -> None:
    j = Journal().frame()
    for _ in range(3):
        j.add("scroll", 50, x=600, y=400, dx=0, dy=-1)
    j.add("scroll", 2000, x=600, y=400, dx=2, dy=0)  # later: a new scroll
    s1, s2 = j.steps()
    assert (s1.action.dx, s1.action.dy) == (0, -3) and s1.pyautogui == "pyautogui.scroll(-3, x=600, y=400)"
    assert s2.pyautogui == "pyautogui.hscroll(2, x=600, y=400)" and len(s1.events) == 3


def test_typing_run_with_backspace_shift_and_keys() -> None:
    j = Journal().frame().type("Helo").key("backspace").type("lo world")
    j.key("enter", "\r").key("tab", "\t").key("backspace").key("left")
    steps = j.steps()
    assert [(s.action.type, s.pyautogui) for s in steps] == [
        ("type", "pyautogui.write('Hello world')"),
        ("key", "pyautogui.press('enter')"),
        ("key", "pyautogui.press('tab')"),
        ("key", "pyautogui.press('backspace')"),
        ("key", "pyautogui.press('left')"),
    ]
    assert steps[0].frame == 1 and steps[0].action.text == "Hello world"


def test_hotkeys_and_modifier_only_presses() -> None:
    j = Journal().key("ctrl").key("s", "\x13", ("ctrl",)).key("shift").key("T", "T", ("ctrl", "shift"))
    j.key("tab", "", ("shift",)).key("super", "", ("super",))
    assert [s.pyautogui for s in j.steps()] == [
        "pyautogui.hotkey('ctrl', 's')",
        "pyautogui.hotkey('ctrl', 'shift', 't')",
        "pyautogui.hotkey('shift', 'tab')",
    ]


def test_typing_run_ends_at_click_and_focus_change() -> None:
    j = Journal().add("window", wid=1, app="A", title="a").type("ab").click(5, 5).type("cd")
    j.add("window", wid=1, app="A", title="a (edited)").type("e")  # same window: same run
    j.add("window", wid=2, app="B", title="b").type("f")
    steps = j.steps()
    assert [(s.action.type, s.action.text) for s in steps] == [
        ("type", "ab"), ("click", None), ("type", "cde"), ("type", "f")]
    assert steps[3].window == {"app": "B", "title": "b"}


def test_redacted_run_keeps_placeholder_and_maps_findings() -> None:
    j = Journal().add("window", wid=1, app="XTerm", title="mail <EMAIL_ADDRESS>").frame().type("to ")
    j.key("j", "<EMAIL_ADDRESS>")
    first = len(j.events) - 2
    for c in "o@x.org":
        j.key(c, "", redacted=True)
    j.key("enter", "\r")
    findings = [
        {"item": f"typed:{first}", "source": "typed", "entity": "EMAIL_ADDRESS", "span": [3, 11],
         "events": list(range(first, first + 16))},
        {"item": "title:0", "source": "title", "entity": "EMAIL_ADDRESS", "span": [5, 13]},
        {"item": "frame:1", "source": "screen", "entity": "PERSON", "bbox": [1, 2, 3, 4]},
        {"item": "frame:9", "source": "screen", "entity": "PERSON", "bbox": [1, 2, 3, 4]},
    ]
    typed, enter = j.steps()
    assert typed.action.text == "to <EMAIL_ADDRESS>" and enter.action.keys == ["enter"]
    index = index_findings(findings)
    assert step_redactions(typed, index) == [0, 1, 2]
    assert step_redactions(enter, index) == [1, 2]  # same frame, same window


def test_press_without_release_and_release_without_press() -> None:
    j = Journal().add("click", x=1, y=1, button="left", pressed=False).frame()
    j.add("click", x=30, y=40, button="left", pressed=True)
    [s] = j.steps()
    assert s.action.type == "click" and s.action.x_px == 30


@pytest.mark.parametrize("screens,expected", [
    ([], (0.5, 0.5)),
    ([{"x": 0, "y": 0, "w": 100, "h": 100}, {"x": 100, "y": 0, "w": 100, "h": 50}], (0.25, 0.5)),
])
def test_screen_union_normalises(screens, expected) -> None:
    s = Screen.union(screens, fallback=(100, 100))
    assert s.norm(50, 50) == expected
