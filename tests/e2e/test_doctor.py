"""`owntrace doctor` on a real X display, on Wayland and with no display."""

from __future__ import annotations

import subprocess

import pytest

from recorder.capture import doctor
from tests.support import xhelpers as xh
from tests.support.cli import OWNTRACE


@pytest.mark.x11
def test_doctor_on_x11(home, xenv) -> None:
    with xh.xterm("OwnTrace doctor", xenv):
        proc = subprocess.run([*OWNTRACE, "doctor"], env=xenv, capture_output=True, text=True)
    assert "Traceback" not in proc.stderr
    lines = {ln.split(":")[0].split(None, 1)[1]: ln for ln in proc.stdout.splitlines()}
    for name in ("display", "input capture", "screen capture", "OCR", "identity", "disk", "keyring"):
        assert name in lines, proc.stdout
    for name in ("display", "input capture", "screen capture", "OCR", "identity"):
        assert lines[name].startswith("ok"), lines[name]
    assert "not black" in lines["screen capture"] and "XRecord" in lines["input capture"]
    assert any(ln.split()[1:3] == ["redaction", "NER:"] for ln in proc.stdout.splitlines())
    assert proc.returncode == (1 if any(ln.startswith("FAIL") for ln in proc.stdout.splitlines()) else 0)


@pytest.mark.parametrize(
    "env,match",
    [({"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"}, "Wayland"), ({}, "no display")],
)
def test_doctor_without_x11_says_what_to_do(home, monkeypatch, env, match) -> None:
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "XDG_SESSION_TYPE"):
        monkeypatch.delenv(var, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    checks = {c.name: c for c in doctor.run_checks(home)}
    assert checks["display"].level == "fail" and match in checks["display"].detail and checks["display"].hint
    assert checks["input capture"].level == "fail" and checks["screen capture"].level == "fail"
    assert checks["identity"].level == "ok" and checks["disk"].level in ("ok", "warn")
    assert "->" in checks["display"].line()
