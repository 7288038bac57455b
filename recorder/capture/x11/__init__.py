"""The X11 backend: XRecord input (pynput), XDamage + mss frames, EWMH windows."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from recorder.capture.backend import BackendKind, FrameSource
from recorder.capture.exclusion import ExclusionRules
from recorder.errors import OwnTraceError
from recorder.store.records import Event


def _display_error(what: str, e: BaseException) -> OwnTraceError:
    return OwnTraceError(
        f"{what} the X display {os.environ.get('DISPLAY')}: {e}",
        "check DISPLAY and that the X server runs; `owntrace doctor` tells more",
    )


class X11Backend:
    kind = BackendKind.X11

    def __init__(self) -> None:
        self.notices: list[str] = []
        if not os.environ.get("DISPLAY"):
            raise OwnTraceError("no X display: DISPLAY is not set",
                                "run on your X11 desktop, or try `owntrace demo`, which brings its own virtual display")

    def screens(self, frames: bool = True) -> list[dict[str, Any]]:
        from recorder.capture.x11.frames import monitors

        try:
            return monitors()
        except Exception as e:  # noqa: BLE001 - mss raises its own error types
            raise _display_error("cannot grab the screen of", e) from None

    def windows(self, rules: ExclusionRules):
        from Xlib import error as xerror

        from recorder.capture.x11.windows import WindowWatcher

        try:
            return WindowWatcher(rules)
        except (xerror.DisplayError, xerror.XError, OSError) as e:
            raise _display_error("cannot open", e) from None

    def input(self, emit: Callable[[Event], None], now: Callable[[], int]):
        from recorder.capture.x11.input import InputListeners

        return InputListeners(emit, now)

    def frames(self) -> FrameSource:
        from recorder.capture.x11.frames import DamageFrames

        return DamageFrames()

    def lost(self, e: BaseException) -> str | None:
        from Xlib import error as xerror

        if isinstance(e, (xerror.ConnectionClosedError, xerror.DisplayError)):
            return "lost the connection to the X display"
        return None

    def close(self) -> None:
        pass  # each part holds and closes its own connection
