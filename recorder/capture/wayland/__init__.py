"""The Wayland backend: the screen through the desktop portal (PipeWire), or wlr-screencopy where
no portal answers; input from evdev, characters through xkbcommon; windows from sway's IPC.

Wayland gives no client a global view of other clients, by design: each part comes from its own
source, and a part the desktop does not offer is left out rather than guessed (docs/platforms.md).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recorder.capture.backend import BackendKind, FrameSource, InputSource, Rect, WindowSource
from recorder.capture.exclusion import ExclusionRules
from recorder.capture.gate import NO_WINDOW, WindowFacts
from recorder.errors import OwnTraceError
from recorder.store.records import Event

if TYPE_CHECKING:
    from recorder.capture.wayland.pipewire import PipeWireFrames

EVDEV_ROOT_ENV = "OWNTRACE_EVDEV_ROOT"  # stands for "/" when looking up input devices (tests: FIFOs)
SEED_AFTER_S = 0.5  # a stream silent this long after Start gets its first picture from wlr-screencopy


def wayland_socket(env: Mapping[str, str]) -> Path:
    """The compositor's socket, as libwayland-client finds it."""
    name = env.get("WAYLAND_DISPLAY", "")
    if not name:
        raise OwnTraceError("no Wayland display: WAYLAND_DISPLAY is not set",
                            "run from inside your Wayland desktop session, or choose --backend x11")
    if name.startswith("/"):
        return Path(name)
    runtime = env.get("XDG_RUNTIME_DIR", "")
    if not runtime:
        raise OwnTraceError("XDG_RUNTIME_DIR is not set, so the Wayland display cannot be found",
                            "run from inside your desktop session, which sets it")
    return Path(runtime) / name


class UnknownWindows:
    """Where the desktop tells no client which window has the focus (GNOME without an
    accessibility bridge): every answer is 'unknown', and capture fails closed on it."""

    def active(self, geometry: bool = True) -> WindowFacts:
        return NO_WINDOW

    def excluded_rects(self) -> list[Rect]:
        return []

    def known(self) -> bool:
        return False

    def close(self) -> None:
        pass


