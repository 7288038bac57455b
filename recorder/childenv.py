"""What OwnTrace hands to the processes it starts: an environment without secrets, arguments
through a pipe.

A child inherits the parent's environment, and any process of the same user can read another's
command line (/proc/PID/cmdline, world-readable) and environment (/proc/PID/environ). The
detached recorder must hold public keys only, so it never gets the passphrase; a browser is
someone else's program and gets nothing of ours. Arguments that hold content (the task text)
travel on stdin instead of argv.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from .keys import PASSPHRASE_ENV

# exact names, and prefixes of names, that hold OwnTrace secrets
SECRET_NAMES = frozenset({PASSPHRASE_ENV})
SECRET_PREFIXES = (PASSPHRASE_ENV,)


def scrubbed(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """A copy of `env` (default: ours) without OwnTrace's secrets."""
    source = os.environ if env is None else env
    return {k: v for k, v in source.items() if k not in SECRET_NAMES and not k.startswith(SECRET_PREFIXES)}


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


def open_browser(url: str, wait_s: float = 5.0) -> bool:
    """Open `url` in the user's browser from a helper with a scrubbed environment (so the browser
    and whatever it starts inherit no secret); the URL goes to the helper on stdin. False when no
    browser could be started; a browser still running after `wait_s` counts as opened."""
    proc = spawn([sys.executable, "-c", "import sys, webbrowser\nfrom recorder.childenv import read_payload\n"
                  "sys.exit(0 if webbrowser.open(read_payload()) else 1)"],
                 url, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        return proc.wait(wait_s) == 0
    except subprocess.TimeoutExpired:
        return True
