"""The recorder through its CLI: no network, nothing in clear, stock `age` interop, detached
control (start / status / pause / resume / stop, retention at start), one recorder at a time, kill -9."""

from __future__ import annotations

import io
import json
import os
import secrets
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from PIL import Image

from recorder.capture import control
from recorder.capture.recording import RecordOptions
from recorder.store import session as store
from tests.support import xhelpers as xh
from tests.support.cli import OWNTRACE
from tests.support.guards import scan_plaintext, traced
from tests.support.recording import read_back, typed, wait_for
from tests.support.review_kit import standard_session

pytestmark = pytest.mark.x11
TOKEN = secrets.token_hex(6)  # made per run: no file (not even this one) holds it unless it leaked
TITLE = f"OwnTrace {TOKEN}"
TASK = f"file the {TOKEN[::-1]} report"


def _age_decrypt(key, path: Path) -> bytes:
    """Decrypt with the stock age CLI; the identity goes through a pipe, never to disk."""
    r, w = os.pipe()
    os.write(w, f"{key}\n".encode())
    os.close(w)
    try:
        out = subprocess.run(["age", "-d", "-i", f"/dev/fd/{r}", str(path)], pass_fds=(r,), capture_output=True, check=True)
    finally:
        os.close(r)
    return out.stdout


def _scan_shared_tmp(roots: list[Path], needles: list[bytes]) -> list[str]:
    """scan_plaintext over directories other test runs create and delete while it walks them."""
    for _ in range(5):
        try:
            return scan_plaintext(roots, needles)
        except FileNotFoundError:
            continue
    raise AssertionError("/tmp kept changing under the scan")


def _new_files(root: Path, since: float, skip: tuple[str, ...]) -> set[str]:
    out = set()
    for dirpath, _dirs, files in os.walk(root):
        if dirpath.startswith(skip):
            continue
        for f in files:
            p = os.path.join(dirpath, f)
            try:
                if os.stat(p).st_mtime >= since:
                    out.add(p)
            except OSError:
                continue
    return out


def test_record_no_network_nothing_in_clear_and_age_decrypts(home, user, xenv, tmp_path) -> None:
    started = time.time()
    result: dict = {}

    def run() -> None:
        result["proc"], result["connects"] = traced(
            [*OWNTRACE, "record", "--task", TASK], tmp_path / "strace.log", env=xenv, capture_output=True, text=True
        )

    with xh.xterm(TITLE, xenv, geometry="80x24+40+40"):
        thread = threading.Thread(target=run)
        thread.start()
        wait_for(lambda: control.status(home) is not None or not thread.is_alive(), 180, "owntrace record to start")
        xh.type_text("typed words", xenv)
        xh.click(200, 150, xenv)
        wait_for(lambda: (st := control.status(home)) is not None and st.events >= 24 and st.frames >= 1, 30, "events")
        during = scan_plaintext([home, Path("/dev/shm")], [TASK.encode(), TITLE.encode(), b'"kind":'])
        # one recorder at a time: a second one says so in one line and points at `status`
        second = subprocess.run([*OWNTRACE, "record"], env=xenv, capture_output=True, text=True)
        control.stop(home)
        thread.join(60)
    proc, connects = result["proc"], result["connects"]
    assert proc.returncode == 0, proc.stderr
    session_id = proc.stdout.strip()
    assert second.returncode == 2 and "Traceback" not in second.stderr
    assert second.stderr.splitlines()[0] == "error: a recorder is already running"
    assert "owntrace status" in second.stderr

    assert during == []
    assert connects and all(c.family == "AF_UNIX" for c in connects), connects
    after = _scan_shared_tmp([home, Path("/dev/shm"), Path("/tmp")], [TASK.encode(), TITLE.encode()])
    assert [h for h in after if "image data" not in h] == []
    new = _new_files(Path("/tmp"), started, skip=(str(tmp_path.parent.parent),)) | _new_files(home, started, skip=())
    assert not [h for h in after if h.split(": ")[0] in new]

    s, key, events = read_back(home, user, session_id)
    assert typed(events) == "typed words"
    assert s.task(key) == TASK
    assert [e.get("title") for e in events if e.kind == "window"][0] == TITLE
    segment = _age_decrypt(key, s.segment_files()[0])
    assert json.loads(segment.splitlines()[0])["kind"] == "window"
    with Image.open(io.BytesIO(_age_decrypt(key, s.path / "frames" / "000001.webp.age"))) as im:
        assert im.format == "WEBP" and im.size == (1280, 800)


def test_detached_start_status_pause_resume_stop(home, user, xenv) -> None:
    old, recent = standard_session(home), standard_session(home)
    old.meta.started_at = "2020-01-01T00:00:00Z"
    old.save_meta()
    (home / "config.toml").write_text("[retention]\ndays = 30\n")
    with xh.xterm("OwnTrace Notes", xenv):
        out = subprocess.run([*OWNTRACE, "start", "--name", "bg"], env=xenv, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        # retention applies as recording starts: the old session is gone, the recent one stays
        assert {s.id for s in store.list_sessions(home)} == {recent.id, control.status(home).session}
        st = json.loads(subprocess.run([*OWNTRACE, "status", "--json"], env=xenv, capture_output=True, text=True, check=True).stdout)
        assert st["state"] == "recording" and st["session"] in out.stdout
        xh.type_text("one", xenv)
        wait_for(lambda: control.status(home).events >= 6, 30, "keys")
        assert control.pause(home).state == "paused"
        xh.type_text("zzpaused", xenv)
        assert control.resume(home).state == "recording"
        xh.type_text("two", xenv)
        wait_for(lambda: control.status(home).events >= 14, 30, "keys")
        stopped = subprocess.run([*OWNTRACE, "stop"], env=xenv, capture_output=True, text=True)
    assert stopped.returncode == 0 and stopped.stdout.strip() == st["session"]
    assert control.status(home) is None
    s, key, events = read_back(home, user)
    assert s.meta.name == "bg" and s.meta.state == "recorded"
    assert typed(events) == "onetwo"
    kinds = [e.kind for e in events]
    assert kinds.index("pause") < kinds.index("resume")


def test_kill_9_keeps_every_sealed_segment(home, user, xenv) -> None:
    with xh.xterm("OwnTrace Notes", xenv):
        st = control.start(home, RecordOptions())
        s = store.resolve(home)
        for n, text in enumerate(("abc", "def"), 1):
            xh.type_text(text, xenv)
            wait_for(lambda n=n: len(s.segment_files()) >= n, 30, "sealed segments")
        os.kill(st.pid, signal.SIGKILL)
        os.waitpid(st.pid, 0)  # started from this process: reap it, as init does for `owntrace start`
        wait_for(lambda: control.status(home) is None, 10, "the lock to drop")
    s = store.resolve(home)
    assert s.meta.state == "interrupted"
    damaged: list[str] = []
    events = list(s.events(s.key(user), damaged))
    assert damaged == [] and events[0].kind == "window"
    assert typed(events).startswith("abc")
    listing = json.loads(subprocess.run([*OWNTRACE, "sessions", "--json"], env=dict(os.environ), capture_output=True, text=True, check=True).stdout)
    assert listing[-1]["state"] == "interrupted"
    # a new recorder can start after the crash
    with pytest.raises(Exception, match="no recorder is running"):
        control.stop(home)
