"""Joining a study: what the participant agreed to, and the pseudonym they donate under.

$OWNTRACE_HOME/studies/<study-id>/
  profile.toml       the signed profile as agreed to (a public document, signature embedded)
  study.json         content-free facts the recorder reads without a passphrase: version,
                     profile hash, signer key, the categories consented to, when
  consent.json.age   the consent record, sealed to the user's identity
  signing.key.age    the per-study Ed25519 key, sealed to the user's identity

The participant id is derived from the per-study public key, so a withdrawal notice
authenticates itself and donations to two studies share neither key nor id.
Joining needs only the user's public key; updating a joined study needs the identity unlocked.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from recorder import limits as bounded
from recorder.atomic import shred, write_atomic
from recorder.errors import CorruptFile, NotFound, OwnTraceError
from recorder.keys import UnlockedIdentity, fingerprint, public_raw, seal, unseal, user_recipient
from recorder.study import profile as prof
from recorder.study.profile import Collect, StudyProfile
from recorder.timestamps import utc_now

STUDIES_DIR = "studies"


def study_dir(root: Path, study_id: str) -> Path:
    if not prof.ID_RE.match(study_id):
        raise OwnTraceError(f"{study_id!r} is not a study id", "see `owntrace study list` for the studies you joined")
    return root / STUDIES_DIR / study_id


def participant_id(public_key: bytes) -> str:
    return "p-" + hashlib.sha256(b"owntrace-participant/v1\n" + public_key).hexdigest()[:32]


@dataclass(frozen=True)
class ConsentRecord:
    """consent.json: travels inside every donation; its hash is the manifest's consent_sha256."""

    study_id: str
    study_version: int
    profile_sha256: str
    consent_text_sha256: str
    choices: dict[str, Any]  # the [collect] categories consented to
    consented_at: str
    participant_id: str
    participant_key: str  # hex Ed25519 public key that signs this participant's donations
    format: int = 1

    def to_bytes(self) -> bytes:
        return (json.dumps(asdict(self), indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> ConsentRecord:
        try:
            obj = bounded.loads(data)
            record = cls(**obj)
            types = {name: int if name in ("format", "study_version") else dict if name == "choices" else str
                     for name in cls.__dataclass_fields__}
            if record.format != 1 or not all(type(getattr(record, n)) is t for n, t in types.items()):
                raise ValueError
            bytes.fromhex(record.participant_key)
            return record
        except (ValueError, TypeError, AttributeError):
            raise CorruptFile("consent.json is not a format 1 consent record") from None


@dataclass(frozen=True)
class StudyState:
    """study.json: no recorded content and no pseudonym, only what capture limits need."""

    study_id: str
    version: int
    title: str
    profile_sha256: str
    signer: str  # hex Ed25519 public key of the researcher
    accepted: dict[str, Any]
    joined_at: str
    withdrawal_contact: str = ""

    @property
    def collect(self) -> Collect:
        a = self.accepted
        return Collect(a["key_text"], a["screenshots"], a["window_titles"], tuple(a["apps_allowed"]), tuple(a["apps_excluded"]))


def load_state(root: Path, study_id: str) -> StudyState | None:
    path = study_dir(root, study_id) / "study.json"
    try:
        return StudyState(**json.loads(path.read_text()))
    except FileNotFoundError:
        return None
    except (ValueError, TypeError):
        raise CorruptFile(f"{path} is corrupt", f"leave the study (`owntrace study leave {study_id}`) and join again") from None


def require_state(root: Path, study_id: str) -> StudyState:
    state = load_state(root, study_id)
    if state is None:
        raise NotFound(f"you have not joined study {study_id!r}", "join it first: `owntrace study join PROFILE`")
    return state


def joined_profile(root: Path, study_id: str) -> tuple[StudyState, StudyProfile]:
    """The profile consented to, re-verified: signature, hash, signer, and no more than accepted."""
    state = require_state(root, study_id)
    p = prof.load(study_dir(root, study_id) / "profile.toml")
    sig = p.verify()
    if p.id != study_id or p.sha256 != state.profile_sha256 or sig.public_key.hex() != state.signer:
        raise CorruptFile(
            f"the stored profile of study {study_id!r} is not the one you consented to",
            f"leave the study (`owntrace study leave {study_id}`) and join again",
        )
    more = p.collect.more_than(state.collect)
    if more:
        raise OwnTraceError(f"study {study_id!r} asks for more than you accepted: {'; '.join(more)}", "join it again to re-consent")
    return state, p


@dataclass(frozen=True)
class JoinCheck:
    """What joining `profile` would do, decided before the participant is asked."""

    profile: StudyProfile
    fingerprint: str
    previous: StudyState | None  # set when this updates a study already joined


def check_join(root: Path, profile: StudyProfile, *, reconsent: bool = False,
               expect_fingerprint: str | None = None) -> JoinCheck:
    """Refuses what must not be joined: an unsigned or tampered profile, one signed by another key
    than `expect_fingerprint` (when given) or than the version joined before, an older or
    silently changed version, or one asking for more without `reconsent`."""
    sig = profile.verify()
    if expect_fingerprint and expect_fingerprint != sig.fingerprint:
        raise OwnTraceError(f"the profile is signed by {sig.fingerprint}, not {expect_fingerprint}", "refused: ask the researcher")
    prev = load_state(root, profile.id)
    if prev is not None:
        was = fingerprint(bytes.fromhex(prev.signer))
        if sig.public_key.hex() != prev.signer:
            raise OwnTraceError(
                f"study {profile.id!r} is now signed by a different key ({sig.fingerprint}, you joined one signed by {was})",
                "refused: confirm with the researcher; to start over, leave the study and join again",
            )
        if profile.version < prev.version:
            raise OwnTraceError(
                f"study {profile.id!r} version {profile.version} is older than version {prev.version} you joined",
                "refused: use the newest profile from the researcher",
            )
        if profile.version == prev.version:
            if profile.sha256 == prev.profile_sha256:
                raise OwnTraceError(f"you already joined study {profile.id!r} version {profile.version}", "nothing to do")
            raise OwnTraceError(
                f"study {profile.id!r} version {profile.version} differs from the one you joined under the same version",
                "refused: a changed profile must carry a new version number",
            )
        more = profile.collect.more_than(prev.collect)
        if more and not reconsent:
            raise OwnTraceError(
                f"study {profile.id!r} version {profile.version} asks for more than you accepted: {'; '.join(more)}",
                "to agree to it, run `owntrace study join PROFILE --reconsent`",
            )
    return JoinCheck(profile, sig.fingerprint, prev)


def join(root: Path, profile: StudyProfile, *, reconsent: bool = False, user: UnlockedIdentity | None = None,
         expect_fingerprint: str | None = None) -> ConsentRecord:
    """Record consent to `profile` (after the participant confirmed what check_join showed),
    with every check of check_join applied again.

    A first join creates the per-study key; an update keeps it (same pseudonym) and needs `user`.
    """
    check = check_join(root, profile, reconsent=reconsent, expect_fingerprint=expect_fingerprint)
    folder = study_dir(root, profile.id)
    recipient = user_recipient(root)
    if check.previous is None:
        key = Ed25519PrivateKey.generate()
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_atomic(folder / "signing.key.age", seal(key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()), [recipient]))
        public = public_raw(key)
    else:
        if user is None:
            raise OwnTraceError("updating a joined study needs your identity", "unlock it with your passphrase")
        public = public_raw(study_signing_key(root, profile.id, user))
    now = utc_now("milliseconds")
    record = ConsentRecord(
        study_id=profile.id,
        study_version=profile.version,
        profile_sha256=profile.sha256,
        consent_text_sha256=profile.consent_sha256,
        choices=profile.collect.to_obj(),
        consented_at=now,
        participant_id=participant_id(public),
        participant_key=public.hex(),
    )
    write_atomic(folder / "consent.json.age", seal(record.to_bytes(), [recipient]))
    write_atomic(folder / "profile.toml", prof.to_toml(profile).encode())
    state = StudyState(profile.id, profile.version, profile.title, profile.sha256, profile.verify().public_key.hex(),
                       profile.collect.to_obj(), now, profile.withdrawal_contact)
    write_atomic(folder / "study.json", json.dumps(asdict(state), indent=2).encode())
    return record


def load_consent(root: Path, study_id: str, user: UnlockedIdentity) -> bytes:
    """The sealed consent record's exact bytes (they are what the donation's hash covers)."""
    require_state(root, study_id)
    return unseal((study_dir(root, study_id) / "consent.json.age").read_bytes(), [user.identity], f"study {study_id}: consent.json.age")


def study_signing_key(root: Path, study_id: str, user: UnlockedIdentity) -> Ed25519PrivateKey:
    path = study_dir(root, study_id) / "signing.key.age"
    try:
        blob = path.read_bytes()
    except FileNotFoundError:
        raise NotFound(f"study {study_id!r} has no signing key", "it was withdrawn; join the study again to take part") from None
    return Ed25519PrivateKey.from_private_bytes(unseal(blob, [user.identity], f"study {study_id}: signing.key.age"))


def joined(root: Path) -> list[StudyState]:
    base = root / STUDIES_DIR
    if not base.is_dir():
        return []
    states = (load_state(root, p.name) for p in sorted(base.iterdir()) if p.is_dir() and prof.ID_RE.match(p.name))
    return [s for s in states if s is not None]


def forget(root: Path, study_id: str) -> None:
    """Crypto-shred a study's local data: keys overwritten and removed first, then the folder."""
    folder = study_dir(root, study_id)
    for name in ("signing.key.age", "consent.json.age"):
        shred(folder / name)
    shutil.rmtree(folder, ignore_errors=True)
