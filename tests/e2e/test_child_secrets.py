"""Issue 14, item 5 (and the browser half of item 3): what other local processes can read of the
children OwnTrace starts. /proc/PID/environ and /proc/PID/cmdline of the detached recorder and of
the browser `review` launches hold neither the passphrase, nor the task text, nor a usable link."""

from __future__ import annotations

import http.client
import os
import secrets
import signal
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from recorder import childenv
from recorder.capture import control
from recorder.capture.recording import RecordOptions
from recorder.keys import PASSPHRASE_ENV
from recorder.store import session as store
from tests.conftest import PASSPHRASE
from tests.support.cli import OWNTRACE
from tests.support.review_kit import standard_session

pytestmark = pytest.mark.x11
START_S = 60  # a loaded machine brings Chromium up slowly; a hang still fails


def _proc(pid: int, what: str) -> list[bytes]:
    return Path(f"/proc/{pid}/{what}").read_bytes().split(b"\0")


def _wait(cond, what: str, timeout: float = START_S):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_scrubbed_drops_owntrace_secrets_only() -> None:
    env = {"PATH": "/usr/bin", PASSPHRASE_ENV: "x", f"{PASSPHRASE_ENV}_FILE": "/f", "DISPLAY": ":1"}
    assert childenv.scrubbed(env) == {"PATH": "/usr/bin", "DISPLAY": ":1"}


def test_detached_recorder_gets_no_passphrase_and_no_task_on_its_command_line(home: Path, user, xenv) -> None:
    task = f"file the {secrets.token_hex(6)} report"
    assert os.environ[PASSPHRASE_ENV] == PASSPHRASE  # what a user with the variable set runs
    st = control.start(home, RecordOptions(task=task))
    try:
        environ, cmdline = _proc(st.pid, "environ"), b" ".join(_proc(st.pid, "cmdline"))
    finally:
        control.stop(home)
    assert not [v for v in environ if v.startswith(PASSPHRASE_ENV.encode())]
    assert f"DISPLAY={xenv['DISPLAY']}".encode() in environ  # the rest of the environment is kept
    assert task.encode() not in cmdline and b"recorder.capture.control" in cmdline
    s = store.resolve(home, st.session)
    assert s.task(s.key(user)) == task  # it came through the pipe


def test_review_browser_gets_no_secret_and_a_link_that_works_once(home: Path, user, xenv, tmp_path: Path) -> None:
    s = standard_session(home)
    # the user's browser: real Chromium (headless), started the way webbrowser starts $BROWSER
    launcher = tmp_path / "browser"
    launcher.write_text(
        "#!/bin/sh\n"
        f'printf "%s" "$1" > {tmp_path}/argv\n'
        f'/usr/bin/chromium --headless=new --no-sandbox --disable-gpu --user-data-dir={tmp_path}/profile '
        f'--dump-dom "$1" > /dev/null 2>&1\n'
        f"echo $$ > {tmp_path}/pid\n"
        "exec sleep 120\n")  # the launched process lives on with the environment it was given
    launcher.chmod(0o700)
    env = {**xenv, "BROWSER": str(launcher)}
    review = subprocess.Popen([*OWNTRACE, "review", s.id], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    pid = None
    try:
        first = review.stdout.readline()
        url = first.rsplit(" ", 1)[-1].strip()
        assert url.startswith("http://127.0.0.1:") and "/open/" in url, first
        pid = int(_wait(lambda: (tmp_path / "pid").exists() and (tmp_path / "pid").read_text().strip(), "Chromium"))
        assert (tmp_path / "argv").read_text() == url  # the browser got the one-time link only
        environ = _proc(pid, "environ")
        assert not [v for v in environ if v.startswith(PASSPHRASE_ENV.encode())]
        # Chromium loaded the page, so the link is spent: another process that read it gets nothing
        link = urlsplit(url)
        conn = http.client.HTTPConnection("127.0.0.1", link.port, timeout=10)
        conn.request("GET", link.path)
        refused = conn.getresponse()
        assert refused.status == 403 and b"used already" in refused.read()
        conn.close()
    finally:
        if pid is not None:
            os.kill(pid, signal.SIGTERM)
        review.send_signal(signal.SIGINT)
        out, err = review.communicate(timeout=START_S)
    assert "Traceback" not in err and "review interrupted" in out
