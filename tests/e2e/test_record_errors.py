"""What goes wrong gets one clear line and loses nothing: no display, Wayland, bad config,
no identity, no recorder to control, an unknown study, a full disk."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from recorder.capture import control
from recorder.capture.recording import Recording, RecordOptions
from recorder.errors import OwnTraceError
from recorder.store import session as store
from tests.support import xhelpers as xh
from tests.support.cli import OWNTRACE


def _one_line_error(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    # status lines and notes at start (no notification daemon here) are not part of the error
    lines = [ln for ln in proc.stderr.strip().splitlines() if not ln.startswith(("REC ", "PAUSED ", "STOPPING ", "note: "))]
    assert lines[0].startswith("error: ") and all(ln.startswith(("error: ", "hint: ")) for ln in lines), proc.stderr
    return proc.stderr


def test_missing_display_is_one_line_from_the_cli(home) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "XDG_SESSION_TYPE")}
    err = _one_line_error(subprocess.run([*OWNTRACE, "record", "--duration", "1"], env=env, capture_output=True, text=True))
    assert "no display" in err and "owntrace demo" in err


def test_a_wayland_session_without_its_compositor_is_one_clear_error(home, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    with pytest.raises(OwnTraceError, match=f"cannot reach the Wayland display wayland-0: no socket at {tmp_path}/wayland-0"):
        Recording(home).run()
    assert control.status(home) is None  # the lock was released
    with pytest.raises(OwnTraceError, match="unknown capture backend 'mir'"):
        Recording(home, RecordOptions(backend="mir")).run()


def test_unreachable_x_display(home, monkeypatch) -> None:
    monkeypatch.setenv("DISPLAY", ":4321")
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with pytest.raises(OwnTraceError, match="cannot open the X display :4321"):
        Recording(home).run()
    assert control.status(home) is None  # the lock was released


@pytest.mark.parametrize(
    "config,match",
    [
        ("[capture\nmax_fps = 2", "not valid TOML"),
        ('[capture]\npause_hotkey = "p"', "pause_hotkey"),
        ('[exclude]\ntitles = ["(oops"]', "invalid regex"),
    ],
)
def test_bad_config_is_a_clear_error(home, xenv, config: str, match: str) -> None:
    (home / "config.toml").write_text(config)
    with pytest.raises(OwnTraceError, match=match):
        Recording(home).run()
    assert store.list_sessions(home) == []


def test_no_identity(tmp_path, xenv, monkeypatch) -> None:
    monkeypatch.setenv("OWNTRACE_HOME", str(tmp_path / "empty"))
    with pytest.raises(OwnTraceError, match="owntrace init"):
        Recording(tmp_path / "empty").run()


def test_controlling_no_recorder(home) -> None:
    for action in (control.stop, control.pause, control.resume):
        with pytest.raises(OwnTraceError, match="no recorder is running"):
            action(home)
    assert control.status(home) is None


def test_unknown_study(home, xenv, cli) -> None:
    for command in ("record", "start"):
        r = cli(command, "--study", "no-such-study", "--duration", "1")
        assert r.returncode == 2 and r.stderr.startswith("error: you have not joined study 'no-such-study'"), r.stderr
    with pytest.raises(OwnTraceError, match="needs the study's capture policy"):  # a library caller must resolve it
        Recording(home, RecordOptions(study="no-such-study")).run()
    assert store.list_sessions(home) == []


@pytest.fixture
def tiny_home(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """OWNTRACE_HOME on a 320 KB tmpfs, with the identity copied in."""
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    mount = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=320k,mode=0700", "tmpfs", str(mnt)], capture_output=True, text=True)
    if mount.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {mount.stderr.strip()}")
    try:
        root = mnt / "home"
        shutil.copytree(home, root)
        monkeypatch.setenv("OWNTRACE_HOME", str(root))
        yield root
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


@pytest.mark.x11
def test_full_disk_stops_with_a_clear_message_and_keeps_what_was_sealed(tiny_home, user, xenv, monkeypatch) -> None:
    env = {k: v for k, v in xenv.items() if k != "OWNTRACE_PASSPHRASE"}  # recording never needs it
    busy = ["sh", "-c", "while :; do date +%N; done"]
    with xh.xterm("OwnTrace busy", xenv, command=busy, geometry="100x40+0+0"):
        proc = subprocess.run([*OWNTRACE, "record", "--duration", "120"], env=env, capture_output=True, text=True, timeout=200)
    err = _one_line_error(proc)
    assert "disk full" in err and "sealed" in err
    s = store.resolve(tiny_home)
    key = s.key(user)
    damaged: list[str] = []
    events = list(s.events(key, damaged))
    assert damaged == [] and events and events[0].kind == "window"
    written = s.frame_numbers()
    assert written
    for n in written:
        assert s.frame_image(key, n).size == (1280, 800)
    assert not [p for p in s.path.rglob(".*.tmp")]


def test_x_server_going_away_stops_cleanly_and_keeps_what_was_sealed(home, user, monkeypatch) -> None:
    from recorder.capture.display import VirtualDisplay
    from tests.support.recording import read_back, wait_for

    vd = VirtualDisplay(640, 480, window_manager=False).start()
    try:
        monkeypatch.setenv("DISPLAY", vd.display)
        monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
        rec = Recording(home)
        errors: list[BaseException] = []
        thread = threading.Thread(target=lambda: _run_into(rec, errors))
        thread.start()
        wait_for(lambda: rec.writer is not None and rec.writer.meta.frames >= 1, 60, "the first frame")
    finally:
        vd.stop()
    thread.join(60)
    assert not thread.is_alive()
    if errors and not isinstance(errors[0], OwnTraceError):
        raise errors[0]
    assert len(errors) == 1, errors
    assert "sealed" in errors[0].hint and "X display" in errors[0].message
    s, key, events = read_back(home, user)
    assert events and s.frame_image(key, 1).size == (640, 480)


def _run_into(rec: Recording, errors: list) -> None:
    try:
        rec.run()
    except BaseException as e:  # noqa: BLE001 - inspected by the test
        errors.append(e)
