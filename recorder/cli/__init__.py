"""The `owntrace` command: a thin Typer layer over the library. Each command group lives in
its own module with a `register(app)` function; errors are OwnTraceError, printed in one line."""

from __future__ import annotations

import sys

import typer

from recorder import paths
from recorder.cli import demo_cmds, identity_cmds, record_cmds, redact_cmds, review_cmds, search_cmds, study_cmds
from recorder.errors import OwnTraceError

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
        paths.tighten(paths.home())  # a home made 0755 by hand or by an older version
        app()
    except OwnTraceError as e:
        print(f"error: {e.message}", file=sys.stderr)
        if e.hint:
            print(f"hint: {e.hint}", file=sys.stderr)
        sys.exit(e.exit_code)
