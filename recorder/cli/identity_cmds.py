"""`owntrace init` and `owntrace sessions`."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from recorder import config, deny, keys, paths
from recorder.cli.common import PassphraseFile, human_bytes, unlock
from recorder.store import repair
from recorder.store import session as store


def init(
    passphrase_file: PassphraseFile = None,
    keyring: Annotated[bool, typer.Option("--keyring", help="keep the identity in the OS keyring instead of a passphrase file")] = False,
) -> None:
    """Create your identity: an age X25519 key, passphrase-protected (or in the OS keyring)."""
    root = paths.home()
    if keyring:
        recipient = keys.init_identity(root, passphrase=None, use_keyring=True)
    else:
        pw = keys.read_passphrase(passphrase_file, confirm=True)
        recipient = keys.init_identity(root, passphrase=pw)
    config.write_default(root)
    paths.tighten(root)  # an existing folder given as the home keeps no group or other access
    typer.echo(f"identity created in {root}")
    typer.echo(f"public key: {recipient}")
    typer.echo("recordings are sealed to this key; only you can open them, with your passphrase")


def sessions(as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False) -> None:
    """List recorded sessions."""
    root = paths.home()
    rows: list[dict[str, Any]] = []
    for s in store.list_sessions(root):
        m = s.meta
        rows.append(
            {
                "id": m.id,
                "name": m.name,
                "started": m.started_at,
                "duration_s": m.duration_s,
                "events": m.events,
                "frames": m.frames,
                "bytes": s.size_bytes(),
                "state": m.state,
                "study": m.study,
            }
        )
    damaged = repair.damaged_sessions(root)
    if as_json:
        typer.echo(json.dumps(rows + [{"id": d.id, "state": "damaged", "reason": d.reason} for d in damaged], indent=2))
        return
    for d in damaged:
        typer.echo(f"damaged session {d.id}: {d.reason}; recover it with `owntrace recover {d.id}`", err=True)
    if not rows:
        typer.echo("no sessions yet: record one with `owntrace record`")
        return
    typer.echo(f"{'ID':<21} {'STARTED':<20} {'DURATION':>8} {'EVENTS':>7} {'FRAMES':>6} {'SIZE':>9}  STATE")
    for r in rows:
        typer.echo(
            f"{r['id']:<21} {r['started'][:19].replace('T', ' '):<20} {r['duration_s']:>7.1f}s {r['events']:>7} "
            f"{r['frames']:>6} {human_bytes(r['bytes']):>9}  {r['state']}"
        )


def recover(
    session: Annotated[str, typer.Argument(help="the id of a damaged session (see `owntrace sessions`)")],
    passphrase_file: PassphraseFile = None,
) -> None:
    """Rebuild a damaged session's session.json from its sealed files (it becomes `interrupted`)."""
    s = repair.recover(paths.home(), session, unlock(passphrase_file))
    m = s.meta
    typer.echo(f"recovered session {m.id}: {m.events} events, {m.frames} frames, {m.segments} journal segments")
    typer.echo("its name, study, screens and duration were in session.json and are lost; "
               f"next: owntrace redact {m.id}")


Terms = Annotated[list[str], typer.Argument(help="names, usernames, addresses, contacts, companies")]


def deny_add(terms: Terms, passphrase_file: PassphraseFile = None) -> None:
    """Always redact these terms (case-insensitively); the list is sealed to your identity."""
    added = deny.add(paths.home(), unlock(passphrase_file), terms)
    typer.echo(f"added {len(added)} term(s) to your deny list" + (f" ({len(terms) - len(added)} were on it)"
                                                                  if len(added) < len(terms) else ""))


def deny_list(passphrase_file: PassphraseFile = None) -> None:
    """Show your deny list."""
    terms = deny.load(paths.home(), unlock(passphrase_file))
    for t in terms:
        typer.echo(t)
    if not terms:
        typer.echo("your deny list is empty: `owntrace deny add \"Your Name\" yourhandle` adds to it", err=True)


def deny_remove(terms: Terms, passphrase_file: PassphraseFile = None) -> None:
    """Stop redacting these terms always."""
    removed = deny.remove(paths.home(), unlock(passphrase_file), terms)
    typer.echo(f"removed {len(removed)} term(s) from your deny list")


def register(app: typer.Typer) -> None:
    app.command()(init)
    app.command()(sessions)
    app.command()(recover)
    deny_app = typer.Typer(help="Your deny list: your own names and contacts, always redacted, kept sealed.",
                           no_args_is_help=True)
    deny_app.command("add")(deny_add)
    deny_app.command("list")(deny_list)
    deny_app.command("remove")(deny_remove)
    app.add_typer(deny_app, name="deny")
