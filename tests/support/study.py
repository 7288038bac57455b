"""A researcher's keys and signed study profiles, for the study tests and benchmarks."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import pyrage
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from recorder.export.verify import read_bundle
from recorder.keys import parse_recipient
from recorder.redact.view import RedactedView
from recorder.review.approval import approve
from recorder.store import session as store
from recorder.study import ingest
from recorder.study import keys as study_keys
from recorder.study import profile as prof
from recorder.study.donate import donate
from tests.support.fuzz_kit import tar_of
from tests.support.review_kit import standard_session

CONSENT = "I agree that my recordings of the study task are used for research.\nI can withdraw at any time."


@dataclass
class Researcher:
    keys: study_keys.ResearcherKeys

    @property
    def signing_key(self) -> Ed25519PrivateKey:
        return study_keys.load_signing_key(self.keys.signing_key_path)

    def profile(self, study_id: str = "typing-study", version: int = 1, **collect) -> prof.StudyProfile:
        return prof.StudyProfile(
            id=study_id,
            version=version,
            title="How people type",
            researcher="Dr Ada Example <ada@uni.example>",
            consent=CONSENT,
            recipients=(self.keys.recipient,),
            collect=prof.Collect(**{"key_text": False, **collect}),
            extra_deny=("Project Nightjar",),
            retention_days=365,
            withdrawal_contact="withdraw@uni.example",
        )

    def signed(self, study_id: str = "typing-study", version: int = 1, **collect) -> prof.StudyProfile:
        return self.profile(study_id, version, **collect).signed(self.signing_key)

    def write(self, path: Path, p: prof.StudyProfile) -> Path:
        path.write_text(prof.to_toml(p))
        return path


def researcher(folder: Path) -> Researcher:
    return Researcher(study_keys.keygen(folder))


def with_collect(p: prof.StudyProfile, **changes) -> prof.StudyProfile:
    return replace(p, collect=replace(p.collect, **changes), signature=None)


def identity_and_recipient(res) -> tuple[Path, str]:
    return res.keys.identity_path, res.keys.recipient


def rewrite(src: Path, dst: Path, identity: Path, recipient: str, edit) -> Path:
    """Decrypt a donation, let `edit` change its files, and encrypt it again (an attacker's copy)."""
    _, files = read_bundle(src, [ingest.read_identity(identity)])
    edit(files)
    dst.write_bytes(pyrage.encrypt(tar_of(files), [parse_recipient(recipient)]))
    return dst


def approved_session(home: Path, user, study: str | None) -> store.Session:
    s = standard_session(home)
    s.meta.study = study
    s.save_meta()
    approve(RedactedView(s, user))
    return store.resolve(home, s.id)


def donation(home: Path, user, tmp_path: Path, study: str = "typing-study", name: str = "d.age") -> Path:
    out = tmp_path / name
    donate(home, approved_session(home, user, study), user, study, out)
    return out
