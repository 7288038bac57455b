"""Data-donation studies: signed study profiles, consent, capture limits, donation, ingest, withdrawal.

Callers of the recorder (`record_options`) and the redaction call `policy_for` to limit a
recording to what the participant consented to; it needs no passphrase (recording holds public
keys only). Capture never imports this package: it is handed the policy.
"""

from __future__ import annotations

from pathlib import Path

from recorder.capture.policy import CapturePolicy
from recorder.capture.recording import RecordOptions
from recorder.study.consent import joined_profile


def policy_for(root: Path, study_id: str) -> CapturePolicy:
    """The capture limits of a joined study, after re-verifying its stored, signed profile."""
    _, profile = joined_profile(root, study_id)
    return profile.policy()


def record_options(root: Path, *, name: str = "", task: str = "", study: str | None = None,
                   duration_s: float | None = None, backend: str | None = None, window: bool = False) -> RecordOptions:
    """RecordOptions for a recording, within a joined study's consented limits when `study` is given."""
    policy = policy_for(root, study) if study else None
    return RecordOptions(name=name, task=task, study=study, duration_s=duration_s, policy=policy, backend=backend,
                         window=window)
