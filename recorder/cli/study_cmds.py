"""`owntrace study ...`: the researcher's keygen, create, sign, ingest; the participant's join, leave, list."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from recorder import limits, paths
from recorder.cli.common import PassphraseFile, ProgressBar, confirm, unlock
from recorder.errors import OwnTraceError
from recorder.keys import user_recipient
from recorder.study import consent, withdraw
from recorder.study import keys as study_keys
from recorder.study import profile as prof

study_app = typer.Typer(help="Data-donation studies: researchers publish signed profiles; participants join, donate, leave.",
                        no_args_is_help=True)

Yes = Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation (for scripts)")]


def keygen(out: Annotated[Path, typer.Option("--out", help="folder for the keys")] = Path("study-keys")) -> None:
    """Researcher: create an age identity that receives donations and an Ed25519 key that signs profiles."""
    rk = study_keys.keygen(out)
    typer.echo(f"keys written to {rk.folder} (keep {study_keys.IDENTITY_FILE} and {study_keys.SIGNING_FILE} secret)")
    typer.echo(f"donation recipient:  {rk.recipient}")
    typer.echo(f"signing fingerprint: {rk.signing_fingerprint}  (publish it so participants can compare)")


def create(
    study_id: Annotated[str, typer.Option("--id", help="study id: lowercase letters, digits, . _ -")],
    title: Annotated[str, typer.Option(help="title shown to participants")],
    researcher: Annotated[str, typer.Option(help="researcher name and contact")],
    consent_file: Annotated[Path, typer.Option("--consent-file", help="text file with the consent text")],
    recipient: Annotated[list[str], typer.Option("--recipient", help="age recipient (age1...) donations are encrypted to; repeatable")],
    out: Annotated[Path, typer.Option("--out", help="where to write the profile TOML")],
    version: Annotated[int, typer.Option(help="profile version; raise it for every change")] = 1,
    key_text: Annotated[bool, typer.Option("--key-text/--no-key-text", help="collect the characters typed")] = False,
    screenshots: Annotated[bool, typer.Option("--screenshots/--no-screenshots", help="collect screenshots")] = True,
    window_titles: Annotated[bool, typer.Option("--window-titles/--no-window-titles", help="collect window titles")] = True,
    app: Annotated[list[str] | None, typer.Option("--app", help="record only this app (WM_CLASS); repeatable")] = None,
    exclude_app: Annotated[list[str] | None, typer.Option("--exclude-app", help="never record this app; repeatable")] = None,
    deny: Annotated[list[str] | None, typer.Option("--deny", help="extra term the redaction always removes; repeatable")] = None,
    retention_days: Annotated[int, typer.Option(help="how long donations are kept (0: not stated)")] = 0,
    withdrawal_contact: Annotated[str, typer.Option(help="where participants send withdrawal notices")] = "",
) -> None:
    """Researcher: write an unsigned study profile (then sign it with `owntrace study sign`)."""
    text = limits.read_text(consent_file, limits.TOML_MAX_BYTES, "consent text").strip()  # it goes into the profile
    draft = prof.StudyProfile(
        id=study_id, version=version, title=title, researcher=researcher, consent=text, recipients=tuple(recipient),
        collect=prof.Collect(key_text, screenshots, window_titles, tuple(app or ()), tuple(exclude_app or ())),
        extra_deny=tuple(deny or ()), retention_days=retention_days, withdrawal_contact=withdrawal_contact,
    )
    profile = prof.write_draft(out, draft)
    typer.echo(f"profile {profile.id} v{profile.version} written to {out}; sign it with `owntrace study sign {out} --key KEY`")


def sign(
    profile_path: Annotated[Path, typer.Argument(help="the profile TOML")],
    key: Annotated[Path, typer.Option("--key", help="the researcher's profile-signing.key")],
    detached: Annotated[bool, typer.Option("--detached", help="write PROFILE.sig instead of embedding the signature")] = False,
) -> None:
    """Researcher: sign a study profile (the signature embedded in it, or in a detached PROFILE.sig)."""
    profile, target = prof.sign_file(profile_path, key, detached=detached)
    typer.echo(f"signed {profile.id} v{profile.version} ({target}); signer fingerprint {profile.verify().fingerprint}")


def join(
    profile_path: Annotated[Path, typer.Argument(help="the signed study profile")],
    signature: Annotated[Path | None, typer.Option(help="detached signature file (default: PROFILE.sig if present)")] = None,
    expect_fingerprint: Annotated[str | None, typer.Option(help="refuse unless the signer has this fingerprint")] = None,
    reconsent: Annotated[bool, typer.Option("--reconsent", help="agree to a new version that asks for more")] = False,
    yes: Yes = False,
    passphrase_file: PassphraseFile = None,
) -> None:
    """Participant: verify a study's profile, read what it collects, and consent."""
    root = paths.home()
    user_recipient(root)  # an identity is needed to seal the consent record
    check = consent.check_join(root, prof.load(profile_path, signature), reconsent=reconsent,
                               expect_fingerprint=expect_fingerprint)
    p = check.profile
    typer.echo(f"study:       {p.title} ({p.id}, version {p.version})")
    typer.echo(f"researcher:  {p.researcher}")
    typer.echo(f"signed by:   {check.fingerprint}  (compare it with the one the researcher published)")
    typer.echo(f"retention:   {f'{p.retention_days} days' if p.retention_days else 'not stated'}")
    typer.echo(f"withdrawal:  {p.withdrawal_contact or 'not stated'} (`owntrace study leave {p.id}`)")
    typer.echo("\nconsent text:\n" + "\n".join("  " + line for line in p.consent.splitlines()))
    typer.echo("\nwhat will be collected while you record with --study " + p.id + ":")
    typer.echo("\n".join("  " + line for line in p.collect.describe()))
    if p.extra_deny:
        typer.echo(f"  always redacted:             {', '.join(p.extra_deny)}")
    typer.echo("nothing is sent: you review every recording and donate it yourself with `owntrace export SESSION --study " + p.id + "`")
    if not yes:
        confirm("\ndo you consent?", OwnTraceError("consent not given; nothing was recorded", "run the command again to join"))
    user = unlock(passphrase_file) if check.previous else None
    record = consent.join(root, p, reconsent=reconsent, user=user, expect_fingerprint=expect_fingerprint)
    typer.echo(f"joined {p.id} v{p.version}; your pseudonymous participant id for this study: {record.participant_id}")


