"""ScreencopyFrames: the wlr-screencopy route, for wlroots desktops (sway, river, ...) where no
screen-cast portal answers. `grim` copies the screen and writes a binary PPM to its stdout, a
pipe; it is parsed in memory and never touches a file.

grim has no change notification, so `changes` says None (cannot tell) and the sampler compares.
"""

from __future__ import annotations

import shutil
import subprocess
import threading

import numpy as np

from recorder.capture.backend import Box, Rect
from recorder.childenv import scrubbed
from recorder.errors import OwnTraceError

GRIM = "grim"
GRIM_TIMEOUT_S = 10.0


def parse_ppm(data: bytes) -> np.ndarray:
    """A binary PPM (P6, maxval 255) as a (h, w) uint32 BGRX array."""
    fields: list[bytes] = []
    pos = 0
    while len(fields) < 4:  # magic, width, height, maxval: separated by whitespace, '#' comments allowed
        while pos < len(data) and data[pos : pos + 1].isspace():
            pos += 1
        if data[pos : pos + 1] == b"#":
            pos = data.index(b"\n", pos) + 1
            continue
        end = pos
        while end < len(data) and not data[end : end + 1].isspace():
            end += 1
        if end == pos:
            raise ValueError("truncated PPM header")
        fields.append(data[pos:end])
        pos = end
    magic, w, h, maxval = fields[0], int(fields[1]), int(fields[2]), int(fields[3])
    if magic != b"P6" or maxval != 255:
        raise ValueError(f"unsupported PPM ({magic!r}, maxval {maxval})")
    pos += 1  # exactly one whitespace byte before the raster
    rgb = np.frombuffer(data, np.uint8, w * h * 3, pos).reshape(h, w, 3)
    out = np.empty((h, w), np.uint32)
    out[:] = 0xFF000000  # X as 0xff: what the other sources give
    out |= rgb[:, :, 0].astype(np.uint32) << 16
    out |= rgb[:, :, 1].astype(np.uint32) << 8
    out |= rgb[:, :, 2]
    return out


def copy_screen(output: str | None = None, env: dict[str, str] | None = None, region: Rect | None = None) -> np.ndarray:
    """One copy of the screen through grim, in memory: the whole layout, one output, or the
    rectangle `region` (x, y, w, h in layout coordinates)."""
    where = ["-o", output] if output else []
    if region is not None:
        where = ["-g", "{},{} {}x{}".format(*region)]
    argv = [GRIM, *where, "-t", "ppm", "-"]
    try:
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, env=scrubbed(env),
                              timeout=GRIM_TIMEOUT_S)
    except FileNotFoundError:
        raise OwnTraceError("grim is not installed (needed to copy the screen on this desktop)",
                            "install it: sudo apt-get install grim") from None
    except subprocess.TimeoutExpired:
        raise OwnTraceError("grim did not copy the screen in time",
                            "check that the compositor supports wlr-screencopy (sway and other wlroots desktops do)") from None
    if done.returncode != 0:
        detail = done.stderr.decode(errors="replace").strip().splitlines()
        raise OwnTraceError(f"grim could not copy the screen: {detail[-1] if detail else done.returncode}",
                            "this desktop may not offer wlr-screencopy; use the portal (xdg-desktop-portal) instead")
    try:
        return parse_ppm(done.stdout)
    except ValueError as e:
        raise OwnTraceError(f"grim wrote an unreadable picture: {e}", "update grim (1.4 or later)") from None


class ScreencopyFrames:
    """FrameSource through grim. Bounds are the whole layout as grim composes it, taken from a
    first grab; its origin is (0, 0) (grim does not say where the layout starts)."""

    def __init__(self, output: str | None = None, env: dict[str, str] | None = None) -> None:
        if shutil.which(GRIM) is None:
            raise OwnTraceError("grim is not installed (needed to copy the screen on this desktop)",
                                "install it: sudo apt-get install grim")
        self._env = scrubbed(env)
        self._output = output
        self._closed = threading.Event()
        h, w = self._shot().shape
        self._bounds: Rect = (0, 0, w, h)

    def _shot(self) -> np.ndarray:
        return copy_screen(self._output, self._env)

    def bounds(self) -> Rect:
        return self._bounds

    def changes(self, timeout: float) -> list[Rect] | None:
        """None after `timeout` (paces the sampler): screencopy has no change notification."""
        self._closed.wait(timeout)
        return None

    def grab(self, box: Box) -> np.ndarray:
        frame = self._shot()
        x0, y0, x1, y1 = box
        return np.ascontiguousarray(frame[y0:y1, x0:x1])

    def close(self) -> None:
        self._closed.set()
