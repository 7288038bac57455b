"""A capture backend driven over stdin/stdout: `python -m tests.conformance.probe`, run by the
conformance driver in the process and as the user a recorder on that desktop would be (on the
headless sway, the desktop's user: its session bus takes no other uid). One JSON request a line
in, one JSON answer a line out (tests/support/jsonlines.py); pixels stay in this process, only
numbers about them go out.

Requests (each answers {"value": ...}, or {"error": message, "hint": hint} for an OwnTraceError):
  {"op": "open", "kind": "x11"|"wayland", "exclude_titles": [regex, ...]}   open_backend(kind)
  {"op": "screens"}                          backend.screens()
  {"op": "frames"}                           backend.frames(): its bounds and the backend's notices
  {"op": "changes", "timeout": s}            FrameSource.changes(timeout)
  {"op": "colour", "box": [x0, y0, x1, y1], "rgb": "rrggbb", "tolerance": n, "share": f, "timeout": s}
                                             until `share` of the pixels grabbed in `box` are within
                                             `tolerance` of `rgb` per channel (each new frame looked
                                             at as it comes): the share seen last and the mean colour;
                                             like the sampler, nothing is grabbed before changes()
                                             has answered anything but [] (the source's first picture)
  {"op": "windows"}                          backend.windows(rules)
  {"op": "active"} / {"op": "excluded"} / {"op": "known"}     the WindowSource's answers
  {"op": "input_start"}                      backend.input(emit, now).start(): False when None
  {"op": "input_events"}                     every event emitted so far, as {"kind", "data"}
  {"op": "doctor", "kind": k}                recorder.capture.backend.doctor_checks(kind)
  {"op": "close"}
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict
from typing import Any

import numpy as np

from tests.support.jsonlines import serve


def rgb_channels(bgrx: np.ndarray) -> np.ndarray:
    """(h, w) uint32 BGRX pixels as an (h, w, 3) int array of r, g, b."""
    return np.stack([(bgrx >> 16) & 0xFF, (bgrx >> 8) & 0xFF, bgrx & 0xFF], axis=-1).astype(np.int32)


class Probe:
    def __init__(self) -> None:
        self.backend: Any = None
        self.kind: Any = None
        self.rules: Any = None
        self.source: Any = None
        self.pictured = False  # whether changes() has answered anything but [] (FrameSource.changes)
        self.windows_source: Any = None
        self.input: Any = None
        self.events: list[dict[str, Any]] = []
        self._events_lock = threading.Lock()

    def open(self, kind: str, exclude_titles: list[str] | None = None) -> None:
        from recorder.capture.backend import BackendKind, open_backend
        from recorder.capture.exclusion import ExclusionRules
        from recorder.config import Config

        self.kind = BackendKind(kind)
        self.rules = ExclusionRules.build(Config(exclude_titles=list(exclude_titles or [])))
        self.backend = open_backend(self.kind)

    def screens(self) -> list[dict[str, Any]]:
        return self.backend.screens()

    def frames(self) -> dict[str, Any]:
        self.source = self.backend.frames()
        return {"bounds": list(self.source.bounds()), "notices": list(self.backend.notices)}

    def changes(self, timeout: float) -> list[list[int]] | None:
        rects = self.source.changes(timeout)
        self.pictured = self.pictured or rects != []
        return None if rects is None else [list(r) for r in rects]

    def colour(self, box: list[int], rgb: str, tolerance: int = 8, share: float = 0.95,
               timeout: float = 10.0) -> dict[str, Any]:
        want = np.array([int(rgb[i : i + 2], 16) for i in (0, 2, 4)], np.int32)
        deadline = time.monotonic() + timeout
        while not self.pictured:  # as the sampler does: no grab before the source's first picture
            if time.monotonic() > deadline:
                return {"share": 0.0, "mean": None, "pictured": False}
            self.changes(min(0.3, max(deadline - time.monotonic(), 0.01)))
        while True:
            pixels = rgb_channels(self.source.grab(tuple(box)))
            close = (np.abs(pixels - want) <= tolerance).all(axis=-1)
            seen = float(close.mean())
            if seen >= share or time.monotonic() > deadline:
                return {"share": seen, "mean": [round(float(c), 1) for c in pixels.reshape(-1, 3).mean(axis=0)],
                        "pictured": True}
            self.changes(min(0.3, max(deadline - time.monotonic(), 0.01)))

    def windows(self) -> None:
        self.windows_source = self.backend.windows(self.rules)

    def active(self) -> dict[str, Any]:
        facts = self.windows_source.active()
        return {**asdict(facts), "app": facts.app}

    def excluded(self) -> list[list[int]]:
        return [list(r) for r in self.windows_source.excluded_rects()]

    def known(self) -> bool:
        return bool(self.windows_source.known())

    def input_start(self) -> bool:
        self.input = self.backend.input(self._emit, time.monotonic_ns)
        if self.input is None:
            return False
        self.input.start()
        return True

    def _emit(self, event: Any) -> None:
        with self._events_lock:
            self.events.append({"kind": event.kind, "data": event.data})

    def input_events(self) -> list[dict[str, Any]]:
        with self._events_lock:
            return list(self.events)

    def doctor(self, kind: str) -> list[dict[str, str]]:
        from recorder.capture.backend import BackendKind, doctor_checks

        return [asdict(c) for c in doctor_checks(BackendKind(kind))]

    def close(self) -> None:
        for part in (self.input, self.source, self.windows_source, self.backend):
            if part is None:
                continue
            try:
                part.stop() if part is self.input else part.close()
            except Exception:  # noqa: BLE001 - closing what is left, whatever state it is in
                pass
        self.input = self.source = self.windows_source = self.backend = None


if __name__ == "__main__":
    serve(Probe())
