"""Another local user attacking a local page's availability (issue 22), in a process of its own as
a real one would be (in the test's or benchmark's process it would starve the owner of the GIL).

    python3 tests/support/attack.py PORT HOST KIND N [EVERY_S]

KIND slowloris: N connections, each sending one byte of a never-ending header every EVERY_S
seconds; KIND idle: N connections sending nothing. Each is reopened as soon as the server closes
it. Prints "ready" once all are open, and the counts as JSON when its standard input closes.
It needs the standard library only, so attack() can run it as another user (uid 65534 when
the tests run as root, as in CI) with the system's python3.
"""

from __future__ import annotations

import json
import os
import selectors
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

OTHER_USER = 65534  # nobody: "any local user" of the threat model


def run(port: int, host: str, kind: str, n: int, every_s: float, stop: threading.Event) -> dict[str, int]:
    pad = f"GET / HTTP/1.1\r\nHost: {host}\r\nX-Pad: ".encode() + b"a" * 60000
    sel = selectors.DefaultSelector()
    sent: dict[socket.socket, int] = {}
    counts = {"opened": 0, "closed": 0}

    def connect() -> None:
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=1)
        except OSError:
            return
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
        sent[s] = 0
        counts["opened"] += 1

    for _ in range(n):
        connect()
    print("ready", flush=True)
    next_byte = time.monotonic() + every_s
    while not stop.is_set():
        for key, _ in sel.select(0.05):
            s = key.fileobj
            assert isinstance(s, socket.socket)
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            if not data:
                sel.unregister(s)
                s.close()
                del sent[s]
                counts["closed"] += 1
        while len(sent) < n and not stop.is_set():  # closed by the server: back at once
            connect()
        if kind == "slowloris" and time.monotonic() >= next_byte:
            next_byte += every_s
            for s, i in list(sent.items()):
                try:
                    s.send(pad[i % len(pad):i % len(pad) + 1])
                    sent[s] = i + 1
                except OSError:
                    pass
    for s in sent:
        s.close()
    sel.close()
    return counts


def other_user() -> bool:
    """Whether attack() runs as another user: only root can start one."""
    return os.getuid() == 0


@contextmanager
def attack(port: int, host: str, kind: str, n: int, every_s: float = 4.0) -> Iterator[dict[str, int]]:
    """The attacker process for the duration of the block (as another user where we are root);
    the dict gets its counts at the end."""
    # -c with the source: the checkout need not be readable by the other user
    argv = ["-c", Path(__file__).read_text(), str(port), host, kind, str(n), str(every_s)]
    if other_user():
        argv = ["setpriv", f"--reuid={OTHER_USER}", f"--regid={OTHER_USER}", "--clear-groups", "/usr/bin/python3", *argv]
    else:
        argv = [sys.executable, *argv]
    proc = subprocess.Popen(argv, cwd="/", stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdin is not None and proc.stdout is not None
    counts: dict[str, int] = {}
    try:
        assert proc.stdout.readline().strip() == "ready"
        yield counts
    finally:
        proc.stdin.close()
        out = proc.stdout.read()
        proc.wait(30)
        counts.update(json.loads(out) if out.strip() else {})


def main() -> None:
    port, host, kind, n = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
    every_s = float(sys.argv[5]) if len(sys.argv) > 5 else 4.0
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    print(json.dumps(run(port, host, kind, n, every_s, stop)), flush=True)


if __name__ == "__main__":
    main()
