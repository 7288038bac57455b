"""Events → steps: the actions a person took, in the shape computer-use datasets load.

Pure: takes the (redacted) journal as a list of events and returns steps; no I/O. A step is
one click, double click, right click, drag, scroll, typing run, hotkey or key press, with the
frame shown just before it, the window it went to, and a pyautogui call that replays it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from recorder.store.records import Event
from recorder.timestamps import format_utc, parse_utc
from redaction.typed import rebuild

MODIFIERS = ("ctrl", "alt", "shift", "super")
# keys that never type text; caps/num lock only change what later keys type
IGNORED_KEYS = frozenset({"caps_lock", "num_lock", "scroll_lock", "shift_l", "shift_r", "ctrl_l", "ctrl_r",
                          "alt_l", "alt_r", "alt_gr", "super_l", "super_r", "cmd", "cmd_l", "cmd_r", *MODIFIERS})
# keys that are actions of their own even when they produce a character (enter → "\r")
NAMED_KEYS = frozenset({"enter", "return", "tab", "esc", "escape", "up", "down", "left", "right", "home", "end",
                        "page_up", "page_down", "delete", "insert", "backspace", "menu", "print_screen", "pause",
                        *(f"f{i}" for i in range(1, 25))})
PYAUTOGUI_KEYS = {"super": "win", "escape": "esc", "return": "enter", "page_up": "pageup", "page_down": "pagedown",
                  "print_screen": "printscreen", "caps_lock": "capslock", "num_lock": "numlock", "menu": "apps"}

PYAUTOGUI_NAMED = frozenset({PYAUTOGUI_KEYS.get(k, k) for k in NAMED_KEYS | set(MODIFIERS)} | {"space"})

DRAG_MIN_PX = 5  # press and release further apart than this is a drag
DOUBLE_CLICK_NS = 500_000_000  # second click within this time and DOUBLE_CLICK_PX is a double click
DOUBLE_CLICK_PX = 4
SCROLL_MERGE_NS = 600_000_000  # wheel notches closer than this in time and place are one scroll
SCROLL_MERGE_PX = 20


@dataclass
class Action:
    type: str  # click | double_click | right_click | drag | scroll | type | hotkey | key
    x_px: int | None = None
    y_px: int | None = None
    x_norm: float | None = None
    y_norm: float | None = None
    end_x_px: int | None = None
    end_y_px: int | None = None
    end_x_norm: float | None = None
    end_y_norm: float | None = None
    button: str | None = None
    dx: int | None = None
    dy: int | None = None
    text: str | None = None
    keys: list[str] | None = None

    def to_obj(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass
class Step:
    step_index: int
    t_start: float  # seconds from the session start
    t_end: float
    wall_time: str  # UTC ISO 8601 of t_start
    action: Action
    frame: int | None  # stored frame number shown just before the action
    window: dict[str, str]  # {app, title} from the (redacted) journal
    window_event: int | None  # journal index of that window event
    events: list[int] = field(default_factory=list)  # journal indices that make up the step

    @property
    def pyautogui(self) -> str:
        return pyautogui_call(self.action)


@dataclass(frozen=True)
class Screen:
    """The virtual desktop the coordinates live in (the union of all screens)."""

    x: int
    y: int
    w: int
    h: int

    @classmethod
    def union(cls, screens: Sequence[Mapping[str, Any]], fallback: tuple[int, int] = (1, 1)) -> Screen:
        if not screens:
            return cls(0, 0, *fallback)
        x0 = min(int(s.get("x", 0)) for s in screens)
        y0 = min(int(s.get("y", 0)) for s in screens)
        x1 = max(int(s.get("x", 0)) + int(s["w"]) for s in screens)
        y1 = max(int(s.get("y", 0)) + int(s["h"]) for s in screens)
        return cls(x0, y0, max(1, x1 - x0), max(1, y1 - y0))

    def norm(self, x: int, y: int) -> tuple[float, float]:
        return round((x - self.x) / self.w, 5), round((y - self.y) / self.h, 5)


def key_name(key: str) -> str:
    """pyautogui's name for a recorded key."""
    k = key.lower() if len(key) == 1 else key
    return PYAUTOGUI_KEYS.get(k, k)


