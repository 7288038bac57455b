"""Shared fixtures: a private OWNTRACE_HOME with an identity, a real X display (Xvfb + openbox),
and a headless Wayland desktop (sway + PipeWire + the screen-cast portal), each display one per
test session, shared by every folder that uses it (tests/x11, tests/wayland, tests/conformance)."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from recorder import keys
from recorder.capture.display import VirtualDisplay
from recorder.study import consent
from tests.support.study import Researcher, researcher
from tests.support.wayland import DesktopError, HeadlessSway

PASSPHRASE = "correct horse battery staple"


@pytest.fixture(scope="session")
def _identity_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, keys.UnlockedIdentity]:
    # scrypt makes init and unlock take seconds each: do both once, copy the result per test
    root = tmp_path_factory.mktemp("identity") / "home"
    keys.init_identity(root, passphrase=PASSPHRASE)
    return root, keys.unlock(root, PASSPHRASE)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _identity_template) -> Path:
    """An OWNTRACE_HOME with an initialised identity; the passphrase is in the environment."""
    root = tmp_path / "owntrace-home"
    shutil.copytree(_identity_template[0], root)
    monkeypatch.setenv("OWNTRACE_HOME", str(root))
    monkeypatch.setenv("OWNTRACE_PASSPHRASE", PASSPHRASE)
    return root


@pytest.fixture
def user(home: Path, _identity_template) -> keys.UnlockedIdentity:
    return _identity_template[1]


@pytest.fixture(scope="session")
def xdisplay():
    """One Xvfb + openbox for the test session (1280x800)."""
    for tool in ("Xvfb", "openbox", "xdotool", "xterm"):
        if not shutil.which(tool):
            pytest.fail(f"{tool} is missing: run .ci/run, which installs the test machine's packages")
    with VirtualDisplay(1280, 800) as vd:
        yield vd


@pytest.fixture(scope="session")
def wayland_desktop() -> Iterator[HeadlessSway]:
    """One headless sway desktop for the test session (1280x800); tests/wayland/conftest.py's
    `desktop` empties it around each test."""
    try:
        desktop = HeadlessSway(1280, 800).start()
    except DesktopError as e:
        pytest.fail(str(e), pytrace=False)
    try:
        yield desktop
    finally:
        desktop.stop()


@pytest.fixture
def xenv(xdisplay: VirtualDisplay, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Point this test at the virtual display; returns the environment for child processes."""
    monkeypatch.setenv("DISPLAY", xdisplay.display)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setenv("XDG_SESSION_TYPE", "x11")
    return dict(os.environ)


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(capsys, monkeypatch):
    """`owntrace ...` in this process (the real main(), its error printing and exit codes)."""
    from recorder.cli import main

    def run(*args: str) -> Result:
        monkeypatch.setattr(sys, "argv", ["owntrace", *args])
        try:
            main()
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
        out = capsys.readouterr()
        return Result(code, out.out, out.err)

    return run


@pytest.fixture
def res(tmp_path: Path) -> Researcher:
    """A study researcher's keys."""
    return researcher(tmp_path / "researcher")


@pytest.fixture
def joined(home: Path, res: Researcher):
    """The researcher's study, signed and joined in `home` (it collects what standard_session records)."""
    p = res.signed(key_text=True, apps_allowed=("XTerm",))  # what standard_session records
    consent.join(home, p)
    return p