def leave(
    study_id: Annotated[str, typer.Argument(help="the study to withdraw from")],
    out: Annotated[Path | None, typer.Option("--out", help="where to write the withdrawal notice")] = None,
    delete_sessions: Annotated[bool, typer.Option("--delete-sessions", help="also delete the sessions recorded for it")] = False,
    yes: Yes = False,
    passphrase_file: PassphraseFile = None,
) -> None:
    """Participant: withdraw; writes a signed notice to send, then deletes the study's keys and consent."""
    root = paths.home()
    state = consent.require_state(root, study_id)
    if not yes:
        confirm(f"withdraw from {state.title} ({study_id}) and delete its keys{' and sessions' if delete_sessions else ''}?",
                 OwnTraceError("not withdrawn; nothing was changed", "run the command again to withdraw"))
    target = out or Path(f"withdrawal-{study_id}.json")
    notice = withdraw.leave(root, study_id, unlock(passphrase_file), target, delete_sessions=delete_sessions)
    typer.echo(f"withdrawn from {study_id}; its keys and consent record are deleted")
    kept = withdraw.study_sessions(root, study_id)
    if kept:
        typer.echo(f"{len(kept)} session(s) recorded for it stay yours, and can no longer be donated: "
                   f"delete them with `owntrace delete ID` ({', '.join(s.id for s in kept)})")
    typer.echo(f"send {target} to {notice.withdrawal_contact or 'the researcher'}: it asks them to delete the data of {notice.participant_id}")


def list_studies() -> None:
    """Participant: the studies you joined and what each may collect."""
    states = consent.joined(paths.home())
    if not states:
        typer.echo("you have joined no study")
    for s in states:
        typer.echo(f"{s.study_id}  v{s.version}  {s.title}  (joined {s.joined_at})")
        typer.echo("\n".join("    " + line for line in s.collect.describe()))


def ingest(
    bundles: Annotated[list[Path], typer.Argument(help="donation files (.age)")],
    identity: Annotated[Path, typer.Option("--identity", help="the study's donations.key")],
    profile: Annotated[list[Path], typer.Option("--profile", help="signed profile of the study (each version accepted); repeatable")],
    out: Annotated[Path, typer.Option("--out", help="dataset folder (episodes.parquet, steps.parquet, ingest-report.json); "
                                                     "an existing dataset there is added to")],
    withdrawals: Annotated[list[Path] | None, typer.Option("--withdrawals", help="withdrawal notices to honour; repeatable")] = None,
    replace: Annotated[bool, typer.Option("--replace", help="write the dataset in --out afresh, forgetting its rows "
                                                            "and the donations it has seen")] = False,
) -> None:
    """Researcher: decrypt and verify donations, drop withdrawn participants, add them to a Parquet dataset."""
    from recorder.study import ingest as ingest_mod  # pyarrow: loaded only by the command that needs it

    profiles = [prof.load(p) for p in profile]
    notices = [withdraw.read_notice(w) for w in withdrawals or ()]
    with ProgressBar("ingesting") as bar:
        report = ingest_mod.ingest(bundles, ingest_mod.read_identity(identity), profiles, out, notices, progress=bar,
                                   replace=replace)
    if report.carried or report.removed:
        typer.echo(f"{out} already held {report.carried + report.removed} episode(s): {report.carried} kept"
                   + (f", {report.removed} of withdrawn participants removed" if report.removed else ""))
    typer.echo(f"{report.accepted} donation(s) accepted: {report.accepted} episode(s), {report.steps} step(s) added to {out}")
    for r in report.rejected:
        typer.echo(f"rejected {r.path}: {r.reason}")
    if report.withdrawn:
        typer.echo(f"dropped {report.withdrawn} donation(s) of withdrawn participants")
    if not report.accepted:
        raise ingest_mod.NothingAccepted(
            f"none of the {len(bundles)} donation(s) was accepted",
            f"the dataset in {out} keeps what it held; the reasons are above and in {out}/ingest-report.json")


def register(app: typer.Typer) -> None:
    for fn in (keygen, create, sign, join, leave, ingest):
        study_app.command()(fn)
    study_app.command("list")(list_studies)
    app.add_typer(study_app, name="study")
