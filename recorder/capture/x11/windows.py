"""X11 windows: the active one (_NET_ACTIVE_WINDOW, WM_CLASS, _NET_WM_NAME, _NET_WM_PID and the
frame's geometry on the root) and the rectangles of visible excluded windows.

Holds its own X connection; every query takes a lock, so the input thread (checking focus at
each key press) and the screen thread (blacking out excluded windows) can share it.
"""

from __future__ import annotations

import threading

from Xlib import X, Xatom, display, error

from recorder.capture.backend import Rect
from recorder.capture.exclusion import ExclusionRules
from recorder.capture.gate import NO_WINDOW, WindowFacts


class WindowWatcher:
    def __init__(self, rules: ExclusionRules, display_name: str | None = None) -> None:
        self.rules = rules
        self._d = display.Display(display_name)
        self._root = self._d.screen().root
        self._lock = threading.Lock()
        self._known: dict[int, tuple[tuple[str, ...], int | None, Rect]] = {}  # wid -> class, pid, rect
        self._atoms = {
            name: self._d.intern_atom(name)
            for name in (
                "_NET_ACTIVE_WINDOW",
                "_NET_CLIENT_LIST",
                "_NET_WM_NAME",
                "_NET_WM_PID",
                "_NET_WM_STATE",
                "_NET_WM_STATE_HIDDEN",
                "UTF8_STRING",
            )
        }

    def known(self) -> bool:
        return True  # EWMH: every X11 window manager worth the name says which window is active

    def close(self) -> None:
        with self._lock:
            try:
                self._d.close()
            except error.ConnectionClosedError:
                pass  # the X server went away first

    def _prop(self, win, name: str, kind: int, length: int = 1024):
        p = win.get_full_property(self._atoms[name], kind, sizehint=length)
        return p.value if p is not None else None

    def _title(self, win) -> str:
        raw = self._prop(win, "_NET_WM_NAME", self._atoms["UTF8_STRING"])
        if raw is None:
            raw = win.get_full_property(Xatom.WM_NAME, X.AnyPropertyType)
            raw = raw.value if raw is not None else b""
        return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)

    def _frame_rect(self, win) -> Rect:
        """The top-level frame holding `win` (title bar included), in root coordinates."""
        top = win
        while True:
            parent = top.query_tree().parent
            if not parent or parent.id == self._root.id:
                break
            top = parent
        g = top.get_geometry()
        pos = self._root.translate_coords(top, 0, 0)
        return (pos.x, pos.y, g.width + 2 * g.border_width, g.height + 2 * g.border_width)

    def active(self, geometry: bool = True) -> WindowFacts:
        """The focused window and its title, asked of the X server now (whether it is excluded
        is the capture gate's to say). Without `geometry`,
        class, pid and rectangle come from the last full look at that window (two round trips
        instead of eight: this runs at every key press)."""
        with self._lock:
            try:
                value = self._prop(self._root, "_NET_ACTIVE_WINDOW", Xatom.WINDOW)
                wid = int(value[0]) if value else 0
                if not wid:
                    return NO_WINDOW
                win = self._d.create_resource_object("window", wid)
                title = self._title(win)
                known = self._known.get(wid)
                if known is None or geometry:
                    pid = self._prop(win, "_NET_WM_PID", Xatom.CARDINAL)
                    known = (tuple(win.get_wm_class() or ()), int(pid[0]) if pid else None, self._frame_rect(win))
                    self._known[wid] = known
            except error.XError:
                return NO_WINDOW  # the window went away between two requests
        wm_class, pid, rect = known
        return WindowFacts(wid, wm_class, title, pid, rect)

    def excluded_rects(self) -> list[Rect]:
        """Rectangles of every mapped, excluded client window, focused or not."""
        rects = []
        with self._lock:
            clients = self._prop(self._root, "_NET_CLIENT_LIST", Xatom.WINDOW) or []
            for wid in clients:
                try:
                    win = self._d.create_resource_object("window", int(wid))
                    if win.get_attributes().map_state != X.IsViewable:
                        continue
                    states = self._prop(win, "_NET_WM_STATE", Xatom.ATOM) or []
                    if self._atoms["_NET_WM_STATE_HIDDEN"] in states:
                        continue
                    if self.rules.reason(tuple(win.get_wm_class() or ()), self._title(win)) is not None:
                        rects.append(self._frame_rect(win))
                except error.XError:
                    continue
        return rects
