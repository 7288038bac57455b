"""`owntrace doctor` on Wayland: the compositor, the screen-cast portal (or wlr-screencopy), evdev
input and what granting it means, and whether the focused window can be known."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

from recorder.capture.doctor import Check
from recorder.errors import OwnTraceError

PORTAL_NAME = "org.freedesktop.portal.Desktop"


def check_display() -> Check:
    from recorder.capture.wayland import wayland_socket

    try:
        sock = wayland_socket(os.environ)
    except OwnTraceError as e:
        return Check("display", "fail", e.message, e.hint)
    try:
        ok = stat.S_ISSOCK(sock.stat().st_mode)
    except OSError:
        ok = False
    if not ok:
        return Check("display", "fail", f"no Wayland socket at {sock}", "is the compositor running, and is this its session?")
    return Check("display", "ok", f"Wayland on {os.environ['WAYLAND_DISPLAY']}")


def _portal_owner() -> bool | None:
    """Whether the desktop portal is on the session bus: None without a session bus."""
    from jeepney import new_method_call
    from jeepney.bus_messages import message_bus
    from jeepney.io.blocking import open_dbus_connection

    try:
        conn = open_dbus_connection("SESSION")
    except (OSError, KeyError, ValueError):
        return None
    with conn:
        reply = conn.send_and_get_reply(message_bus.NameHasOwner(PORTAL_NAME), timeout=5)
        if reply.body[0]:
            return True
        activatable = conn.send_and_get_reply(new_method_call(message_bus, "ListActivatableNames"), timeout=5)
        return PORTAL_NAME in activatable.body[0]


def check_screen() -> Check:
    try:
        portal = _portal_owner()
    except Exception as e:  # noqa: BLE001 - a broken bus is a finding, not a crash
        portal = None
        why = f"the session bus did not answer: {e}"
    else:
        why = "no session bus (DBUS_SESSION_BUS_ADDRESS)" if portal is None else "no desktop portal on the session bus"
    if portal:
        return Check("screen capture", "ok", "the desktop portal answers: the screen (or one window) is shared with "
                     "your consent, asked once and remembered where the desktop allows")
    if os.environ.get("SWAYSOCK") and shutil.which("grim"):
        return Check("screen capture", "warn", f"{why}; wlr-screencopy (grim) copies the whole screen instead",
                     "install xdg-desktop-portal and xdg-desktop-portal-wlr for consent and single windows")
    from recorder.capture.wayland.portal import NO_PORTAL_HINT

    return Check("screen capture", "fail", why, NO_PORTAL_HINT)


def check_input() -> Check:
    from recorder.capture.wayland import EVDEV_ROOT_ENV
    from recorder.capture.wayland.evdev import ACCESS_HINT, input_devices, unreadable

    devices = input_devices(Path(os.environ.get(EVDEV_ROOT_ENV) or "/"))
    if not devices:
        return Check("input capture", "warn", "the kernel lists no keyboard or pointer here (a container?): "
                     "recordings are screen-only")
    blocked = unreadable(devices)
    if len(blocked) == len(devices):
        return Check("input capture", "warn", "keyboard and mouse cannot be read, so recordings are screen-only: "
                     + blocked[0].line(), ACCESS_HINT + "; undo it with `sudo gpasswd -d $USER input`")
    readable = len(devices) - len(blocked)
    return Check("input capture", "ok", f"{readable} of {len(devices)} input devices readable (evdev); note that this "
                 "access lets every program you run read every key: revoke it with `sudo gpasswd -d $USER input` "
                 "when you no longer record")


def check_windows() -> Check:
    if os.environ.get("SWAYSOCK"):
        return Check("windows", "ok", "sway's IPC says which window has the focus, its app and title")
    return Check("windows", "warn", "this desktop does not tell which window has the focus: frames are withheld so "
                 "that exclusion rules hold", "record one window with `owntrace record --window`")


def checks() -> list[Check]:
    shown = check_display()
    if shown.level == "fail":
        skip = "skipped: no usable Wayland display"
        return [shown, Check("input capture", "fail", skip), Check("screen capture", "fail", skip)]
    return [shown, check_input(), check_screen(), check_windows()]
