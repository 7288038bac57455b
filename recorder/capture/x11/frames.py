"""X11 frames: XDamage reports the changed areas of the root window, mss grabs them.

Both hold X connections of their own, made on the screen sampler's thread (mss's must be used on
the thread that made it).
"""

from __future__ import annotations

import select
import time
from typing import Any

import numpy as np

from recorder.capture.backend import Box, Rect


def open_mss():
    import mss

    factory = getattr(mss, "MSS", None) or mss.mss  # mss 10.2 renamed the factory
    return factory()


def monitors() -> list[dict[str, Any]]:
    """Geometry of every monitor (SessionMeta.screens), and the bounding box grabbed."""
    with open_mss() as sct:
        return [
            {"x": m["left"], "y": m["top"], "w": m["width"], "h": m["height"], "scale": 1.0}
            for m in sct.monitors[1:]
        ] or [{"x": 0, "y": 0, "w": sct.monitors[0]["width"], "h": sct.monitors[0]["height"], "scale": 1.0}]


class DamageFrames:
    """A FrameSource over the whole X screen (all monitors' bounding box)."""

    def __init__(self) -> None:
        from Xlib import display
        from Xlib.ext import damage

        self._d = display.Display()
        self._has_damage = self._d.has_extension("DAMAGE")
        if self._has_damage:
            self._d.damage_query_version()
            self._damage = self._d.screen().root.damage_create(damage.DamageReportDeltaRectangles)
            self._d.flush()
        self._sct = open_mss()
        box = self._sct.monitors[0]
        self._bounds = (box["left"], box["top"], box["width"], box["height"])
        self._first = True  # XDamage reports only what changes from now on: the first answer is "everything"

    def bounds(self) -> Rect:
        return self._bounds

    def changes(self, timeout: float) -> list[Rect] | None:
        if self._first:
            self._first = False
            return None
        if not self._has_damage:
            time.sleep(timeout)
            return None  # no XDamage: the whole screen is compared
        from Xlib import X

        d = self._d
        select.select([d.fileno()], [], [], timeout)
        areas = []
        while d.pending_events():
            a = getattr(d.next_event(), "area", None)
            if a is not None:
                areas.append((a.x, a.y, a.width, a.height))
        if areas:
            d.damage_subtract(self._damage, X.NONE, X.NONE)  # before the grab: later damage is seen next round
            d.flush()
        return areas

    def grab(self, box: Box) -> np.ndarray:
        x0, y0, x1, y1 = box
        ox, oy = self._bounds[:2]
        shot = self._sct.grab({"left": ox + x0, "top": oy + y0, "width": x1 - x0, "height": y1 - y0})
        return np.frombuffer(shot.raw, np.uint32).reshape(shot.height, shot.width).copy()

    def close(self) -> None:
        from Xlib import error

        self._sct.close()
        try:
            self._d.close()
        except error.ConnectionClosedError:
            pass  # the X server went away: reported by the exception that got us here
