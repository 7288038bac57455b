"""`owntrace redact`, `owntrace redact-image`, `owntrace redact-text`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from recorder import paths
from recorder.cli.common import PassphraseFile, ProgressBar, SessionRef, unlock
from recorder.errors import OwnTraceError
from recorder.search import indexer
from recorder.search.text import ScreenText
from recorder.store import session as store


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
    src: Annotated[Path, typer.Argument(metavar="IN", help="a PNG or JPEG screenshot")],
    out: Annotated[Path, typer.Option("-o", "--output", help="where to write the redacted PNG")],
) -> None:
    """Redact one screenshot: personal data and secrets filled solid black."""
    from recorder.redact import session as redact

    result = redact.redact_image_file(src, out, paths.home())
    counts: dict[str, int] = {}
    for f in result.findings:
        counts[f.entity] = counts.get(f.entity, 0) + 1
    found = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "nothing found"
    typer.echo(f"wrote {out}: {found}; {len(result.flagged)} regions flagged to check by eye", err=True)


def redact_text_cmd(
    file: Annotated[Path | None, typer.Argument(help="a text file (default: standard input)")] = None,
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
    from recorder.redact import session as redact

    redacted, _ = redact.user_detector(paths.home()).redact(text)
    sys.stdout.write(redacted)


def register(app: typer.Typer) -> None:
    app.command("redact")(redact_cmd)
    app.command("redact-image")(redact_image_cmd)
    app.command("redact-text")(redact_text_cmd)
