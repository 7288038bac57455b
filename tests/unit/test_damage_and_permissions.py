"""Issue 14, items 8 and 9: damage to a session is reported (and a lost session.json recovered),
and OwnTrace's folders and config are private to their owner."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest

from recorder.errors import CorruptFile
from recorder.redact import session as redact
from recorder.review import approval
from recorder.review.decisions import load_review
from recorder.review.plan import BundlePlan
from recorder.store import frames
from recorder.store import session as store
from recorder.store.records import Event
from tests.support.review_kit import standard_session

WHITE = 0x00FFFFFF


def _screen(block: int) -> np.ndarray:
    """A white screen with one dark block at column `block` (a visible change per frame)."""
    px = np.full((64, 128), WHITE, np.uint32)
    px[8:24, block * 16:block * 16 + 16] = 0x00202020
    return px


def _session(home: Path) -> store.Session:
    """Six journal segments; keyframes 1 and 4, deltas 2, 3 on 1 and 5 on 4."""
    w = store.SessionWriter.create(home, name="damage")
    shots = [_screen(k) for k in range(5)]
    base_n, base_px = 0, None
    for k, px in enumerate(shots):
        if k in (0, 3):
            n = w.add_frame(frames.encode_full(px))
            base_n, base_px = n, px
        else:
            n = w.add_frame(frames.encode_delta(frames.make_delta(px, base_px, base_n, frames.changed_tiles(px, base_px))))
        w.append(Event(k * 1_100_000_000, "frame", {"n": n, "w": 128, "h": 64, "reason": "change", "dup": False}))
        w.append(Event(k * 1_100_000_000 + 1, "click", {"x": 5, "y": 5, "button": "left", "pressed": True}))
    w.append(Event(6_000_000_000, "click", {"x": 5, "y": 5, "button": "left", "pressed": False}))
    w.close()
    return store.Session.load(w.path)


def test_a_deleted_journal_segment_is_withheld_and_named(home: Path, user) -> None:
    s = _session(home)
    assert s.meta.segments == 6
    os.unlink(s.path / "journal" / "000004.jsonl.age")
    report = redact.redact_session(home, s, user)
    withheld = {w["item"]: w["reason"] for w in report.withheld}
    assert "journal/000004.jsonl.age" in withheld
    with pytest.raises(CorruptFile, match="000004.jsonl.age is missing"):
        list(s.events(s.key(user)))
    # what the person sees before approving names it
    view = approval.RedactedView(store.resolve(home, s.id), user)
    assert any(w.get("item") == "journal/000004.jsonl.age" for w in approval.summary(BundlePlan(view, load_review(view).decisions))["withheld"])


def test_a_damaged_keyframe_names_the_deltas_lost_with_it(home: Path, user) -> None:
    s = _session(home)
    key = s.key(user)
    blob = bytearray((s.path / s.frame_rel(1)).read_bytes())
    blob[-20] ^= 1
    (s.path / s.frame_rel(1)).write_bytes(bytes(blob))
    for n in (2, 3):
        with pytest.raises(CorruptFile, match=f"frame {n} is a delta on keyframe 1, which is damaged: lost with it"):
            s.frame_image(key, n)
    assert s.frame_image(key, 5).size == (128, 64)  # the next keyframe starts over
    report = redact.redact_session(home, s, user)
    withheld = {w["item"]: w["reason"] for w in report.withheld}
    assert set(withheld) == {"frame:1", "frame:2", "frame:3"}
    assert "keyframe 1" in withheld["frame:2"] and "keyframe 1" in withheld["frame:3"]


def test_a_truncated_session_json_is_listed_as_damaged_and_recovered(home: Path, user, cli) -> None:
    s = _session(home)
    meta = (s.path / "session.json").read_text()
    (s.path / "session.json").write_text(meta[: len(meta) // 2])
    assert store.list_sessions(home) == []
    r = cli("sessions")
    assert f"damaged session {s.id}: session {s.id}: session.json is corrupt" in r.stderr
    assert f"owntrace recover {s.id}" in r.stderr
    r = cli("recover", s.id)
    assert r.returncode == 0 and f"recovered session {s.id}: 11 events, 5 frames, 6 journal segments" in r.stdout
    back = store.resolve(home, s.id)
    assert back.meta.state == "interrupted" and back.meta.recipient == s.meta.recipient
    assert len(list(back.events(back.key(user)))) == 11
    assert cli("recover", s.id).returncode == 2  # nothing damaged any more


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_session_folders_are_private(home: Path, user) -> None:
    s = standard_session(home)  # recorded, then redacted (redacted/ and redacted/frames/)
    for p in (home / "sessions", s.path, s.path / "journal", s.path / "frames", s.path / "redacted",
              s.path / "redacted" / "frames"):
        assert _mode(p) == 0o700, p


def test_an_existing_open_home_is_tightened(home: Path, cli) -> None:
    (home / "config.toml").write_text('[redaction]\ndeny = ["Jane Roe"]\n')
    os.chmod(home / "config.toml", 0o644)
    os.chmod(home, 0o755)
    (home / "sessions").mkdir(mode=0o755, exist_ok=True)
    os.chmod(home / "sessions", 0o755)
    assert cli("sessions").returncode == 0
    assert (_mode(home), _mode(home / "sessions"), _mode(home / "config.toml")) == (0o700, 0o700, 0o600)


def test_a_folder_without_an_identity_is_left_alone(tmp_path: Path, monkeypatch, cli) -> None:
    other = tmp_path / "not-owntrace"
    other.mkdir(mode=0o755)
    os.chmod(other, 0o755)
    monkeypatch.setenv("OWNTRACE_HOME", str(other))
    cli("sessions")
    assert _mode(other) == 0o755


@pytest.mark.timeout(60)  # pyrage alone took 69 s on this header
def test_a_planted_segment_with_an_oversized_age_header_is_damage_not_a_hang(home: Path, user) -> None:
    s = _session(home)  # session.json is public: anyone who can write here could plant one
    (s.path / "journal" / "000002.jsonl.age").write_bytes(
        b"age-encryption.org/v1\n-> X25519 " + b"A" * 400000 + b"\n--- xx\n")
    damaged: list[str] = []
    events = list(s.events(s.key(user), damaged=damaged))
    assert damaged == ["journal/000002.jsonl.age"] and len(events) == 9
