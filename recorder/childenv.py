"""What OwnTrace hands to the processes it starts: an environment without secrets, arguments
through a pipe.

A child inherits the parent's environment; any local process can read another's command line
(/proc/PID/cmdline is world-readable), and any process of the same user its environment. The
detached recorder must hold public keys only, so it never gets the passphrase; a browser is
someone else's program and gets nothing of ours. Arguments that hold content (the task text)
travel on stdin instead of argv.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from recorder.keys import PASSPHRASE_ENV

# names starting with these hold OwnTrace secrets (OWNTRACE_PASSPHRASE, and any variant of it)
SECRET_PREFIXES = (PASSPHRASE_ENV,)


def scrubbed(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """A copy of `env` (default: ours) without OwnTrace's secrets."""
    source = os.environ if env is None else env
    return {k: v for k, v in source.items() if not k.startswith(SECRET_PREFIXES)}


def spawn(argv: Sequence[str], payload: Any = None, **popen: Any) -> subprocess.Popen:
    """Start `argv` with a scrubbed environment; `payload` (JSON) is written to its stdin and
    closed, so it never shows on a command line."""
    proc = subprocess.Popen(list(argv), stdin=subprocess.PIPE, env=scrubbed(), **popen)
    assert proc.stdin is not None
    with proc.stdin:
        try:
            proc.stdin.write(json.dumps(payload).encode())
        except BrokenPipeError:  # the child died at once: its exit status says why
            pass
    return proc


def read_payload() -> Any:
    """In a child started by `spawn`: the JSON it was handed on stdin."""
    return json.loads(sys.stdin.buffer.read())


def open_browser(url: str, on_failure: Callable[[], None]) -> None:
    """Open `url` in the user's browser from a helper with a scrubbed environment (so the browser
    and whatever it starts inherit no secret); the URL goes to the helper on stdin. Returns at
    once (Ctrl-C stays with the caller); `on_failure` runs, on another thread, if no browser
    could be started."""
    proc = spawn([sys.executable, "-c", "import sys, webbrowser\nfrom recorder.childenv import read_payload\n"
                  "sys.exit(0 if webbrowser.open(read_payload()) else 1)"],
                 url, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    def watch() -> None:
        if proc.wait() != 0:
            on_failure()

    threading.Thread(target=watch, name="browser", daemon=True).start()
