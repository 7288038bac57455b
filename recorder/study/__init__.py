"""Data-donation studies: signed study profiles, consent, capture limits, donation, ingest, withdrawal.

The recorder and the redaction call `policy_for` to limit a recording to what the
participant consented to; it needs no passphrase (recording holds public keys only).
"""

from __future__ import annotations

from pathlib import Path

from recorder.capture.policy import CapturePolicy
from recorder.study.consent import joined_profile


def policy_for(root: Path, study_id: str) -> CapturePolicy:
    """The capture limits of a joined study, after re-verifying its stored, signed profile."""
    _, profile = joined_profile(root, study_id)
    return profile.policy()
