"""The participant's donation: their approved bundle, bound to the study and their consent.

A donation is the ordinary export with three differences: consent.json rides inside (its
hash in the manifest's `study` entry next to the profile hash), the manifest is signed with
the per-study pseudonymous key instead of the user's own (so two studies cannot link a
person's donations by key), and the tree is encrypted to the study's recipients only.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

from recorder.errors import OwnTraceError
from recorder.keys import UnlockedIdentity, parse_recipient
from recorder.progress import Progress
from recorder.store.session import Session
from recorder.study.consent import joined_profile, load_consent, study_signing_key
from recorder.timestamps import parse_utc

if TYPE_CHECKING:
    from recorder.export.bundle import ExportResult


def donate(
    root: Path,
    session: Session,
    user: UnlockedIdentity,
    study_id: str,
    out: Path,
    progress: Progress | None = None,
    trajectory: str | None = None,
) -> ExportResult:
    """Export `session` as a donation to `study_id` (with `trajectory`'s files, "agentnet" or
    "osworld", when given); returns what export_session returns."""
    from recorder.export.bundle import export_session

    if session.meta.study != study_id:
        recorded = f"under study {session.meta.study!r}" if session.meta.study else "outside any study"
        raise OwnTraceError(
            f"session {session.id} was recorded {recorded}, not under {study_id!r}",
            f"only recordings made with `owntrace record --study {study_id}` carry its capture limits",
        )
    state, profile = joined_profile(root, study_id)  # re-verified; refuses if it now asks for more
    if parse_utc(session.meta.started_at) < parse_utc(state.joined_at):
        # its capture limits were those of an earlier consent: it cannot be labelled with this one
        raise OwnTraceError(
            f"session {session.id} was recorded before your consent to version {state.version} of {study_id!r}",
            f"record a new session with `owntrace record --study {study_id}`",
        )
    consent_bytes = load_consent(root, study_id, user)
    return export_session(
        root,
        session,
        user,
        Path(out),
        "age",
        [parse_recipient(r) for r in profile.recipients],
        extra_files={"consent.json": consent_bytes},
        manifest_extra={
            "study": {
                "id": study_id,
                "config_sha256": profile.sha256,
                "consent_sha256": hashlib.sha256(consent_bytes).hexdigest(),
            }
        },
        signing_key=study_signing_key(root, study_id, user),
        progress=progress,
        trajectory=trajectory,
    )
