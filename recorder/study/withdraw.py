"""Leaving a study: a signed withdrawal notice for the researcher, then the local study data shredded.

The notice names the pseudonymous participant id and carries the per-study public key it is
derived from, signed by that key: the researcher can check it without knowing who sent it,
and nobody without the key can withdraw someone else.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from recorder import limits as bounded
from recorder.atomic import write_atomic
from recorder.errors import OwnTraceError
from recorder.keys import UnlockedIdentity, public_raw
from recorder.store.session import Session, list_sessions
from recorder.study import consent
from recorder.timestamps import utc_now

DOMAIN = b"owntrace-withdrawal/v1\n"
NOTICE_MAX = 64 * 1024  # a notice is a few hundred bytes


@dataclass(frozen=True)
class WithdrawalNotice:
    study_id: str
    participant_id: str
    participant_key: str  # hex Ed25519 public key
    withdrawn_at: str
    withdrawal_contact: str  # where the participant should send this file
    format: int = 1

    def signed_bytes(self) -> bytes:
        return DOMAIN + json.dumps(asdict(self), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def leave(root: Path, study_id: str, user: UnlockedIdentity, out: Path, *, delete_sessions: bool = False) -> WithdrawalNotice:
    """Write the signed notice to `out`, then crypto-shred the study's keys and consent record
    (and, with `delete_sessions`, every session recorded for the study)."""
    state = consent.require_state(root, study_id)
    key = consent.study_signing_key(root, study_id, user)
    public = public_raw(key)
    notice = WithdrawalNotice(
        study_id=study_id,
        participant_id=consent.participant_id(public),
        participant_key=public.hex(),
        withdrawn_at=utc_now("milliseconds"),
        withdrawal_contact=state.withdrawal_contact,
    )
    body = {"notice": asdict(notice), "signature": key.sign(notice.signed_bytes()).hex()}
    write_atomic(Path(out), (json.dumps(body, indent=2, ensure_ascii=False) + "\n").encode(), mode=0o644)
    consent.forget(root, study_id)
    if delete_sessions:
        for session in study_sessions(root, study_id):
            session.destroy()
    return notice


def study_sessions(root: Path, study_id: str) -> list[Session]:
    return [s for s in list_sessions(root) if s.meta.study == study_id]


def read_notice(path: Path) -> WithdrawalNotice:
    """A withdrawal notice whose signature and participant id check out, or a one-line error."""
    data = bounded.read_file(path, NOTICE_MAX, "withdrawal notice")
    try:
        body = bounded.loads(data)
        notice = WithdrawalNotice(**body["notice"])
        signature = bytes.fromhex(body["signature"])
        public = bytes.fromhex(notice.participant_key)
    except (ValueError, TypeError, KeyError, AttributeError):
        raise OwnTraceError(f"{path} is not an OwnTrace withdrawal notice") from None
    if notice.format != 1 or consent.participant_id(public) != notice.participant_id:
        raise OwnTraceError(f"withdrawal notice {path}: the participant id does not match its key")
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, notice.signed_bytes())
    except (InvalidSignature, ValueError):
        raise OwnTraceError(f"withdrawal notice {path}: the signature does not verify (tampered or forged)") from None
    return notice
