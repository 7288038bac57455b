"""Control of a background recorder: start (detached), stop, pause, resume, status.

The recorder process holds OWNTRACE_HOME/recorder.lock and keeps recorder.status.json current;
these functions talk to it through that file and signals only.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from recorder import paths
from recorder.capture.backend import choose
from recorder.capture.recording import (
    LOG_FILE,
    SIGNAL_PAUSE,
    SIGNAL_RESUME,
    RecorderLock,
    Recording,
    RecordOptions,
    Status,
    already_running,
    read_status,
)
from recorder.childenv import read_payload, spawn
from recorder.errors import OwnTraceError

START_TIMEOUT_S = 60.0  # a loaded machine can take well over 20 s to bring the child up
STOP_TIMEOUT_S = 60.0


def _not_running() -> OwnTraceError:
    return OwnTraceError("no recorder is running", "start one with `owntrace start` or `owntrace record`")


def status(root: Path) -> Status | None:
    """The running recorder's status, or None when none runs."""
    if not RecorderLock.held(root):
        return None
    return read_status(root)


def _running(root: Path) -> Status:
    st = status(root)
    if st is None:
        raise _not_running()
    return st


def start(root: Path, options: RecordOptions) -> Status:
    """Launch `owntrace record` detached from the terminal; returns once it records."""
    choose(options.backend)  # no display: one line now, not from the detached child
    if RecorderLock.held(root):
        raise already_running()
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    log = root / LOG_FILE
    with open(log, "ab") as err:  # status lines and errors only, never recorded content
        err.truncate(0)
        # the child imports only the recorder, not the whole CLI, so it starts fast; it gets the
        # capture policy the caller resolved (a study's limits are public facts of its profile).
        # The options (the task text) go through a pipe and the passphrase not at all: the
        # recorder needs public keys only
        proc = spawn(
            [sys.executable, "-c", "from recorder.capture.control import run_child; run_child()"],
            options.to_json(),
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
        )
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        st = read_status(root)
        if st is not None and st.pid == proc.pid:
            return st
        if proc.poll() is not None:
            lines = [ln for ln in log.read_text(errors="replace").splitlines() if ln.startswith(("error:", "hint:"))]
            message = lines[0].removeprefix("error: ") if lines else f"the recorder exited with status {proc.returncode}"
            hint = lines[1].removeprefix("hint: ") if len(lines) > 1 else f"see {log}"
            raise OwnTraceError(message, hint)
        time.sleep(0.05)
    raise OwnTraceError("the background recorder did not start in time", f"see {log}; `owntrace stop` ends it if it runs")


def run_child() -> None:
    """The detached recorder started by `start`: options as JSON on stdin."""
    options = RecordOptions.from_json(read_payload())
    try:
        meta = Recording(paths.home(), options, on_status=StatusLine()).run()
    except OwnTraceError as e:
        print(f"error: {e.message}", file=sys.stderr)
        if e.hint:
            print(f"hint: {e.hint}", file=sys.stderr)
        sys.exit(e.exit_code)
    print(f"recorded session {meta.id}: {meta.events} events, {meta.frames} frames", file=sys.stderr)


class StatusLine:
    """The live status line on stderr: redrawn in place on a terminal, else one line per state."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.last_state = ""

    def __call__(self, st: Status) -> None:
        if self.tty:
            sys.stderr.write("\r" + st.line() + "  (Ctrl-C stops) ")
            sys.stderr.flush()
        elif st.state != self.last_state:
            print(st.line(), file=sys.stderr, flush=True)
        self.last_state = st.state

    def end(self) -> None:
        if self.tty and self.last_state:
            sys.stderr.write("\n")


def _signal(st: Status, sig: int) -> None:
    try:
        os.kill(st.pid, sig)
    except ProcessLookupError:
        raise _not_running() from None


def _wait_state(root: Path, want: str) -> Status:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        st = status(root)
        if st is None:
            raise _not_running()
        if st.state == want:
            return st
        time.sleep(0.05)
    raise OwnTraceError(f"the recorder did not become {want}", "see `owntrace status`")


def pause(root: Path) -> Status:
    _signal(_running(root), SIGNAL_PAUSE)
    return _wait_state(root, "paused")


def resume(root: Path) -> Status:
    _signal(_running(root), SIGNAL_RESUME)
    return _wait_state(root, "recording")


def stop(root: Path) -> Status:
    """Stop the recorder cleanly and wait until its session is sealed and closed."""
    st = _running(root)
    _signal(st, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while RecorderLock.held(root):
        if time.monotonic() > deadline:
            raise OwnTraceError(f"the recorder (pid {st.pid}) did not stop in time", f"it may still be sealing; try again, or kill {st.pid}")
        time.sleep(0.05)
    return st
