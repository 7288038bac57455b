"""Issue 14: a bounded, seeded fuzz run over every parser of outside input. Each parser gets
CASES mutations of a real seed (see tests/support/fuzz_kit.py for the outcomes); any traceback, hang or
changed content accepted by an integrity check fails the test. `pytest -s` prints the counts
(they are in BENCHMARKS.md, Hostile input)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from pyrage import x25519

from recorder.export.bundle import export_session
from recorder.redact.view import RedactedView
from recorder.review import approval
from recorder.store import session as store
from recorder.study import consent
from tests.support import fuzz_kit
from tests.support.review_kit import standard_session
from tests.support.study import donation

SEED = 14
CASES = {"dir": 200, "zip": 300, "age": 300, "donation": 200, "profile": 300, "segment": 300, "config": 300}
DEADLINE_S = 30.0  # per case; the slowest legitimate case takes well under a second


@pytest.fixture
def job(home: Path, user, res, joined, tmp_path: Path) -> dict:
    s = standard_session(home)
    approval.approve(RedactedView(s, user))
    reader = x25519.Identity.generate()
    export_session(home, s, user, tmp_path / "b")
    export_session(home, s, user, tmp_path / "b.zip", fmt="zip")
    export_session(home, s, user, tmp_path / "b.age", fmt="age", recipients=[reader.to_public()])
    d = donation(home, user, tmp_path, name="d.age")
    participant = consent.study_signing_key(home, "typing-study", user)
    session = store.resolve(home, s.id)
    return {
        "seed": SEED, "identity": str(reader), "dir": str(tmp_path / "b"), "zip": str(tmp_path / "b.zip"),
        "age": str(tmp_path / "b.age"), "donation": str(d), "study_identity": str(res.keys.identity_path),
        "study_recipient": res.keys.recipient,
        "participant_key": participant.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()).hex(),
        "profile": str(res.write(tmp_path / "study.toml", joined)),
        "session": str(session.path), "session_key": str(session.key(user)),
    }


@pytest.mark.parametrize("parser", sorted(CASES))
def test_fuzz(parser: str, job: dict) -> None:
    tally = fuzz_kit.fuzz(parser, job, CASES[parser], DEADLINE_S)
    row = tally.row()
    print(f"\n{parser:>9}: " + ", ".join(f"{k} {v}" for k, v in row.items()))
    assert sum(row.values()) == CASES[parser]
    assert row["clean-error"] > 0  # the mutations do reach the parser
    assert not tally.defects, "\n".join(tally.defects[:10])
