"""Mouse-move coalescing that keeps the path's shape.

A raw X recorder sees ~400 moves/s, nearly all on straight runs. A point is kept only where
the path bends away from the straight line between the last kept point and the newest one by
more than `tolerance_px`, or when `max_gap_ns` has passed (so slow hovers keep their timing).
Pure: feed points, get the points to record.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

Point = tuple[int, int, int]  # t (ns), x, y


def _off_line(a: Point, b: Point, p: Point) -> float:
    """Distance of p from the segment a-b, in pixels."""
    ax, ay, bx, by, px, py = a[1], a[2], b[1], b[2], p[1], p[2]
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    if length2 == 0:
        return math.hypot(px - ax, py - ay)
    u = max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / length2))
    cx, cy = ax + u * dx, ay + u * dy
    return math.hypot(px - cx, py - cy)


@dataclass
class MoveCoalescer:
    tolerance_px: float = 2.0
    max_gap_ns: int = 250_000_000
    max_run: int = 64  # bounds the work per point on very long straight runs
    _anchor: Point | None = None
    _run: list[Point] = field(default_factory=list)

    def add(self, t: int, x: int, y: int) -> list[Point]:
        """Add a raw point; returns the points that are final now (in order)."""
        p = (t, x, y)
        if self._anchor is None:
            self._anchor = p
            return [p]
        if self._run and (p[1], p[2]) == (self._run[-1][1], self._run[-1][2]):
            return []
        out: list[Point] = []
        if self._run:
            bent = any(_off_line(self._anchor, p, q) > self.tolerance_px for q in self._run)
            if bent or t - self._anchor[0] >= self.max_gap_ns or len(self._run) >= self.max_run:
                self._anchor = self._run[-1]
                out.append(self._anchor)
                self._run = []
        self._run.append(p)
        return out

    def flush(self) -> list[Point]:
        """The pending end of the path (call before a click, scroll or key so the path ends there)."""
        if not self._run:
            return []
        self._anchor = self._run[-1]
        self._run = []
        return [self._anchor]