def pyautogui_calls(a: Action, coords: str = "px") -> list[str]:
    """The pyautogui calls that replay the action. coords="px": screen pixels, as in steps.jsonl
    and OSWorld. coords="norm": 0-1 of the desktop, in OpenCUA's form (xlang-ai/OpenCUA,
    data/data-process/src/schema/action.py `to_command`: keyword arguments, 4 decimals, the
    pointer moved before a scroll, middleClick for the middle button)."""
    norm = coords == "norm"
    if coords not in ("px", "norm"):
        raise ValueError(f"unknown coordinates {coords!r}")

    def at(end: bool = False) -> str:
        if norm:
            x, y = (a.end_x_norm, a.end_y_norm) if end else (a.x_norm, a.y_norm)
            return f"x={_unit(x)}, y={_unit(y)}"
        x, y = (a.end_x_px, a.end_y_px) if end else (a.x_px, a.y_px)
        return f"x={x}, y={y}"

    if a.type == "click":
        if a.button in (None, "left"):
            return [f"pyautogui.click({at()})"]
        if norm and a.button == "middle":
            return [f"pyautogui.middleClick({at()})"]
        return [f"pyautogui.click({at()}, button={a.button!r})"]
    if a.type == "double_click":
        return [f"pyautogui.doubleClick({at()})"]
    if a.type == "right_click":
        return [f"pyautogui.rightClick({at()})"]
    if a.type == "drag":
        return [f"pyautogui.moveTo({at()})", f"pyautogui.dragTo({at(end=True)}, button={a.button or 'left'!r})"]
    if a.type == "scroll":
        if norm:
            return ([f"pyautogui.moveTo({at()})"] + ([f"pyautogui.scroll({a.dy or 0})"] if a.dy or not a.dx else [])
                    + ([f"pyautogui.hscroll({a.dx})"] if a.dx else []))
        calls = [f"pyautogui.scroll({a.dy}, {at()})"] if a.dy else []
        calls += [f"pyautogui.hscroll({a.dx}, {at()})"] if a.dx else []
        return calls or [f"pyautogui.scroll(0, {at()})"]
    if a.type == "type":
        return [f"pyautogui.write({'message=' if norm else ''}{a.text or ''!r})"]
    if a.type == "hotkey":
        return ["pyautogui.hotkey(" + ", ".join(repr(k) for k in a.keys or []) + ")"]
    if a.type == "key":
        return [f"pyautogui.press({(a.keys or [''])[0]!r})"]
    raise ValueError(f"unknown action type {a.type!r}")


def _unit(v: float | None) -> float:
    return round(min(1.0, max(0.0, float(v or 0.0))), 4)


def pyautogui_call(a: Action) -> str:
    """The action as one line of pyautogui calls in pixels (steps.jsonl's `pyautogui`)."""
    return "; ".join(pyautogui_calls(a))


def is_pyautogui_key(name: str) -> bool:
    """Whether pyautogui can press this key name: lower-case printable ASCII characters and the
    named keys key_name() produces (pyautogui.KEYBOARD_KEYS holds both)."""
    return (len(name) == 1 and name.isascii() and name.isprintable() and not name.isupper()) or name in PYAUTOGUI_NAMED


def typed_text(events: Sequence[Event]) -> str:
    """The text a typing run leaves: each key_down's char is one unit, backspace removes one."""
    return "".join(run.text for run in rebuild(events))


def wall_time(started_at: str, seconds: float) -> str:
    return format_utc(parse_utc(started_at) + dt.timedelta(seconds=seconds), "milliseconds")


