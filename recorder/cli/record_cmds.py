"""`owntrace record|start|stop|pause|resume|status|doctor`."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from typing import Annotated

import typer

from recorder import paths
from recorder.capture import control
from recorder.capture import doctor as doctor_mod
from recorder.capture.recording import Recording
from recorder.errors import OwnTraceError
from recorder.search.indexer import index_in_background
from recorder.study import record_options

Duration = Annotated[float | None, typer.Option("--duration", min=0.1, help="stop after this many seconds")]
Task = Annotated[str, typer.Option("--task", help="what you are about to do (sealed with the session)")]
Name = Annotated[str, typer.Option("--name", help="a label for the session")]
Study = Annotated[str | None, typer.Option("--study", help="record for a joined study, within what you consented to")]
Backend = Annotated[str | None, typer.Option("--backend", help="x11 or wayland (default: this desktop session's)")]
Window = Annotated[bool, typer.Option("--window", help="record only one window you pick (Wayland); nothing else is captured")]


def record(duration: Duration = None, task: Task = "", name: Name = "", study: Study = None, backend: Backend = None,
           window: Window = False) -> None:
    """Record in the foreground until Ctrl-C, SIGTERM or --duration; prints the session id."""
    root = paths.home()
    line = control.StatusLine()
    options = record_options(root, name=name, task=task, study=study, duration_s=duration, backend=backend, window=window)
    rec = Recording(root, options, on_status=line)
    try:
        meta = rec.run()
    finally:
        line.end()
    if rec.retention and rec.retention.deleted:
        print(rec.retention.message(), file=sys.stderr)
    print(f"recorded {meta.duration_s:.1f}s: {meta.events} events, {meta.frames} frames", file=sys.stderr)
    typer.echo(meta.id)
    _index_after_stop(meta.id)


def _index_after_stop(session_id: str) -> None:
    """The recorder holds public keys only: indexing runs in a process of its own, if at all."""
    try:
        line = index_in_background(paths.home(), session_id)
    except OwnTraceError as e:  # the recording is safe; only its indexing is not started
        line = f"not indexed for search: {e.message}"
    if line:
        print(line, file=sys.stderr)


def start(duration: Duration = None, task: Task = "", name: Name = "", study: Study = None, backend: Backend = None,
          window: Window = False) -> None:
    """Start recording in the background (see `status`, `pause`, `resume`, `stop`)."""
    root = paths.home()
    options = record_options(root, name=name, task=task, study=study, duration_s=duration, backend=backend, window=window)
    st = control.start(root, options)
    typer.echo(f"recording session {st.session} in the background (pid {st.pid}); `owntrace stop` ends it")


def stop() -> None:
    """Stop the background recorder; prints the session id."""
    st = control.stop(paths.home())
    typer.echo(st.session)
    _index_after_stop(st.session)


def pause() -> None:
    """Pause the background recorder: nothing is captured until `resume`."""
    typer.echo(control.pause(paths.home()).line())


def resume() -> None:
    """Resume a paused recorder."""
    typer.echo(control.resume(paths.home()).line())


def status(as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False) -> None:
    """Is a recorder running, and what has it captured so far."""
    st = control.status(paths.home())
    if as_json:
        typer.echo(json.dumps(asdict(st) if st else {"state": "stopped"}, indent=2))
    else:
        typer.echo(st.line() if st else "not recording")


def doctor(backend: Backend = None) -> None:
    """Check that recording can work on this machine, and what to do if not."""
    checks = doctor_mod.run_checks(paths.home(), backend)
    for c in checks:
        typer.echo(c.line())
    if any(c.level == "fail" for c in checks):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    for fn in (record, start, stop, pause, resume, status, doctor):
        app.command()(fn)
