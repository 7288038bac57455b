"""`owntrace doctor` on X11: the display, XRecord for input, a screen grab that is not black."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from recorder.capture.doctor import Check

if TYPE_CHECKING:
    from Xlib.display import Display


def check_display() -> tuple[Check, Display | None]:
    """The X display, and an open Xlib connection when it is reachable."""
    name = os.environ.get("DISPLAY", "")
    if not name:
        return Check("display", "fail", "DISPLAY is not set", "run on your X11 desktop, or choose --backend wayland"), None
    from Xlib import display, error

    try:
        d = display.Display()
    except (error.DisplayError, error.XError, OSError) as e:
        return Check("display", "fail", f"cannot connect to X display {name}: {e}", "is the X server running, and DISPLAY right?"), None
    return Check("display", "ok", f"X11 on {name}"), d


def check_input(d: Display) -> Check:
    if not d.has_extension("RECORD"):
        return Check(
            "input capture",
            "fail",
            "the X server lacks the RECORD extension: keys and mouse cannot be captured",
            "enable it (Xorg: Load \"record\" in xorg.conf; Xvfb: +extension RECORD)",
        )
    return Check("input capture", "ok", "XRecord available: keyboard and mouse can be captured")


def check_screen(d: Display) -> Check:
    import numpy as np

    from recorder.capture.x11.frames import open_mss

    try:
        with open_mss() as sct:
            box = sct.monitors[0]
            shot = sct.grab(box)
            monitors = len(sct.monitors) - 1
    except Exception as e:  # noqa: BLE001 - any grab failure is reported, not raised
        return Check("screen capture", "fail", f"cannot grab the screen: {e}", "check the X server and DISPLAY")
    pixels = np.frombuffer(shot.raw, np.uint8).reshape(shot.height, shot.width, 4)[..., :3]
    if not pixels.any():
        return Check(
            "screen capture",
            "warn",
            f"the screen grab ({shot.width}x{shot.height}) is entirely black",
            "a compositor or Wayland may hide windows from X clients; log in to an Xorg session, or open a window and retry",
        )
    damage = "XDamage: only changed areas are grabbed" if d.has_extension("DAMAGE") else "no XDamage: the whole screen is polled (more CPU)"
    return Check("screen capture", "ok", f"{shot.width}x{shot.height} on {monitors} monitor(s), not black; {damage}")


def checks() -> list[Check]:
    shown, d = check_display()
    if d is None:
        skip = "skipped: no usable X display"
        return [shown, Check("input capture", "fail", skip), Check("screen capture", "fail", skip)]
    try:
        return [shown, check_input(d), check_screen(d)]
    finally:
        d.close()
