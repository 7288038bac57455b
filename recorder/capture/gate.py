"""The capture gate: for each input event, whether it is recorded, dropped, or replaced by a bare
`excluded` marker.

Pure: it is fed input events and plain facts about windows (the focused one, the rectangles of
excluded ones) as the X window watcher reports them, and answers with what to journal. The
rules it applies, in order: the pause hotkey never passes; paused time records nothing; a key
into an excluded window (built-in, config, or outside a study's allow-list) leaves nothing, not
even its timing; a pointer event over an excluded window neither; entering one journals one
marker; a policy without key text drops keys that type text and keeps named keys without theirs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from recorder.capture.backend import Rect
from recorder.capture.exclusion import ExclusionRules, pointer_in
from recorder.capture.hotkey import Hotkey, HotkeyFilter
from recorder.capture.keynames import types_text
from recorder.store.records import Event

POINTER_KINDS = frozenset({"move", "click", "scroll"})
TYPING_PAUSE_NS = 1_000_000_000  # a key after this much quiet gets a frame of its own
SCROLL_RUN_NS = 500_000_000  # scroll notches closer than this are one scroll action
_LONG_AGO = -(10**18)


@dataclass(frozen=True)
class WindowFacts:
    """A top-level window as the watcher sees it: no X objects, nothing decided yet."""

    wid: int
    wm_class: tuple[str, ...]  # (instance, class) as X gives it
    title: str
    pid: int | None
    rect: Rect

    @property
    def app(self) -> str:
        return self.wm_class[-1] if self.wm_class else ""


NO_WINDOW = WindowFacts(0, (), "", None, (0, 0, 0, 0))


class Verdict(StrEnum):
    RECORD = "record"  # journal Decision.event
    DROP = "drop"  # journal nothing
    EXCLUDED = "excluded"  # journal Decision.event, a bare `excluded` marker, instead of the input


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    event: Event | None = None  # RECORD: the event as the policy allows it; EXCLUDED: the marker
    frame_before: bool = False  # RECORD: a new action, shown by a frame grabbed just before it


_DROP = Decision(Verdict.DROP)


class CaptureGate:
    """Not thread-safe: the recorder calls it under the lock that orders its journal."""

    def __init__(self, rules: ExclusionRules, hotkey: Hotkey) -> None:
        self.rules = rules
        self.paused = False
        self._hotkey = HotkeyFilter(hotkey)
        self._focus: tuple[int, str, Rect, bool] | None = None  # wid, title, rect, excluded last journaled
        self._focus_excluded = False
        self._pointer_excluded = False
        self._dropped_keys: set[str] = set()  # pressed and not recorded: their release is not either
        self._dropped_buttons: set[str] = set()
        self._last_key_t = _LONG_AGO
        self._last_scroll_t = _LONG_AGO

    def excluded(self, win: WindowFacts) -> bool:
        """No focused window at all (the root) is not an excluded one."""
        return bool(win.wid) and self.rules.reason(win.wm_class, win.title) is not None

    def hotkey(self, event: Event) -> tuple[list[Event], bool]:
        """The pause hotkey taken out of the input: (the events to `decide` on, in order, and
        whether the hotkey was pressed). Modifiers that may start it are held back until known."""
        return self._hotkey.feed(event)

    def set_paused(self, paused: bool) -> None:
        self.paused = paused
        if not paused:  # focus may have changed meanwhile, and the next key or scroll is a new action
            self._focus = None
            self._last_key_t = self._last_scroll_t = _LONG_AGO

    def focus(self, t: int, win: WindowFacts) -> list[Event]:
        """What to journal at time t for the focused window `win`: a window event when focus,
        title or geometry changed, followed by a bare `excluded` marker on entering an excluded
        window. Keys are judged by the window given here last."""
        excluded = self.excluded(win)
        self._focus_excluded = excluded
        key = (win.wid, win.title, win.rect, excluded)
        if key == self._focus:
            return []
        entering = excluded and (self._focus is None or self._focus[0] != win.wid or not self._focus[3])
        self._focus = key
        x, y, w, h = win.rect
        title = win.title if self.rules.policy.window_titles and not excluded else ""
        out = [Event(t, "window", {"wid": win.wid, "app": win.app, "title": title, "pid": win.pid,
                                   "x": x, "y": y, "w": w, "h": h, "excluded": excluded})]
        if entering:
            out.append(Event(t, "excluded"))
        return out

    def needs_fresh_rects(self, event: Event) -> bool:
        """Whether a pointer event needs the excluded windows' rectangles asked again: a button
        press and the start of a scroll run do; moves may use ones listed a moment ago."""
        if event.kind == "click":
            return bool(event.data["pressed"])
        return event.kind == "scroll" and event.t - self._last_scroll_t >= SCROLL_RUN_NS

    def decide(self, event: Event, excluded_rects: Sequence[Rect] = ()) -> Decision:
        """The verdict on one event `hotkey` passed. Pointer events are judged by
        `excluded_rects`, the rectangles of the excluded windows on screen now."""
        if self.paused:
            return _DROP
        if event.kind in POINTER_KINDS:
            return self._pointer(event, excluded_rects)
        if event.kind == "key_down":
            return self._key_down(event)
        if event.kind == "key_up":
            name = str(event.data["key"]).lower()
            if name in self._dropped_keys:
                self._dropped_keys.discard(name)
                return _DROP
        return Decision(Verdict.RECORD, event)

    def _pointer(self, e: Event, rects: Sequence[Rect]) -> Decision:
        d = e.data
        pressed = e.kind == "click" and d["pressed"]
        if e.kind == "click" and not pressed and d["button"] in self._dropped_buttons:
            self._dropped_buttons.discard(d["button"])  # its press was not recorded either
            return _DROP
        inside = pointer_in(rects, d["x"], d["y"])
        entering = inside and not self._pointer_excluded
        self._pointer_excluded = inside
        if inside:
            if pressed:
                self._dropped_buttons.add(d["button"])
            return Decision(Verdict.EXCLUDED, Event(e.t, "excluded")) if entering else _DROP
        if e.kind == "scroll":
            new_run = e.t - self._last_scroll_t >= SCROLL_RUN_NS
            self._last_scroll_t = e.t
            return Decision(Verdict.RECORD, e, frame_before=new_run)
        return Decision(Verdict.RECORD, e, frame_before=pressed)

    def _key_down(self, e: Event) -> Decision:
        name = str(e.data["key"]).lower()
        if self._focus_excluded:
            self._dropped_keys.add(name)
            return _DROP
        if not self.rules.policy.key_text:
            if types_text(name, e.data.get("char", "")):
                self._dropped_keys.add(name)
                return _DROP
            e = Event(e.t, e.kind, {**e.data, "char": ""})
        new_burst = e.t - self._last_key_t >= TYPING_PAUSE_NS
        self._last_key_t = e.t
        return Decision(Verdict.RECORD, e, frame_before=new_burst)
