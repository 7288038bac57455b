"""Options and helpers shared by command modules."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from recorder import deny, keys, paths
from recorder.childenv import open_browser
from recorder.errors import OwnTraceError
from recorder.store.retention import Retention

if TYPE_CHECKING:
    from recorder.review.server import LocalServer

S = TypeVar("S", bound="LocalServer")

PassphraseFile = Annotated[
    Path | None,
    typer.Option("--passphrase-file", help="read the passphrase from this file (else $OWNTRACE_PASSPHRASE or a prompt)"),
]
SessionRef = Annotated[str, typer.Argument(help="session id, unique prefix of one, or 'latest'")]


def unlock(passphrase_file: Path | None) -> keys.UnlockedIdentity:
    """The identity, unlocked; the first unlock also moves a deny list an older version kept in
    config.toml into the sealed one, and says so."""
    root = paths.home()
    user = keys.unlock(root, passphrase_file=passphrase_file)
    moved = deny.migrate(root, user)
    if moved:
        typer.echo(f"moved {len(moved)} deny-list term(s) from config.toml into {deny.FILE}, sealed to your identity; "
                   "config.toml no longer holds them (`owntrace deny list` shows them)", err=True)
    return user


def deny_unlock(passphrase_file: Path | None) -> keys.UnlockedIdentity | None:
    """For one-off redactions: the identity when there is a (sealed) deny list to apply, else None."""
    return unlock(passphrase_file) if deny.exists(paths.home()) else None


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


def confirm(question: str, refusal: OwnTraceError) -> None:
    """Ask on the terminal; without one, on end of input or on no, raise `refusal` having changed
    nothing. An answer is never read from a pipe: approving, consenting and deleting take a
    person at a terminal, or --yes."""
    if not sys.stdin.isatty():
        raise OwnTraceError(f"{refusal.message}: there is no terminal to ask on", "pass --yes once you have read the above")
    try:
        agreed = typer.confirm(question, default=False)
    except typer.Abort:  # end of input: no answer is no
        typer.echo("", err=True)
        agreed = False
    if not agreed:
        raise refusal


def say_retention(applied: Retention) -> None:
    typer.echo(applied.message(), err=True)


class ProgressBar:
    """A progress bar on stderr for library calls that report (done, total), see recorder.progress."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.bar: Any = None
        self.done = 0

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            self.bar = typer.progressbar(length=total, label=self.label, file=typer.get_text_stream("stderr"))
            self.bar.__enter__()
        self.bar.update(done - self.done)
        self.done = done

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)


def open_page(url: str) -> None:
    """Open a local page's one-time link in the user's browser, or say how to."""
    # without a graphical session webbrowser falls back to console browsers that take over the terminal
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        typer.echo("no graphical session here: open the link above in a browser on this machine")
        return
    open_browser(url, lambda: typer.echo("could not start a browser: open the link above yourself"))


def serve_page(make: Callable[[], S], port: int, label: str, what: str, browser: bool) -> S:
    """Start a local page's server (`make` binds it to 127.0.0.1:`port`), print its one-time link
    and open it in the browser unless told not to."""
    try:
        server = make()
    except OSError as e:
        raise OwnTraceError(f"cannot listen on 127.0.0.1:{port}: {e.strerror}", "choose another --port or leave it out") from None
    server.start()
    typer.echo(f"{label}: {server.url}")
    typer.echo(f"the link opens the page once (a cookie keeps that browser in); do not share it. Ctrl-C stops the {what}.")
    if browser:
        open_page(server.url)
    return server