@dataclass
class _Pending:
    """A step being assembled: a pressed button, a typing run or a run of wheel notches."""

    kind: str  # press | type | scroll
    t0: int
    t1: int
    frame: int | None
    window: tuple[int | None, dict[str, str]]
    events: list[int]
    x: int = 0
    y: int = 0
    button: str = "left"
    dx: int = 0
    dy: int = 0


class _Deriver:
    def __init__(self, events: Sequence[Event], started_at: str, screen: Screen) -> None:
        self.events = events
        self.started_at = started_at
        self.screen = screen
        self.steps: list[Step] = []
        self.pending: _Pending | None = None
        self.frame: int | None = None
        self.window: tuple[int | None, dict[str, str]] = (None, {"app": "", "title": ""})
        self.window_id: Any = None
        self.last_click_t = -(10**18)  # press time of the last single click, for double clicks

    def _new(self, kind: str, i: int, e: Event, **kw: Any) -> _Pending:
        return _Pending(kind, e.t, e.t, self.frame, self.window, [i], **kw)

    def _emit(self, p: _Pending, action: Action) -> None:
        t0 = p.t0 / 1e9
        self.steps.append(Step(
            step_index=len(self.steps), t_start=round(t0, 3), t_end=round(p.t1 / 1e9, 3),
            wall_time=wall_time(self.started_at, t0), action=action, frame=p.frame,
            window=dict(p.window[1]), window_event=p.window[0], events=p.events,
        ))

    def _at(self, x: int, y: int) -> dict[str, Any]:
        xn, yn = self.screen.norm(x, y)
        return {"x_px": x, "y_px": y, "x_norm": xn, "y_norm": yn}

    def finish(self) -> None:
        """Close the pending step (typing run, wheel run, or a press that never released)."""
        p, self.pending = self.pending, None
        if p is None:
            return
        if p.kind == "type":
            self._emit(p, Action("type", text=typed_text([self.events[i] for i in p.events])))
        elif p.kind == "scroll":
            self._emit(p, Action("scroll", dx=p.dx, dy=p.dy, **self._at(p.x, p.y)))
        elif p.kind == "press":
            self._release(p, p.x, p.y, p.t1)

    def _release(self, p: _Pending, x: int, y: int, t: int) -> None:
        p.t1 = t
        if abs(x - p.x) > DRAG_MIN_PX or abs(y - p.y) > DRAG_MIN_PX:
            ex, ey = self.screen.norm(x, y)
            self._emit(p, Action("drag", button=p.button, end_x_px=x, end_y_px=y, end_x_norm=ex, end_y_norm=ey,
                                 **self._at(p.x, p.y)))
            return
        if p.button == "right":
            self._emit(p, Action("right_click", button="right", **self._at(p.x, p.y)))
            return
        prev = self.steps[-1] if self.steps else None
        if (p.button == "left" and prev is not None and prev.action.type == "click" and prev.action.button == "left"
                and p.t0 - self.last_click_t <= DOUBLE_CLICK_NS and prev.action.x_px is not None
                and prev.action.y_px is not None
                and abs(p.x - prev.action.x_px) <= DOUBLE_CLICK_PX and abs(p.y - prev.action.y_px) <= DOUBLE_CLICK_PX):
            prev.action.type = "double_click"
            prev.t_end = round(t / 1e9, 3)
            prev.events.extend(p.events)
            self.last_click_t = -(10**18)
            return
        self._emit(p, Action("click", button=p.button, **self._at(p.x, p.y)))
        self.last_click_t = p.t0

    def feed(self, i: int, e: Event) -> None:
        k, p = e.kind, self.pending
        if k == "frame":
            self.frame = int(e.get("n"))
        elif k == "window":
            if e.get("wid") != self.window_id:
                if p is not None and p.kind == "type":
                    self.finish()
                self.window_id = e.get("wid")
            self.window = (i, {"app": str(e.get("app") or ""), "title": str(e.get("title") or "")})
        elif k in ("pause", "resume", "excluded"):
            self.finish()
        elif k == "move":
            if p is not None and p.kind == "press":
                p.events.append(i)
                p.t1 = e.t
        elif k == "click":
            self._click(i, e)
        elif k == "scroll":
            x, y = int(e.get("x", 0)), int(e.get("y", 0))
            if (p is not None and p.kind == "scroll" and e.t - p.t1 <= SCROLL_MERGE_NS
                    and abs(x - p.x) <= SCROLL_MERGE_PX and abs(y - p.y) <= SCROLL_MERGE_PX):
                p.dx += int(e.get("dx", 0))
                p.dy += int(e.get("dy", 0))
                p.t1 = e.t
                p.events.append(i)
                return
            self.finish()
            self.pending = self._new("scroll", i, e, x=x, y=y, dx=int(e.get("dx", 0)), dy=int(e.get("dy", 0)))
        elif k == "key_down":
            self._key_down(i, e)
        elif k == "key_up":
            if p is not None and p.kind == "type":
                p.t1 = e.t
                p.events.append(i)

    def _click(self, i: int, e: Event) -> None:
        x, y, button = int(e.get("x", 0)), int(e.get("y", 0)), str(e.get("button") or "left")
        p = self.pending
        if e.get("pressed"):
            self.finish()
            self.pending = self._new("press", i, e, x=x, y=y, button=button)
        elif p is not None and p.kind == "press" and p.button == button:
            self.pending = None
            p.events.append(i)
            self._release(p, x, y, e.t)
        # a release without its press (pressed before recording started) is no action

    def _key_down(self, i: int, e: Event) -> None:
        key = str(e.get("key") or "")
        char = e.get("char") or ""
        mods = [m for m in MODIFIERS if m in (e.get("mods") or [])]
        if key.lower() in IGNORED_KEYS and not e.get("redacted"):
            return
        typing = self.pending if self.pending is not None and self.pending.kind == "type" else None
        if e.get("redacted") or (char and key.lower() not in NAMED_KEYS and not set(mods) - {"shift"}):
            # a unit of typed text; redacted keys belong to the run that holds their placeholder
            if typing is None:
                self.finish()
                self.pending = self._new("type", i, e)
            else:
                typing.events.append(i)
                typing.t1 = e.t
            return
        if key.lower() == "backspace" and typing is not None and not mods:
            typing.events.append(i)
            typing.t1 = e.t
            return
        self.finish()
        name = key_name(key)
        step = self._new("key", i, e)
        if mods:
            self._emit(step, Action("hotkey", keys=[key_name(m) for m in mods] + [name]))
        else:
            self._emit(step, Action("key", keys=[name]))


