"""PipeWireFrames: the portal's screen stream as a FrameSource, through a gst-launch-1.0 child.

The child reads the PipeWire stream over the fd the portal handed us and writes raw BGRx frames
of a fixed size to its stdout, a pipe: pixels stay in memory, in the child and here, and no
element may write a file (its environment has no GStreamer debug or dump variables). A reader
thread keeps the latest whole frame; `changes` compares it with the one it saw last.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections import deque
from typing import IO

import numpy as np

from recorder.capture.backend import Box, Rect
from recorder.capture.wayland.portal import ScreenCastSession, start_screencast
from recorder.childenv import scrubbed
from recorder.errors import OwnTraceError

GST = "gst-launch-1.0"
# xdpw copies the screen when it changed since its last copy: its first session gets a frame at
# once (~0.1 s after Start here), a later one only at the screen's next change (wlroots keeps the
# damage per screencopy client, and xdpw is one client for all its sessions). On sway the backend
# seeds such a stream with one wlr-screencopy picture (WaylandBackend._seed_first_picture)
FIRST_FRAME_TIMEOUT_S = 10.0
STOP_GRACE_S = 3.0
ENDED_HINT = "start recording again; if it keeps happening, check that pipewire and wireplumber run"


def gst_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """Our scrubbed environment minus every variable that can make GStreamer or PipeWire write a
    file (debug logs to a file, pipeline dumps, tracers). Plugin paths stay: some systems need them."""
    env = scrubbed(base)
    for key in list(env):
        if key.startswith(("GST_DEBUG", "GST_TRACE", "GST_LEAKS", "GST_SHARK", "PIPEWIRE_DEBUG", "PIPEWIRE_LOG")):
            del env[key]
    env["GST_DEBUG"] = "0"  # stderr only carries errors, and nothing else is written anywhere
    env["GST_DEBUG_NO_COLOR"] = "1"
    return env


def gst_argv(fd: int, node_id: int, width: int, height: int, max_fps: float) -> list[str]:
    # max-framerate goes to the producer in the stream's format: xdpw then copies no more often
    return [GST, "-q", "pipewiresrc", f"fd={fd}", f"path={node_id}", "always-copy=true", "do-timestamp=true",
            "!", f"video/x-raw,max-framerate=[0/1,{max(1, round(max_fps))}/1]",
            "!", "videoconvert", "!", "videoscale",
            "!", f"video/x-raw,format=BGRx,width={width},height={height}",
            "!", "fdsink", "fd=1", "sync=false"]


def changed_box(old: np.ndarray, new: np.ndarray) -> tuple[int, int, int, int] | None:
    """The bounding box (x, y, w, h) of the pixels that differ, None when none does."""
    diff = old != new
    rows = np.flatnonzero(diff.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(diff[rows[0] : rows[-1] + 1].any(axis=0))
    return (int(cols[0]), int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1))


class PipeWireFrames:
    """FrameSource over a started portal session (which it owns and closes). `max_fps` bounds
    what the child converts and sends; the screen sampler asks far less often."""

    def __init__(self, session: ScreenCastSession, *, max_fps: float = 5.0) -> None:
        stream = session.streams[0]
        if stream.size is None:
            session.close()
            raise OwnTraceError("the screen-cast portal did not say the stream's size",
                                "update xdg-desktop-portal and its backend, then try again")
        self.session = session
        w, h = stream.size
        x, y = stream.position or (0, 0)
        self._bounds: Rect = (x, y, w, h)
        self._frame_bytes = w * h * 4
        self._cond = threading.Condition()
        self._latest: np.ndarray | None = None
        self._seq = 0  # frames read so far
        self._seen_seq = 0  # the frame `changes` compared last
        self._seen: np.ndarray | None = None
        self._ended: str | None = None
        self._stderr: deque[bytes] = deque(maxlen=20)
        self.started_at = time.monotonic()
        self.first_frame_s: float | None = None  # from the child's start to the first whole frame
        try:
            fd = session.open_pipewire_remote()
        except BaseException:
            session.close()
            raise
        try:
            # its own session: a Ctrl-C meant for the recorder must not end the stream before the
            # recorder stops cleanly
            self._proc = subprocess.Popen(gst_argv(fd, stream.node_id, w, h, max_fps), stdin=subprocess.DEVNULL,
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, pass_fds=(fd,),
                                          env=gst_env(), bufsize=0, start_new_session=True)
        except OSError as e:
            session.close()
            raise OwnTraceError(f"cannot start {GST}: {e.strerror}",
                                "install gstreamer1.0-tools and gstreamer1.0-pipewire") from None
        finally:
            os.close(fd)  # the child has its copy; the portal's connection stays the child's alone
        self._threads = [threading.Thread(target=self._read_frames, name="owntrace-pipewire", daemon=True),
                         threading.Thread(target=self._read_errors, name="owntrace-gst-stderr", daemon=True)]
        for t in self._threads:
            t.start()

    @classmethod
    def open(cls, home: os.PathLike[str] | str | None, *, window: bool = False, max_fps: float = 5.0) -> PipeWireFrames:
        """Ask the portal (restoring the last choice when it can) and start reading."""
        return cls(start_screencast(home, window=window), max_fps=max_fps)

    # --- threads ---------------------------------------------------------------------------
    def _read_frames(self) -> None:
        out: IO[bytes] = self._proc.stdout  # type: ignore[assignment]
        size = self._frame_bytes
        try:
            while True:
                buf = bytearray(size)  # a fresh buffer per frame: grabs may still hold the last one
                view, got = memoryview(buf), 0
                while got < size:
                    n = out.readinto(view[got:])  # type: ignore[attr-defined]
                    if not n:
                        return
                    got += n
                frame = np.frombuffer(buf, np.uint32).reshape(self._bounds[3], self._bounds[2])
                with self._cond:
                    if self.first_frame_s is None:
                        self.first_frame_s = time.monotonic() - self.started_at
                    self._latest = frame
                    self._seq += 1
                    self._cond.notify_all()
        finally:
            code = self._proc.wait()
            detail = b" ".join(self._stderr).decode(errors="replace").strip()[-300:]
            with self._cond:
                if self._ended is None:
                    self._ended = f"the screen stream ended ({GST} exited {code}{': ' + detail if detail else ''})"
                self._cond.notify_all()

    def _read_errors(self) -> None:
        err = self._proc.stderr
        assert err is not None
        for line in iter(err.readline, b""):
            self._stderr.append(line.strip())

    # --- FrameSource ---------------------------------------------------------------------------
    def bounds(self) -> Rect:
        return self._bounds

    def _check(self) -> None:
        """Under the lock: raise when the stream is gone."""
        if self._ended is not None:
            raise OwnTraceError(self._ended, ENDED_HINT)
        if self.session.ended():
            self._ended = "the screen stream ended: the desktop stopped the screencast"
            raise OwnTraceError(self._ended, "start recording again and allow sharing the screen")

    def changes(self, timeout: float) -> list[Rect] | None:
        """[the box that changed] once a frame differing from the last one compared arrived
        within `timeout`; [] when none did."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                self._check()
                if self._seq != self._seen_seq:
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    return []
                self._cond.wait(left)
            latest, self._seen_seq = self._latest, self._seq
        assert latest is not None
        previous, self._seen = self._seen, latest
        x, y, w, h = self._bounds
        if previous is None:
            return [self._bounds]
        box = changed_box(previous, latest)
        if box is None:
            return []  # a buffer came, but nothing on screen changed
        return [(x + box[0], y + box[1], box[2], box[3])]

    def grab(self, box: Box) -> np.ndarray:
        """The pixels of `box` in the latest frame (waiting for the first one), as a copy."""
        with self._cond:
            self._wait_locked(0, FIRST_FRAME_TIMEOUT_S)
            self._check()
            frame = self._latest
        assert frame is not None  # a frame came, or _wait_locked raised
        x0, y0, x1, y1 = box
        return frame[y0:y1, x0:x1].copy()

    def seed(self, picture: np.ndarray) -> bool:
        """A first picture of the shared screen taken another way (an array of the stream's shape),
        standing for the stream's until the stream sends its own: False when it already did."""
        h, w = self._bounds[3], self._bounds[2]
        if picture.shape != (h, w) or picture.dtype != np.uint32:
            raise ValueError(f"a seed picture must be a ({h}, {w}) uint32 array, not {picture.shape} {picture.dtype}")
        with self._cond:
            if self._latest is not None or self._ended is not None:
                return False
            self._latest = picture
            self._seq += 1
            self._cond.notify_all()
            return True

    def wait_frame(self, after: int = 0, timeout: float = FIRST_FRAME_TIMEOUT_S) -> int:
        """Until a frame numbered above `after` arrived; returns the number of frames read."""
        with self._cond:
            self._wait_locked(after, timeout)
            return self._seq

    def _wait_locked(self, after: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self._seq <= after:
            self._check()
            left = deadline - time.monotonic()
            if left <= 0:
                raise OwnTraceError("no picture came from the screen stream",
                                    "check that pipewire and wireplumber run in your session")
            self._cond.wait(left)

    @property
    def pid(self) -> int:
        return self._proc.pid

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        for t in self._threads:
            t.join(STOP_GRACE_S)
        for stream in (self._proc.stdout, self._proc.stderr):
            if stream is not None:
                stream.close()
        self.session.close()
