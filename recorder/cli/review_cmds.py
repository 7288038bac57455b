"""`owntrace review`, `approve`, `export`, `verify`, `delete`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from recorder import keys, paths
from recorder.cli.common import (
    PassphraseFile,
    ProgressBar,
    SessionRef,
    confirm,
    human_bytes,
    say_retention,
    serve_page,
    unlock,
)
from recorder.errors import MalformedInput, OwnTraceError, Tampered
from recorder.export import trust
from recorder.export.bundle import FORMATS, TRAJECTORY_FORMATS, export_session
from recorder.export.verify import verify_bundle
from recorder.redact import view as redacted_view
from recorder.redact.view import RedactedView
from recorder.review import approval
from recorder.review.decisions import OUTCOMES, load_review
from recorder.review.plan import BundlePlan
from recorder.steps import pyautogui_call
from recorder.store import retention


def _open_view(session: str, passphrase_file: Path | None) -> RedactedView:
    s = retention.resolve_kept(paths.home(), session, say_retention)
    return RedactedView(s, unlock(passphrase_file))


def review(
    session: SessionRef = "latest",
    no_browser: Annotated[bool, typer.Option("--no-browser", help="print the URL instead of opening a browser")] = False,
    port: Annotated[int, typer.Option(help="port on 127.0.0.1 (default: a random free one)")] = 0,
    passphrase_file: PassphraseFile = None,
) -> None:
    """Review a redacted session in your browser (served on 127.0.0.1 only, until you approve or close)."""
    from recorder.review.server import ReviewServer

    view = _open_view(session, passphrase_file)
    server = serve_page(lambda: ReviewServer(view, port), port, f"reviewing session {view.meta.id}", "review",
                        not no_browser)
    outcome = server.wait()
    if outcome == "approved":
        typer.echo(f"approved. next: owntrace export {view.meta.id} --out PATH")
    else:
        typer.echo(f"review {outcome}; your decisions so far are saved (sealed)")


def _print_summary(plan: BundlePlan) -> None:
    s, decisions = approval.summary(plan), plan.decisions
    typer.echo(f"session {s['session']}: {s['steps']} steps ({s['steps_removed']} removed), {s['frames']} redacted frames")
    typer.echo(f"task: {s['task'] or '(none)'}; outcome: {decisions.outcome or 'not said (trajectory exports say success)'}")
    actions = ", ".join(f"{k} {v}" for k, v in sorted(s["actions"].items())) or "none"
    typer.echo(f"actions: {actions}")
    typer.echo("redactions: " + (", ".join(f"{k} {v}" for k, v in s["counts"].items()) or "none")
               + f"; your boxes {s['manual_redactions']}; undone {len(s['undone_redactions'])}")
    for u in s["undone_redactions"]:
        typer.echo(f"  WARNING undone: {u['entity']} in {u['item']} will be exported as recorded")
    for w in s["withheld"]:
        typer.echo(f"  withheld {w.get('item')}: {w.get('reason')} (not exported)")
    for f in s["flagged"]:
        typer.echo(f"  flagged {f.get('item')}: {f.get('reason')} (look at it in `owntrace review`)")
    typer.echo("what will leave: episode.json (task, screens, times, redaction summary), steps.jsonl, "
               f"{s['frames']} frames/*.png, manifest.json + manifest.sig:")
    for st in plan.steps:
        text = decisions.texts.get(st.step_index)
        action = st.action if text is None else type(st.action)(**{**st.action.__dict__, "text": text})
        typer.echo(f"  {st.t_start:8.1f}s  {pyautogui_call(action):<60.60} {st.window.get('title', '')[:40]}")


def approve_cmd(
    session: SessionRef = "latest",
    yes: Annotated[bool, typer.Option("--yes", "-y", help="approve without asking (for scripts)")] = False,
    outcome: Annotated[str | None, typer.Option(help="did the task succeed: success or failure "
                                                   "(AgentNet and OSWorld exports end with it; default success)")] = None,
    passphrase_file: PassphraseFile = None,
) -> None:
    """Approve a session for export from the terminal: shows exactly what will leave, then asks."""
    if outcome not in (None, *OUTCOMES):
        raise OwnTraceError(f"unknown outcome {outcome!r}", "use --outcome success or --outcome failure")
    view = _open_view(session, passphrase_file)
    decisions = load_review(view).decisions
    if outcome is not None:
        decisions.outcome = outcome
    plan = BundlePlan(view, decisions)
    _print_summary(plan)
    if not yes:
        confirm("approve this for export?", OwnTraceError(
            "not approved", f"review it in the browser with `owntrace review {view.meta.id}`, or pass --yes in scripts"))
    with ProgressBar("hashing") as bar:
        result = approval.approve_plan(plan, progress=bar)
    typer.echo(f"approved {len(result.items)} files at {result.approved_at}. next: owntrace export {view.meta.id} --out PATH")


def export(
    session: SessionRef = "latest",
    out: Annotated[Path, typer.Option("--out", "-o", help="where to write the bundle (a new path)")] = ...,  # type: ignore[assignment]  # typer: required
    fmt: Annotated[str, typer.Option("--format", "-f", help="dir, zip or age; agentnet or osworld add those "
                                      "trajectory files (a directory, or age with --to)")] = "dir",
    to: Annotated[list[str] | None, typer.Option("--to", "-r", help="age recipient (age1...) for --format age; repeatable")] = None,
    study: Annotated[str | None, typer.Option("--study", help="donate to this joined study (encrypted to its keys)")] = None,
    passphrase_file: PassphraseFile = None,
) -> None:
    """Export an approved session as a signed bundle."""
    trajectory = fmt if fmt in TRAJECTORY_FORMATS else None
    if trajectory:
        fmt = "age" if to else "dir"
    elif fmt not in FORMATS:
        raise OwnTraceError(f"unknown format {fmt!r}", "use dir, zip, age, agentnet or osworld")
    root = paths.home()
    s = retention.resolve_kept(root, session, say_retention)
    user = unlock(passphrase_file)
    with ProgressBar("exporting") as bar:
        if study:
            from recorder.study.donate import donate

            if to or fmt != "dir":
                raise OwnTraceError("--study sets the container and recipients itself",
                                    "leave out --to, and --format unless it is agentnet or osworld")
            result = donate(root, s, user, study, out, progress=bar, trajectory=trajectory)
        else:
            result = export_session(root, s, user, out, fmt, to or (), progress=bar, trajectory=trajectory)
    typer.echo(f"exported {result.files} files ({human_bytes(result.bytes)}) to {result.path} [{result.fmt}]")
    signer_key = result.manifest["signer"]["public_key"]
    fp = trust.key_fingerprint(signer_key)
    typer.echo(f"bundle {result.bundle_id}, signed by {fp} (ed25519:{signer_key})")
    typer.echo(f"the recipient checks it with: owntrace verify {result.path}" + (" --identity FILE" if result.fmt == "age" else "")
               + f" --signer {fp}  (give them the fingerprint another way than the bundle)")


def verify(
    bundle: Annotated[Path, typer.Argument(help="a bundle: directory, .zip or .age file")],
    identity: Annotated[list[Path] | None, typer.Option("--identity", "-i", help="age identity file to decrypt an .age bundle")] = None,
    signer: Annotated[str | None, typer.Option("--signer", help="require this signer: its Ed25519 public key (hex) "
                                                "or SHA256: fingerprint, as the sender gave it to you")] = None,
    trust_it: Annotated[bool, typer.Option("--trust", help="trust the signer from now on, once the bundle checks out "
                                           "(compare its fingerprint with the sender's first)")] = False,
) -> None:
    """Check who signed a bundle, its signature and every file's hash; exits non-zero if anything is off."""
    idents = [keys.read_identity_file(f) for f in identity or []]
    result = verify_bundle(bundle, idents, signer=signer)
    root = paths.home()
    key = result.signer if not result.malformed else None
    trusted = trust.load(root).get(key) if key else None
    # the first line says who signed it, and whether that is a key the person checked
    if key is None:
        typer.echo("signer   unknown: the bundle has no valid manifest")
    elif signer is not None:
        typer.echo(f"signer   {trust.key_fingerprint(key)}  "
                   + ("the key you gave (--signer)" if trust.matches(key, signer) else "NOT the key you gave (--signer)"))
    elif trusted is not None:
        typer.echo(f"signer   {trusted.fingerprint}  a key you trusted on {trusted.since}")
    else:
        typer.echo(f"signer   {trust.key_fingerprint(key)}  a key you have NOT given (--signer) or trusted")
    for line in result.summary():
        typer.echo(line)
    if result.problems:
        for p in result.problems:
            typer.echo(f"FAIL {p}", err=True)
        if result.malformed:
            typer.echo("the bundle has no valid manifest: it cannot be checked (malformed)", err=True)
            raise typer.Exit(MalformedInput.exit_code)
        typer.echo(f"the bundle does not match what was signed ({len(result.problems)} problem(s))", err=True)
        raise typer.Exit(Tampered.exit_code)
    assert key is not None
    fp = trust.key_fingerprint(key)
    if trust_it:
        trust.add(root, key)
        typer.echo(f"trusted {fp} from now on (`owntrace trust list`)")
    elif signer is None and trusted is None:
        typer.echo(f"SELF-CONSISTENT ONLY: every file matches a manifest signed by {fp}, but anyone can sign a bundle "
                   "with a key of their own, and this one is not a key you gave or trusted", err=True)
        typer.echo(f"hint: compare {fp} with the fingerprint the sender gave you, then run "
                   f"`owntrace verify {bundle} --signer {fp} --trust`", err=True)
        raise typer.Exit(UNKNOWN_SIGNER_EXIT)
    typer.echo(f"OK: signed by {fp}, a key you " + ("gave" if signer is not None else "trust")
               + "; every file matches the manifest")


