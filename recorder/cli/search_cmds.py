"""`owntrace index`, `owntrace search`, `owntrace timeline`."""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Annotated

import typer

from recorder import paths
from recorder.cli.common import PassphraseFile, ProgressBar, serve_page, unlock
from recorder.search import indexer
from recorder.search.query import parse, parse_when
from recorder.search.searcher import Hit, Library


def index(
    sessions: Annotated[list[str] | None, typer.Argument(help="session ids or prefixes (default: the latest)")] = None,
    all_sessions: Annotated[bool, typer.Option("--all", help="every session not indexed yet")] = False,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="index again sessions that are indexed already")] = False,
    include_study: Annotated[bool, typer.Option("--include-study", help="index study sessions too")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar, no output")] = False,
    passphrase_file: PassphraseFile = None,
) -> None:
    """Make sessions searchable: a sealed index of what you typed, window titles and screen text."""
    root = paths.home()
    todo = indexer.plan(root, sessions or (), all_sessions=all_sessions, rebuild=rebuild, include_study=include_study)
    for sid, why in todo.skipped:
        if not quiet:
            typer.echo(f"skipped {sid}: {why}", err=True)
    if not todo.todo:
        if not quiet:
            typer.echo("nothing to index", err=True)
        return
    user = unlock(passphrase_file)
    for s in todo.todo:
        if quiet:
            result = indexer.index_session(s, user)
        else:
            with ProgressBar(f"indexing {s.id}") as bar:
                result = indexer.index_session(s, user, progress=bar)
        if not quiet:
            typer.echo(result.line())


def _print_hit(h: Hit, color: bool) -> None:
    text, pos = "", 0
    for a, b in h.highlights:
        word = h.snippet[a:b]
        text += h.snippet[pos:a] + (typer.style(word, bold=True, fg="yellow") if color else word)
        pos = b
    text = (text + h.snippet[pos:]).strip().replace("\n", " / ")
    frame = f" frame {h.frame}" if h.frame is not None else ""
    local = dt.datetime.fromisoformat(h.wall_time).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    typer.echo(f"{local}  {h.session}  +{h.t:.1f}s{frame}  {h.source:<6}  {h.app} — {h.title[:60]}")
    typer.echo(f"    {text}")


def search(
    words: Annotated[list[str], typer.Argument(help='words, "a phrase", prefix*, -word, app:/title:/typed:/screen: filters')],
    since: Annotated[str | None, typer.Option("--since", help="from this date/time (YYYY-MM-DD, 'YYYY-MM-DD HH:MM', today, yesterday, 3d, 12h)")] = None,
    until: Annotated[str | None, typer.Option("--until", help="up to this date/time (a bare date includes that day)")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=1000, help="at most this many results")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
    passphrase_file: PassphraseFile = None,
) -> None:
    """Search your own indexed sessions, best match first."""
    query = parse(" ".join(words), parse_when(since) if since else None, parse_when(until, end=True) if until else None)
    root = paths.home()
    user = unlock(passphrase_file)
    with Library(root, user) as library:
        library.require_content()
        hits = library.search(query, limit)
        if as_json:
            typer.echo(json.dumps({"query": " ".join(words), "hits": [h.to_obj() for h in hits],
                                   "not_indexed": library.not_indexed, "unreadable": library.unreadable}, indent=2))
        else:
            for h in hits:
                _print_hit(h, sys.stdout.isatty())
        for sid, why in library.unreadable:
            typer.echo(f"note: session {sid} was left out: {why}; `owntrace index {sid} --rebuild` rebuilds it",
                       err=True)
        if library.not_indexed and not as_json:
            typer.echo(f"note: {len(library.not_indexed)} session(s) are not indexed yet: `owntrace index --all`", err=True)
    if not hits:
        if not as_json:
            typer.echo("no matches", err=True)
        raise typer.Exit(1)


def timeline(
    no_browser: Annotated[bool, typer.Option("--no-browser", help="print the URL instead of opening a browser")] = False,
    port: Annotated[int, typer.Option(help="port on 127.0.0.1 (default: a random free one)")] = 0,
    passphrase_file: PassphraseFile = None,
) -> None:
    """Your sessions by day, their steps and frames, and search, in your browser (127.0.0.1 only)."""
    from recorder.search.timeline import TimelineServer

    root = paths.home()
    user = unlock(passphrase_file)
    library = Library(root, user)
    try:
        serve_page(lambda: TimelineServer(library, user, port), port, "timeline", "server", not no_browser).wait()
    finally:
        library.close()


def register(app: typer.Typer) -> None:
    app.command()(index)
    app.command()(search)
    app.command()(timeline)
