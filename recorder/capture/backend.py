"""The capture seam: what a platform backend provides, and which backend this session gets.

Everything else in capture is platform-neutral: the gate (gate.py), move coalescing, policy,
exclusion decisions, the frame policy and delta frames (screen.py), and the writer side. A
backend provides only what the platform knows:

- frames: the pixels of the desktop (or of one chosen window), with change hints where the
  platform has them (XDamage on X11; new PipeWire buffers on Wayland, compared in memory);
- input: keyboard and pointer events in one normalised form (recorder/store/records.py: key
  names as in keynames.py, pointer positions in desktop pixels);
- windows: the focused window (app, title, geometry, when known) and the rectangles of
  excluded windows;
- screens and scale, and its own `owntrace doctor` checks.

The backend is chosen at start from the session type (XDG_SESSION_TYPE, WAYLAND_DISPLAY,
DISPLAY), overridable with `owntrace record --backend`. Windows and macOS backends would fill
the same protocols: docs/platforms.md.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from recorder.errors import OwnTraceError

if TYPE_CHECKING:
    import numpy as np

    from recorder.capture.doctor import Check
    from recorder.capture.exclusion import ExclusionRules
    from recorder.capture.gate import WindowFacts
    from recorder.store.records import Event

Rect = tuple[int, int, int, int]  # x, y, w, h in desktop pixels
Box = tuple[int, int, int, int]  # x0, y0, x1, y1 inside a frame source's bounds


class BackendKind(StrEnum):
    X11 = "x11"
    WAYLAND = "wayland"


class FrameSource(Protocol):
    """Pixels, held in memory only. Used from the screen sampler's thread alone."""

    def bounds(self) -> Rect:
        """What is grabbed, in desktop pixels (the whole desktop, or the one chosen window)."""
        ...

    def changes(self, timeout: float) -> list[Rect] | None:
        """Wait up to `timeout` s; the areas (desktop pixels) that may have changed since the
        last call: [] when nothing did, None when the platform cannot tell (grab everything).
        The first answer that is not [] covers the whole picture; nothing is grabbed before it,
        so a source whose first picture is late (a portal stream on a still screen) holds up
        nothing but frames."""
        ...

    def grab(self, box: Box) -> np.ndarray:
        """The pixels of `box` (relative to bounds()) now, as a (h, w) uint32 BGRX array."""
        ...

    def close(self) -> None: ...


class WindowSource(Protocol):
    """Which window has the focus, and where excluded windows are. Thread-safe."""

    def active(self, geometry: bool = True) -> WindowFacts:
        """The focused window now; without `geometry` a cheaper query may reuse the last rect."""
        ...

    def excluded_rects(self) -> list[Rect]:
        """Rectangles of every visible window the rules exclude, focused or not."""
        ...

    def known(self) -> bool:
        """False when this platform cannot tell the focused window at all (then capture fails
        closed wherever rules depend on it)."""
        ...

    def close(self) -> None: ...


class InputSource(Protocol):
    """Keyboard and pointer; `emit(event)` gets every event, stamped with the session clock."""

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def alive(self) -> bool: ...


class CaptureBackend(Protocol):
    kind: BackendKind
    notices: list[str]  # one-line facts for the person, known once frames() has opened (a fallback taken)

    def screens(self, frames: bool = True) -> list[dict[str, object]]:
        """SessionMeta.screens: x, y, w, h, scale of every monitor (or of the chosen window).
        Without `frames` (no screenshots will be taken) a backend that can learn the geometry
        only by sharing the screen returns [] rather than ask the person for a screen."""
        ...

    def windows(self, rules: ExclusionRules) -> WindowSource: ...

    def input(self, emit: Callable[[Event], None], now: Callable[[], int]) -> InputSource | None:
        """None when this machine gives no access to input (a screen-only recording)."""
        ...

    def frames(self) -> FrameSource:
        """Opened on the screen sampler's thread."""
        ...

    def lost(self, e: BaseException) -> str | None:
        """A one-line reason when `e` means the display went away, else None."""
        ...

    def close(self) -> None: ...


def session_kind(env: Mapping[str, str] | None = None) -> BackendKind | None:
    """The backend this desktop session calls for, from the variables a session sets; None
    without any display. A Wayland session's XWayland DISPLAY does not make it X11: X11
    clients there see only other X11 clients."""
    env = os.environ if env is None else env
    if env.get("WAYLAND_DISPLAY") or env.get("XDG_SESSION_TYPE") == "wayland":
        return BackendKind.WAYLAND
    if env.get("DISPLAY"):
        return BackendKind.X11
    return None


def choose(override: str | None = None, env: Mapping[str, str] | None = None) -> BackendKind:
    """The backend to record with: `override` (from --backend) or the session's own."""
    if override:
        try:
            return BackendKind(override)
        except ValueError:
            names = ", ".join(k.value for k in BackendKind)
            raise OwnTraceError(f"unknown capture backend {override!r}", f"choose one of: {names}") from None
    kind = session_kind(env)
    if kind is None:
        raise OwnTraceError(
            "no display: neither WAYLAND_DISPLAY nor DISPLAY is set",
            "run on your desktop, or try `owntrace demo`, which brings its own virtual display",
        )
    return kind


def open_backend(kind: BackendKind, *, window: bool = False, home: os.PathLike[str] | None = None) -> CaptureBackend:
    """Connect to the display server; raises OwnTraceError with what to do when it cannot.
    `window`: record one window the person picks, nothing else (Wayland's portal asks)."""
    if kind is BackendKind.X11:
        if window:
            raise OwnTraceError("--window is for Wayland desktops, where the portal lets you pick one window",
                                "on X11, exclude other apps with `[exclude]` rules in config.toml instead")
        from recorder.capture.x11 import X11Backend

        return X11Backend()
    from recorder.capture.wayland import WaylandBackend

    return WaylandBackend(window=window, home=home)


def doctor_checks(kind: BackendKind) -> list[Check]:
    if kind is BackendKind.X11:
        from recorder.capture.x11.doctor import checks
    else:
        from recorder.capture.wayland.doctor import checks
    return checks()
