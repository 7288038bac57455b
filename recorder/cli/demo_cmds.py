"""`owntrace demo`: see the whole thing work on a private virtual display (or guided, --here)."""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Annotated

import typer

from recorder.errors import OwnTraceError


def demo(
    export: Annotated[
        Path | None,
        typer.Option("--export", help="finish without a person: approve, export the signed bundle to PATH, verify it"),
    ] = None,
    here: Annotated[
        bool, typer.Option("--here", help="on your own desktop: record a short task of your own instead of the scripted one")
    ] = False,
    home: Annotated[
        Path | None,
        typer.Option("--home", help="use this OwnTrace home instead of a temporary one (it is kept)"),
    ] = None,
    keep: Annotated[bool, typer.Option("--keep", help="keep the temporary home afterwards (it is removed by default)")] = False,
) -> None:
    """Record a scripted task in real apps on a private virtual display, redact it, and review it."""
    from recorder.demo.flow import run_demo  # imports the recorder and redaction: only when run

    if here and not sys.stdin.isatty():
        raise OwnTraceError("--here asks you when to start and stop, and there is no terminal to ask on",
                            "run it in a terminal, or leave out --here for the scripted demo")
    signal.signal(signal.SIGTERM, _interrupt)  # a plain kill cleans up like Ctrl-C
    try:
        run_demo(export=export, here=here, home=home, keep=keep, say=typer.echo)
    except KeyboardInterrupt:  # the demo home was already cleaned up on the way out
        typer.echo("\ndemo stopped")
        raise typer.Exit(130) from None


def _interrupt(*_args: object) -> None:
    raise KeyboardInterrupt


def register(app: typer.Typer) -> None:
    app.command()(demo)
