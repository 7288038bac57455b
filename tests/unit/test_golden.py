"""Frozen format vectors (tests/golden/): today's readers read them, and the writers that are
deterministic given fixed keys, clock and ids reproduce them byte for byte. A failure here is a
format change: make it knowingly and regenerate with tests/golden/make.py."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from recorder.export.bundle import sign_manifest
from recorder.export.verify import verify_bundle
from recorder.keys import public_hex
from recorder.redact.session import redact_session
from recorder.redact.view import JOURNAL, REPORT, RedactedView
from recorder.review.decisions import Decisions
from recorder.review.plan import BundlePlan
from recorder.store.records import State
from recorder.store.session import Session
from recorder.study import profile as prof
from redaction.report import Report
from tests.golden import make

GOLDEN = make.GOLDEN


@pytest.fixture(scope="module")
def golden_user():
    return make.user()


@pytest.fixture(scope="module")
def session() -> Session:
    return Session.load(GOLDEN / "session")


def test_the_vectors_stay_tiny() -> None:
    vectors = [p for p in GOLDEN.rglob("*") if p.is_file() and p.suffix != ".py" and "__pycache__" not in p.parts]
    # about 10 KB, plus 27 KB for the search index (a serialized SQLite database, sealed)
    assert len(vectors) == 16 and sum(p.stat().st_size for p in vectors) < 40_000


def test_session_segments_read_as_the_recorded_events(session: Session, golden_user) -> None:
    m = session.meta
    assert (m.id, m.state, m.segments, m.events, m.frames) == (make.SESSION_ID, State.REDACTED, 2, len(make.EVENTS), 0)
    key = session.key(golden_user)
    assert list(session.events(key)) == make.EVENTS
    assert session.task(key) == make.TASK


def test_stock_age_opens_a_segment_with_the_identity(session: Session) -> None:
    def age_decrypt(identity: bytes, path: Path) -> bytes:
        return subprocess.run(["age", "-d", "-i", "/dev/stdin", str(path)], input=identity, capture_output=True,
                              check=True).stdout

    session_key = age_decrypt((GOLDEN / "user.key").read_bytes(), GOLDEN / "session" / "key.age")
    first = age_decrypt(session_key, GOLDEN / "session" / "journal" / "000001.jsonl.age")
    assert first.decode().splitlines()[0] == make.EVENTS[0].to_json()


def test_the_session_writer_reproduces_segments_and_session_json(session: Session, golden_user, tmp_path: Path) -> None:
    key = session.key(golden_user)
    written = make.write_raw_session(tmp_path / "s", key, golden_user.recipient)
    assert [p.name for p in written.segment_files()] == [p.name for p in session.segment_files()]
    for seg in session.segment_files():
        rel = f"journal/{seg.name}"
        assert written.read_sealed(key, rel) == session.read_sealed(key, rel)
    written.set_state(State.REDACTED)
    assert (written.path / "session.json").read_bytes() == (session.path / "session.json").read_bytes()


def test_the_redacted_view_reads_with_todays_readers(session: Session, golden_user) -> None:
    view = RedactedView(session, golden_user)
    assert [s.action.type for s in view.steps] == ["click", "type", "key"]
    assert view.steps[1].action.text == "<DENY> ok" and view.steps[0].window["title"] == "<DENY> notes - xterm"
    assert not any("Nightjar" in e.to_json() for e in view.events) and len(view.events) == len(make.EVENTS)
    assert [(f["item"], f["entity"]) for f in view.findings] == [("typed:4", "DENY"), ("title:0", "DENY")]
    raw = session.read_sealed(view.key, REPORT)
    report = Report.from_json(raw)
    assert report.counts == {"DENY": 2} and report.withheld == [] and report.created_at == make.CLOCK
    assert report.to_json() == raw


def test_the_redaction_pass_reproduces_the_view(session: Session, golden_user, tmp_path: Path) -> None:
    copy = tmp_path / "session"
    shutil.copytree(session.path, copy, ignore=shutil.ignore_patterns("redacted"))
    with make.fixed_clock():
        redact_session(tmp_path, Session.load(copy), golden_user, detector=make.detector())
    again, key = Session.load(copy), session.key(golden_user)
    assert again.read_sealed(key, JOURNAL) == session.read_sealed(key, JOURNAL)
    produced, frozen = (Report.from_json(s.read_sealed(key, REPORT)) for s in (again, session))
    produced.engine["ocr"] = frozen.engine["ocr"]  # names the installed tesseract, not the format
    assert produced.to_json() == frozen.to_json()
    assert (copy / "session.json").read_bytes() == (session.path / "session.json").read_bytes()


def test_the_bundle_verifies_and_the_plan_and_signature_are_reproduced(session: Session, golden_user) -> None:
    bundle, signer = GOLDEN / "bundle", (GOLDEN / "bundle.pub").read_text().strip()
    result = verify_bundle(bundle, signer=signer)
    assert result.ok, result.problems
    assert sorted(result.files) == ["episode.json", "manifest.json", "manifest.sig", "steps.jsonl"]
    items = {path: data for path, data, _ in BundlePlan(RedactedView(session, golden_user), Decisions()).items()}
    assert items == {name: (bundle / name).read_bytes() for name in ("episode.json", "steps.jsonl")}
    manifest = (bundle / "manifest.json").read_bytes()
    key = make.signing_key("user")
    assert public_hex(key) == signer == json.loads(manifest)["signer"]["public_key"]
    assert sign_manifest(json.loads(manifest), key) == (manifest, (bundle / "manifest.sig").read_bytes())


def test_the_study_profile_verifies_and_is_reproduced() -> None:
    path = GOLDEN / "study" / "profile.toml"
    profile = prof.load(path)
    assert profile.verify().public_key.hex() == (GOLDEN / "study" / "signer.pub").read_text().strip()
    policy = profile.policy()
    assert (policy.key_text, policy.window_titles, policy.apps_allowed, policy.apps_excluded, policy.extra_deny) == (
        False, False, ("XTerm",), ("Signal",), ("Nightjar",))
    signed = make.study_profile().signed(make.signing_key("study"))
    assert profile == signed and prof.to_toml(signed).encode() == path.read_bytes()