def derive_steps(events: Sequence[Event], *, started_at: str, screen: Screen,
                 text_from: Sequence[Event] | None = None) -> list[Step]:
    """Steps in time order, numbered from 0. Typed text is rebuilt from `text_from` when given:
    the same journal with some events replaced (undone redactions), so the steps stay the same."""
    d = _Deriver(events if text_from is None else text_from, started_at, screen)
    for i, e in enumerate(events):
        d.feed(i, e)
    d.finish()
    return d.steps


def index_findings(findings: Sequence[Mapping[str, Any]]) -> dict[str, list[int]]:
    """Report findings by the item they concern ("frame:N", "title:I", "typed:I"); a typed
    finding is also filed under each of its key events."""
    index: dict[str, list[int]] = {}
    for fi, f in enumerate(findings):
        item = str(f.get("item", ""))
        refs = {item} | ({f"typed:{e}" for e in f.get("events") or []} if item.startswith("typed:") else set())
        for ref in refs:
            index.setdefault(ref, []).append(fi)
    return index


def step_redactions(step: Step, index: Mapping[str, list[int]]) -> list[int]:
    """Findings (numbers in the report) that concern this step: on its frame, in its typed
    text, or in the title of its window. `index` comes from index_findings."""
    refs = [f"frame:{step.frame}", f"title:{step.window_event}", *(f"typed:{i}" for i in step.events)]
    return sorted({fi for ref in refs for fi in index.get(ref, ())})