class WaylandBackend:
    kind = BackendKind.WAYLAND

    def __init__(self, *, window: bool = False, home: os.PathLike[str] | None = None,
                 env: Mapping[str, str] | None = None) -> None:
        self._env = dict(os.environ if env is None else env)
        sock = wayland_socket(self._env)
        try:
            is_socket = stat.S_ISSOCK(sock.stat().st_mode)
        except OSError:
            is_socket = False
        if not is_socket:
            raise OwnTraceError(f"cannot reach the Wayland display {self._env['WAYLAND_DISPLAY']}: no socket at {sock}",
                                "is the compositor running, and is this its session? `owntrace doctor` tells more")
        self._window = window
        self._home = home
        self._sway = bool(self._env.get("SWAYSOCK"))
        self._frames: FrameSource | None = None
        self.notices: list[str] = []  # one-line facts for the person, shown at start

    # --- screen -------------------------------------------------------------------------------
    def _open_frames(self) -> FrameSource:
        """The portal when it shares the screen (it asks the person, or restores their last
        choice); else, on sway, wlr-screencopy of the whole screen. xdg-desktop-portal-wlr 0.7
        cannot stream without a GPU (its issue 289): sway on a machine without /dev/dri still
        records, through screencopy. One window (--window) only ever comes from the portal."""
        from recorder.capture.wayland.pipewire import PipeWireFrames

        try:
            stream = PipeWireFrames.open(self._home, window=self._window)
        except OwnTraceError as e:
            if self._window or not self._sway:
                raise
            self.notices.append(f"the screen-cast portal did not share the screen ({e.message}); "
                                "copying it with wlr-screencopy instead")
        else:
            if self._sway and not self._window:
                self._seed_first_picture(stream)
            return stream
        from recorder.capture.wayland.screencopy import ScreencopyFrames

        return ScreencopyFrames(env=self._env)

    def _seed_first_picture(self, stream: PipeWireFrames) -> None:
        """xdg-desktop-portal-wlr copies the screen "with damage": a stream started while nothing
        on screen changes sends no picture until something does (wlroots keeps damage per
        screencopy client, and xdpw is one client for all its sessions, so only its first one gets
        a picture at once). The sampler grabs nothing before it: a recording started on a still
        screen would start ~10 s late (ScreenSampler.start waits for a first grab) and show nothing
        until something changes. Where the stream is silent, its first picture is the same screen copied once
        through wlr-screencopy, which sway offers: the shared monitor's rectangle alone, nothing
        else; the stream's own pictures replace it as they come."""
        try:
            stream.wait_frame(timeout=SEED_AFTER_S)
            return
        except OwnTraceError:
            pass  # silent so far (or ended: then the next grab says so)
        x, y, w, h = stream.bounds()
        if stream.session.streams[0].position is None and len(self.screens()) != 1:
            return  # which monitor is shared is not known: wait for the stream's own picture
        from recorder.capture.wayland.screencopy import copy_screen

        try:
            picture = copy_screen(region=(x, y, w, h), env=self._env)
        except OwnTraceError:
            return  # no grim: the stream's first picture comes with the next change on screen
        if picture.shape == (h, w):  # else a scaled output, whose copy is not in the stream's pixels
            stream.seed(picture)

    def screens(self, frames: bool = True) -> list[dict[str, Any]]:
        if self._sway and not self._window:
            from recorder.capture.wayland.sway import GET_OUTPUTS, ipc_call, socket_path

            return [{"x": o["rect"]["x"], "y": o["rect"]["y"], "w": o["rect"]["width"], "h": o["rect"]["height"],
                     "scale": float(o.get("scale") or 1.0)} for o in ipc_call(socket_path(self._env), GET_OUTPUTS)
                    if o.get("active")]
        if not frames:  # never ask the person to share a screen that will not be recorded
            self.notices.append("the screen's size is not known without sharing the screen: click positions are "
                                "kept in pixels only")
            return []
        # elsewhere only the stream knows its geometry: it is started now, at the start of recording
        if self._frames is None:
            self._frames = self._open_frames()
        x, y, w, h = self._frames.bounds()
        return [{"x": x, "y": y, "w": w, "h": h, "scale": 1.0}]

    def frames(self) -> FrameSource:
        if self._frames is None:
            self._frames = self._open_frames()
        frames, self._frames = self._frames, None  # the sampler owns and closes it now
        return frames

    # --- windows and input ----------------------------------------------------------------------
    def windows(self, rules: ExclusionRules) -> WindowSource:
        if self._sway:
            from recorder.capture.wayland.sway import SwayWindows

            return SwayWindows(rules, self._env)
        return UnknownWindows()

    def input(self, emit: Callable[[Event], None], now: Callable[[], int]) -> InputSource | None:
        """evdev, read-only and never grabbed; None (a screen-only recording) without access."""
        from recorder.capture.wayland import evdev
        from recorder.capture.wayland.keymap import Keymap, RuleNames

        devices = evdev.input_devices(Path(self._env.get(EVDEV_ROOT_ENV) or "/"))
        blocked = {u.device for u in evdev.unreadable(devices)}
        opened = [evdev.open_device(d) for d in devices if d not in blocked]
        if not any(o.info.keyboard for o in opened) and not any(o.info.pointer for o in opened):
            for o in opened:
                os.close(o.fd)
            return None
        bounds = self._desktop_bounds()
        return evdev.EvdevInput(emit, now, opened, Keymap(RuleNames.from_session(self._env)), evdev.PointerTracker(bounds))

    def _desktop_bounds(self) -> Rect:
        """The whole layout, where pointer positions live."""
        if self._sway:
            rects = [(int(s["x"]), int(s["y"]), int(s["w"]), int(s["h"])) for s in self.screens()]
            if rects:
                x0, y0 = min(r[0] for r in rects), min(r[1] for r in rects)
                x1, y1 = max(r[0] + r[2] for r in rects), max(r[1] + r[3] for r in rects)
                return (x0, y0, x1 - x0, y1 - y0)
        if self._frames is not None:
            return self._frames.bounds()
        return (0, 0, 1920, 1080)  # nothing says: a common size; positions are estimates then anyway

    def lost(self, e: BaseException) -> str | None:
        return None  # every Wayland part reports its own loss as an OwnTraceError

    def close(self) -> None:
        if self._frames is not None:  # started, but never handed to a sampler
            self._frames.close()
            self._frames = None
