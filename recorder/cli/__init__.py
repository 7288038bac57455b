"""The `owntrace` command: a thin Typer layer over the library. Each command group lives in
its own module with a `register(app)` function; errors are OwnTraceError, printed in one line."""

from __future__ import annotations

import sys

import typer

from ..errors import OwnTraceError
from . import identity_cmds, record_cmds, redact_cmds, review_cmds, search_cmds, study_cmds, demo_cmds

app = typer.Typer(
    name="owntrace",
    help="Record your own work, sealed on capture; review and redact it; export only what you approve.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for module in (identity_cmds, record_cmds, redact_cmds, review_cmds, study_cmds, demo_cmds, search_cmds):
    module.register(app)


def main() -> None:
    try:
        app()
    except OwnTraceError as e:
        print(f"error: {e.message}", file=sys.stderr)
        if e.hint:
            print(f"hint: {e.hint}", file=sys.stderr)
        sys.exit(e.exit_code)