UNKNOWN_SIGNER_EXIT = 4  # intact, but nothing says who made it (docs/hardening.md)


def trust_list() -> None:
    """The signers `owntrace verify` accepts without --signer."""
    signers = trust.load(paths.home())
    if not signers:
        typer.echo("you trust no signer yet: `owntrace verify BUNDLE --signer KEY --trust` adds one")
    for t in signers.values():
        typer.echo(f"{t.fingerprint}  ed25519:{t.key}  (since {t.since})")


def trust_add(key: Annotated[str, typer.Argument(help="the signer's Ed25519 public key, 64 hex digits")]) -> None:
    """Trust a signer's key, as its owner gave it to you."""
    t = trust.add(paths.home(), key)
    typer.echo(f"trusted {t.fingerprint}")


def trust_remove(key: Annotated[str, typer.Argument(help="the key (hex) or its SHA256: fingerprint")]) -> None:
    """Stop trusting a signer."""
    t = trust.remove(paths.home(), key)
    typer.echo(f"no longer trusted: {t.fingerprint}")


def delete(
    session: SessionRef,
    raw_only: Annotated[bool, typer.Option("--raw-only", help="keep the redacted view, remove the raw capture")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask")] = False,
) -> None:
    """Delete a session for good: its key is destroyed first, so nothing left can be decrypted."""
    s = retention.resolve_kept(paths.home(), session, say_retention)
    what = "the raw capture of" if raw_only else "everything of"
    if not yes:
        confirm(f"delete {what} session {s.id} ({human_bytes(s.size_bytes())})? this cannot be undone",
                OwnTraceError("nothing deleted", "pass --yes in scripts"))
    if raw_only:
        redacted_view.delete_raw(s)
    else:
        retention.delete_session(s)
    typer.echo(f"deleted {what} session {s.id}" + ("; the redacted view stays reviewable" if raw_only else ""))


def register(app: typer.Typer) -> None:
    app.command()(review)
    app.command("approve")(approve_cmd)
    app.command()(export)
    app.command()(verify)
    trust_app = typer.Typer(help="The signers `owntrace verify` trusts without --signer.", no_args_is_help=True)
    trust_app.command("list")(trust_list)
    trust_app.command("add")(trust_add)
    trust_app.command("remove")(trust_remove)
    app.add_typer(trust_app, name="trust")
    app.command()(delete)
