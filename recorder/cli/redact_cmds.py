"""`owntrace redact`, `owntrace redact-image`, `owntrace redact-text`."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from .. import paths, store
from ..errors import OwnTraceError
from .common import PassphraseFile, SessionRef, unlock


def redact_cmd(session: SessionRef = "latest", passphrase_file: PassphraseFile = None) -> None:
    """Produce the redacted view of a session (sealed) and its redaction report."""
    root = paths.home()
    s = store.resolve(root, session)
    user = unlock(passphrase_file)
    from .. import redact  # presidio and spaCy take seconds to load: only once the input is known good

    redact.ensure_redactable(s)
    with _bar("redacting") as bar:
        task = bar.add_task("redact", total=None)
        report = redact.redact_session(root, s, user, progress=lambda done, total: bar.update(task, completed=done,
                                                                                            total=total))
    typer.echo(f"session {s.id} redacted: {report.summary()}")
    for w in report.withheld:
        typer.echo(f"  withheld {w['item']}: {w['reason']}")
    if report.flagged:
        typer.echo(f"  {len(report.flagged)} regions flagged: look at them in `owntrace review {s.id}`")
    typer.echo(f"next: owntrace review {s.id}")


def _bar(label: str) -> Progress:
    return Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                    console=Console(stderr=True), transient=True)


def redact_image_cmd(
    src: Annotated[list[Path], typer.Argument(metavar="IN...", help="PNG or JPEG screenshots, or folders of them")],
    out: Annotated[Path, typer.Option("-o", "--output", help="the redacted PNG; a folder for several inputs")],
    as_json: Annotated[bool, typer.Option("--json", help="print the findings as JSON lines, one per image")] = False,
) -> None:
    """Redact screenshots: personal data and secrets filled solid black. Models load once."""
    from .. import redact_batch

    jobs = redact_batch.plan(src, out)
    with _bar("redacting images") as bar:
        task = bar.add_task("images", total=len(jobs))
        records = redact_batch.run(jobs, paths.home(), lambda done, total: bar.update(task, completed=done))
    for r in records:
        if as_json:
            typer.echo(json.dumps(r, ensure_ascii=False))
        counts = Counter(f["entity"] for f in r["findings"])
        found = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "nothing found"
        typer.echo(f"wrote {r['output']}: {found}; {len(r['flagged'])} regions flagged to check by eye", err=True)


def redact_text_cmd(
    file: Annotated[Optional[Path], typer.Argument(help="a text file (default: standard input)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the redacted text and its findings as JSON")] = False,
) -> None:
    """Redact text to standard output; output line N is input line N, redacted."""
    try:
        data = file.read_bytes() if file else sys.stdin.buffer.read()
    except OSError as e:
        raise OwnTraceError(f"cannot read {file}: {e.strerror}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise OwnTraceError(f"{file or 'standard input'} is not UTF-8 text", "convert it with iconv first") from None
    from .. import redact

    redacted, found = redact.user_detector(paths.home()).redact(text)
    if as_json:
        findings = [{"entity": f.entity, "score": round(f.score, 3), "detector": f.detector, "span": [f.start, f.end]}
                    for f in found]
        typer.echo(json.dumps({"redacted": redacted, "findings": findings}, ensure_ascii=False))
    else:
        sys.stdout.write(redacted)


def register(app: typer.Typer) -> None:
    app.command("redact")(redact_cmd)
    app.command("redact-image")(redact_image_cmd)
    app.command("redact-text")(redact_text_cmd)
