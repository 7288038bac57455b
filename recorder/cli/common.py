"""Options and helpers shared by command modules."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from recorder import keys, paths

PassphraseFile = Annotated[
    Path | None,
    typer.Option("--passphrase-file", help="read the passphrase from this file (else $OWNTRACE_PASSPHRASE or a prompt)"),
]
SessionRef = Annotated[str, typer.Argument(help="session id, unique prefix of one, or 'latest'")]


def unlock(passphrase_file: Path | None) -> keys.UnlockedIdentity:
    return keys.unlock(paths.home(), passphrase_file=passphrase_file)


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"
