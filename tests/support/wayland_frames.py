"""A frame source driven over stdin/stdout, run on the test desktop as its user (the session bus
takes no other uid): `python -m tests.support.wayland_frames`. One JSON request a line in, one
JSON answer a line out (tests/support/jsonlines.py); pixels stay in this process, only numbers
about them go out.

Requests: {"op": "open", "kind": "portal"|"screencopy", "home": str|null, "window": bool}
          {"op": "wait_frame", "timeout": s}
          {"op": "changes", "timeout": s}
          {"op": "region", "box": [x0, y0, x1, y1], "rgb": "rrggbb", "share": f, "timeout": s}
          {"op": "stats"}
          {"op": "close"}
Each answers {"value": {...}}, or {"error": message, "hint": hint} for an OwnTraceError.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from tests.support.jsonlines import serve


def _bgrx(rgb: str) -> int:
    return int(rgb, 16) & 0xFFFFFF


class Server:
    def __init__(self) -> None:
        self.source: Any = None
        self.started = 0.0

    def open(self, kind: str, home: str | None = None, window: bool = False) -> dict[str, Any]:
        self.started = time.monotonic()
        if kind == "portal":
            from recorder.capture.wayland.pipewire import PipeWireFrames

            self.source = PipeWireFrames.open(home, window=window)
            return {"bounds": self.source.bounds(), "portal_s": time.monotonic() - self.started,
                    "gst_pid": self.source.pid, "restore_token": self.source.session.restore_token,
                    "cursor_modes": int(self.source.session.info.cursor_modes),
                    "source_types": int(self.source.session.info.source_types)}
        from recorder.capture.wayland.screencopy import ScreencopyFrames

        self.source = ScreencopyFrames()
        return {"bounds": self.source.bounds()}

    def wait_frame(self, timeout: float = 10.0) -> dict[str, Any]:
        """Until the stream's first frame is in (xdpw sends one when the screen has changed
        since its last copy: a fresh xdpw at once, a later session at the next change)."""
        self.source.wait_frame(timeout=timeout)
        return {"first_frame_s": self.source.first_frame_s, "start_to_frame_s": time.monotonic() - self.started}

    def changes(self, timeout: float) -> dict[str, Any]:
        return {"rects": self.source.changes(timeout)}

    def region(self, box: list[int], rgb: str, share: float = 0.9, timeout: float = 10.0) -> dict[str, Any]:
        """Until at least `share` of the pixels in `box` have colour `rgb` (each new frame is
        looked at as it comes); returns the share seen last and how long it took."""
        want, started = _bgrx(rgb), time.monotonic()
        deadline = started + timeout
        seen = 0.0
        while True:
            pixels = self.source.grab(tuple(box)) & 0xFFFFFF
            seen = float((pixels == want).mean())
            if seen >= share or time.monotonic() > deadline:
                return {"share": seen, "elapsed": time.monotonic() - started}
            self.source.changes(min(0.5, max(deadline - time.monotonic(), 0.01)))

    def stats(self) -> dict[str, Any]:
        x, y, w, h = self.source.bounds()
        frame = self.source.grab((0, 0, w, h))
        rgb = frame & 0xFFFFFF
        return {"shape": list(frame.shape), "dtype": str(frame.dtype), "black": float((rgb == 0).mean()),
                "colours": int(np.unique(rgb).size)}

    def close(self) -> dict[str, Any]:
        if self.source is not None:
            self.source.close()
            self.source = None
        return {}


if __name__ == "__main__":
    serve(Server())
