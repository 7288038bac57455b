"""`owntrace redact`, `owntrace redact-image`, `owntrace redact-text`."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer

from recorder import limits, paths
from recorder.cli.common import PassphraseFile, ProgressBar, SessionRef, deny_unlock, unlock
from recorder.errors import OwnTraceError
from recorder.search import indexer
from recorder.search.text import ScreenText
from recorder.store import session as store

TEXT_MAX = 16 * 1024**2  # redact-text's input: far more than any screen or log excerpt


def redact_cmd(session: SessionRef = "latest", passphrase_file: PassphraseFile = None) -> None:
    """Produce the redacted view of a session (sealed) and its redaction report."""
    root = paths.home()
    s = store.resolve(root, session)
    user = unlock(passphrase_file)
    # presidio and spaCy take seconds to load: only once the input is known good
    from recorder.redact import session as redact

    redact.ensure_redactable(s)
    # the redaction OCRs every frame: hand its words to the search index instead of OCRing twice
    screen = ScreenText() if indexer.not_indexable(s, root) is None and not indexer.is_indexed(s) else None
    with ProgressBar("redacting") as bar:
        report = redact.redact_session(root, s, user, progress=bar, on_frame_words=screen.add if screen else None)
    typer.echo(f"session {s.id} redacted: {report.summary()}")
    if screen is not None:
        typer.echo(indexer.index_session(s, user, screen=screen).line())
    for w in report.withheld:
        typer.echo(f"  withheld {w['item']}: {w['reason']}")
    if report.flagged:
        typer.echo(f"  {len(report.flagged)} regions flagged: look at them in `owntrace review {s.id}`")
    typer.echo(f"next: owntrace review {s.id}")


def redact_image_cmd(
    src: Annotated[list[Path], typer.Argument(metavar="IN...", help="PNG or JPEG screenshots, or folders of them")],
    out: Annotated[Path, typer.Option("-o", "--output", help="the redacted PNG; a folder for several inputs")],
    as_json: Annotated[bool, typer.Option("--json", help="print the findings as JSON lines, one per image")] = False,
    passphrase_file: PassphraseFile = None,
) -> None:
    """Redact screenshots: personal data and secrets filled solid black. Models load once."""
    from recorder.redact import batch  # presidio and spaCy take seconds to load

    jobs = batch.plan(src, out)
    user = deny_unlock(passphrase_file)
    with ProgressBar("redacting images") as bar:
        records = batch.run(jobs, paths.home(), bar, user)
    for r in records:
        if as_json:
            typer.echo(json.dumps(r, ensure_ascii=False))
        counts = Counter(f["entity"] for f in r["findings"])
        found = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "nothing found"
        typer.echo(f"wrote {r['output']}: {found}; {len(r['flagged'])} regions flagged to check by eye", err=True)


def redact_text_cmd(
    file: Annotated[Path | None, typer.Argument(help="a text file (default: standard input)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the redacted text and its findings as JSON")] = False,
    passphrase_file: PassphraseFile = None,
) -> None:
    """Redact text to standard output; output line N is input line N, redacted."""
    if file is not None:
        data = limits.read_file(file, TEXT_MAX, "text file", "split it into smaller files")
    else:
        data = limits.read_capped(sys.stdin.buffer, TEXT_MAX)
        if len(data) > TEXT_MAX:
            raise OwnTraceError(f"standard input is larger than {limits.size_text(TEXT_MAX)}", "split it into smaller parts")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise OwnTraceError(f"{file or 'standard input'} is not UTF-8 text", "convert it with iconv first") from None
    from recorder.redact import session as redact

    redacted, found = redact.user_detector(paths.home(), deny_unlock(passphrase_file)).redact(text)
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
