"""A researcher's keys and signed study profiles, for the study tests and benchmarks."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from recorder.study import keys as study_keys
from recorder.study import profile as prof

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
