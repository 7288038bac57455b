"""The screen sampler, the same on every platform: the backend's frame source says what may
have changed (XDamage on X11, a new PipeWire buffer on Wayland), only that is grabbed, excluded
windows are blacked out before anything is compared or encoded, and the frame policy decides
what is stored.

Frame policy:
  - a frame just before each action: the latest grab, kept in memory, stored when the action
    arrives (or a `dup` reference when the screen has not changed since the last stored frame);
  - on visible change at most `max_fps` frames per second, backing off to one per 5 s while
    the screen changes without pause;
  - a full keyframe every `keyframe_s` while the screen changes, delta frames in between
    (see frames.py); a frame identical to its keyframe is stored once, as a `dup` reference.
Pixels live in memory only: encoded (lossless WebP, frames.py) in memory, sealed, then written.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from recorder.capture.backend import FrameSource, Rect
from recorder.store import frames
from recorder.store.records import Event
from recorder.store.session import SessionWriter

GRAB_INTERVAL_S = 0.25  # how stale the in-memory screen may be when an action arrives
RECT_REFRESH_S = 0.5  # excluded windows are re-listed at least this often
FULL_DELTA_SHARE = 0.5  # a delta covering more tiles than this is stored as a keyframe
MAX_CHANGE_GAP_NS = 5_000_000_000
MAX_PENDING_ENCODES = 2  # change frames wait while the encoder is this far behind


def _union(a: Rect, b: Rect) -> Rect:
    x0, y0 = min(a[0], b[0]), min(a[1], b[1])
    x1, y1 = max(a[0] + a[2], b[0] + b[2]), max(a[1] + a[3], b[1] + b[3])
    return (x0, y0, x1 - x0, y1 - y0)


def _near(a: Rect, b: Rect, gap: int = 32) -> bool:
    return a[0] - gap <= b[0] + b[2] and b[0] - gap <= a[0] + a[2] and a[1] - gap <= b[1] + b[3] and b[1] - gap <= a[1] + a[3]


def add_rect(rects: list[Rect], r: Rect, limit: int = 8) -> list[Rect]:
    """Damaged areas as a few boxes: a new rectangle merges with every box it touches, so two
    busy windows far apart are grabbed as two boxes, not as the screen between them."""
    merged = r
    keep = []
    for q in rects:
        if _near(q, merged):
            merged = _union(q, merged)
        else:
            keep.append(q)
    keep.append(merged)
    if len(keep) > limit:
        box = keep[0]
        for q in keep[1:]:
            box = _union(box, q)
        return [box]
    return keep


def _clip(r: Rect, w: int, h: int) -> tuple[int, int, int, int] | None:
    x0, y0 = max(r[0], 0), max(r[1], 0)
    x1, y1 = min(r[0] + r[2], w), min(r[1] + r[3], h)
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None


class ScreenSampler:
    def __init__(
        self,
        writer: SessionWriter,
        open_frames: Callable[[], FrameSource],
        emit: Callable[[Event], None],
        excluded_rects: Callable[[], list[Rect]],
        on_error: Callable[[BaseException], None],
        *,
        max_fps: float = 2.0,
        keyframe_s: float = 10.0,
    ) -> None:
        self._writer = writer
        self._open_frames = open_frames
        self._emit = emit
        self._excluded_rects = excluded_rects
        self._on_error = on_error
        self._min_gap_ns = int(1e9 / max_fps) if max_fps > 0 else None
        self._gap_ns = self._min_gap_ns
        self._last_change_t = -(10**18)
        self._keyframe_ns = int(keyframe_s * 1e9)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._paused = False
        self._ready = threading.Event()
        self._jobs: queue.Queue = queue.Queue()
        self._rects: list[Rect] = []
        self._cur: np.ndarray | None = None  # the screen now, excluded windows black
        self._touched: tuple[int, int, int, int] | None = None  # x0, y0, x1, y1 changed since the keyframe
        self._key: np.ndarray | None = None  # the last keyframe
        self._key_n = 0
        self._key_t = 0
        self._last_n = 0
        self._last_store_t = -(10**18)
        self._changed = False
        self._threads = [
            threading.Thread(target=self._guard(self._sample_loop), name="owntrace-screen", daemon=True),
            threading.Thread(target=self._guard(self._encode_loop), name="owntrace-encode", daemon=True),
        ]

    # --- control -------------------------------------------------------------------------
    def start(self) -> None:
        for t in self._threads:
            t.start()
        self._ready.wait(10)

    def stop(self) -> None:
        """Stop sampling and wait until every reserved frame is sealed on disk."""
        self._stop.set()
        sampler, encoder = self._threads
        if sampler.ident is not None:
            sampler.join(30)  # its last frame is queued before the encoder's end marker
        self._jobs.put(None)
        if encoder.ident is not None:
            encoder.join(60)

    def pause(self) -> None:
        with self._lock:
            self._paused = True

    def resume(self) -> None:
        with self._lock:
            self._paused = False

    def _guard(self, fn: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                fn()
            except BaseException as e:  # reported to the recording, which stops cleanly
                self._on_error(e)
                self._ready.set()

        return run

    # --- frames for actions ----------------------------------------------------------------
    def frame_for_action(self, t: int) -> Event | None:
        """The frame event to journal just before an action at time t."""
        with self._lock:
            if self._cur is None or self._paused:
                return None
            if self._changed or not self._last_n:
                return self._store_locked(t, "action")
            return self._frame_event(t, self._last_n, "action", dup=True)

    def _frame_event(self, t: int, n: int, reason: str, dup: bool = False, base: int | None = None) -> Event:
        assert self._cur is not None  # frames are only made once a grab came in
        h, w = self._cur.shape
        data: dict[str, Any] = {"n": n, "w": w, "h": h, "reason": reason, "dup": dup}
        if base is not None:
            data["base"] = base
        return Event(t, "frame", data)

    def _store_locked(self, t: int, reason: str) -> Event:
        cur = self._cur
        assert cur is not None
        full = self._key is None or t - self._key_t >= self._keyframe_ns
        tiles = None
        if not full:
            tiles = self._tiles_changed_since_key()
            count = int(tiles.sum())
            if count == 0:  # back to exactly the keyframe
                self._changed, self._last_n = False, self._key_n
                return self._frame_event(t, self._key_n, reason, dup=True)
            full = count > FULL_DELTA_SHARE * tiles.size
        n = self._writer.reserve_frame()
        if full:
            snapshot = cur.copy()
            self._key, self._key_n, self._key_t, self._touched = snapshot, n, t, None
            self._jobs.put((n, snapshot))
            event = self._frame_event(t, n, "action" if reason == "action" else "keyframe")
        else:
            assert self._key is not None and tiles is not None  # not full: there is a keyframe to compare with
            self._jobs.put((n, frames.make_delta(cur, self._key, self._key_n, tiles)))
            event = self._frame_event(t, n, reason, base=self._key_n)
        self._changed, self._last_n, self._last_store_t = False, n, t
        return event

    def _tiles_changed_since_key(self) -> np.ndarray:
        """Changed tiles against the keyframe, compared only where grabs changed pixels."""
        assert self._cur is not None and self._key is not None
        h, w = self._cur.shape
        T = frames.TILE
        tiles = np.zeros((-(-h // T), -(-w // T)), bool)
        if self._touched is not None:
            x0, y0, x1, y1 = self._touched
            sub = frames.changed_tiles(self._cur[y0:y1, x0:x1], self._key[y0:y1, x0:x1])
            tiles[y0 // T : y0 // T + sub.shape[0], x0 // T : x0 // T + sub.shape[1]] = sub
        return tiles

    def _touch(self, x0: int, y0: int, x1: int, y1: int) -> None:
        """Remember (tile-aligned) where the screen may differ from the keyframe."""
        T = frames.TILE
        box = (x0 // T * T, y0 // T * T, x1, y1)
        if self._touched is not None:
            a = self._touched
            box = (min(a[0], box[0]), min(a[1], box[1]), max(a[2], box[2]), max(a[3], box[3]))
        self._touched = box

    # --- threads -------------------------------------------------------------------------------
    def _encode_loop(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            n, item = job
            encoded = frames.encode_delta(item) if isinstance(item, frames.Delta) else frames.encode_full(item)
            self._writer.add_frame(encoded, n)

    def _sample_loop(self) -> None:
        src = self._open_frames()
        ox, oy, w, h = src.bounds()
        whole = (ox, oy, w, h)
        areas: list[Rect] = []  # the source's first report covers everything (FrameSource.changes)
        pictured = False  # whether the source has reported a picture yet: nothing to grab before
        self._rects = self._excluded_rects()
        last_grab = last_rects = 0.0
        try:
            while not self._stop.is_set():
                changed = src.changes(GRAB_INTERVAL_S)
                pictured = pictured or changed != []
                for area in [whole] if changed is None else changed:
                    areas = add_rect(areas, area)
                now = time.monotonic()
                with self._lock:
                    paused = self._paused
                if paused:
                    areas = [whole] if pictured else []  # everything is fresh after resume
                    continue
                if now - last_grab < GRAB_INTERVAL_S:
                    continue
                if areas or now - last_rects >= RECT_REFRESH_S:
                    rects = self._excluded_rects()
                    last_rects = now
                    if rects != self._rects:
                        for r in self._rects:  # pixels under a window that is no longer excluded
                            areas = add_rect(areas, r)
                        self._rects = rects
                        if self._cur is not None:
                            with self._lock:
                                self._blackout(self._cur, ox, oy)
                                self._changed = True
                                self._touch(0, 0, w, h)
                if not areas:
                    self._maybe_store_change()
                    continue
                todo, areas = areas, []
                last_grab = now
                for area in todo:
                    region = _clip((area[0] - ox, area[1] - oy, area[2], area[3]), w, h)
                    if region is not None:
                        self._grab(src, region, ox, oy, w, h)
                self._ready.set()
                self._maybe_store_change()
        finally:
            src.close()

    def _grab(self, src: FrameSource, region: tuple[int, int, int, int], ox: int, oy: int, w: int, h: int) -> None:
        x0, y0, x1, y1 = region
        pixels = src.grab(region)
        self._blackout(pixels, ox + x0, oy + y0)
        with self._lock:
            if self._cur is None:
                self._cur = np.zeros((h, w), np.uint32)
                self._changed = True
            elif not (self._cur[y0:y1, x0:x1] != pixels).any():
                return
            self._cur[y0:y1, x0:x1] = pixels
            self._changed = True
            self._touch(x0, y0, x1, y1)

    def _blackout(self, pixels: np.ndarray, x0: int, y0: int) -> None:
        """Black out excluded windows in `pixels`, a block whose top-left is (x0, y0) on the root."""
        h, w = pixels.shape
        for r in self._rects:
            c = _clip((r[0] - x0, r[1] - y0, r[2], r[3]), w, h)
            if c:
                pixels[c[1] : c[3], c[0] : c[2]] = 0

    def _maybe_store_change(self) -> None:
        t = self._writer.now()
        with self._lock:
            if self._paused or not self._changed or self._cur is None or self._jobs.qsize() > MAX_PENDING_ENCODES:
                return
            if self._gap_ns is None or self._min_gap_ns is None or t - self._last_store_t < self._min_gap_ns or t - self._last_change_t < self._gap_ns:
                return
            # a screen that keeps changing (a scrolling log, a video) is sampled ever more
            # sparsely, down to one frame per MAX_CHANGE_GAP_S; actions still get fresh frames
            continuous = t - self._last_change_t < 2 * self._gap_ns
            self._gap_ns = min(2 * self._gap_ns, MAX_CHANGE_GAP_NS) if continuous else self._min_gap_ns
            self._last_change_t = t
            event = self._store_locked(t, "change")
        self._emit(event)
