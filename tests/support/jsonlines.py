"""A test helper in a child process, asked one JSON request a line on its stdin and answering one
JSON line on its stdout: the child's loop (`serve`) and the parent's side (`JsonLinesChild`).
Used where pixels must stay in the process that has them, or where the child must run as another
user (the conformance probe, tests/conformance/probe.py; the Wayland frame source,
tests/support/wayland_frames.py).

A request is {"op": name, **arguments}: the server object's method `name` is called with the
arguments. Each answer is {"value": what it returned}, or {"error": message, "hint": hint} for an
OwnTraceError (never a traceback). "close" ends the loop.
"""

from __future__ import annotations

import json
import selectors
import subprocess
import sys
from collections.abc import Callable
from typing import Any, Self

from recorder.errors import OwnTraceError

ANSWER_WAIT_S = 60.0  # for an answer, beyond the request's own timeout (a loaded 2-core machine)
# how the parent starts the child: its requests in, its answers and its errors out
PIPES: dict[str, Any] = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}


def serve(server: Any) -> None:
    """The child's side: answer requests from stdin until "close" or the end of input, then close `server`."""
    for line in sys.stdin:
        request = json.loads(line)
        op = request.pop("op")
        try:
            answer = {"value": getattr(server, op)(**request)}
        except OwnTraceError as e:
            answer = {"error": e.message, "hint": e.hint}
        print(json.dumps(answer), flush=True)
        if op == "close":
            break
    server.close()


class ChildError(RuntimeError):
    """The child gave no answer in time, exited, or (`JsonLinesChild.call`) answered with an error."""


class JsonLinesChild:
    """The parent's side: `proc` started with PIPES, running `serve`; `stop` ends it for good."""

    def __init__(self, name: str, proc: subprocess.Popen[str], stop: Callable[[subprocess.Popen[str]], None]) -> None:
        self.name, self.proc, self._stop = name, proc, stop

    def ask(self, op: str, *, wait: float = ANSWER_WAIT_S, **args: Any) -> dict[str, Any]:
        """Send one request; its answer as sent, waited for `wait` s beyond the request's own timeout."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps({"op": op, **args}) + "\n")
        self.proc.stdin.flush()
        limit = wait + float(args.get("timeout") or 0)
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            if not sel.select(limit):
                raise ChildError(f"{self.name} {op}: no answer within {limit:.0f} s")
        line = self.proc.stdout.readline()
        if not line:
            err = self.proc.stderr.read() if self.proc.stderr else ""
            raise ChildError(f"{self.name} {op}: the child exited {self.proc.wait(5)}: {err[-2000:]}")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def call(self, op: str, **args: Any) -> Any:
        """The answer's value; an OwnTraceError in the child raises ChildError with its message."""
        answer = self.ask(op, **args)
        if "error" in answer:
            raise ChildError(f"{self.name} {op}: {answer['error']} ({answer.get('hint')})")
        return answer["value"]

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.ask("close")
            except (ChildError, OSError, ValueError):
                pass
        self._stop(self.proc)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
