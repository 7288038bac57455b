"""The sealed store: write with public keys only, read back with the identity, survive damage."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from recorder import keys
from recorder.errors import CorruptFile, OwnTraceError, WrongPassphrase
from recorder.store import session as store
from recorder.store.records import Event


def _write_session(home: Path, n_events: int = 30) -> store.Session:
    w = store.SessionWriter.create(home, name="t", task="fill the form", screens=[{"x": 0, "y": 0, "w": 10, "h": 10}])
    for i in range(n_events):
        w.append(Event(i * 100_000_000, "key_down", {"key": "a", "char": "a", "mods": []}))
    w.add_frame(b"\x89PNG fake frame bytes")
    w.close()
    return store.resolve(home, "latest")


def test_round_trip_in_order(home: Path, user: keys.UnlockedIdentity) -> None:
    s = _write_session(home)
    key = s.key(user)
    events = list(s.events(key))
    assert [e.t for e in events] == [i * 100_000_000 for i in range(30)]
    assert s.task(key) == "fill the form"
    assert s.frame_bytes(key, 1) == b"\x89PNG fake frame bytes"
    assert s.meta.state == "recorded" and s.meta.events == 30 and s.meta.frames == 1
    # ~1 s per segment: 30 events 0.1 s apart make 3 segments
    assert len(s.segment_files()) == 3


def test_nothing_in_clear(home: Path) -> None:
    _write_session(home)
    for p in home.rglob("*"):
        if p.is_file():
            data = p.read_bytes()
            assert b"fill the form" not in data and b"fake frame" not in data and b'"char"' not in data


def test_truncated_segment_is_reported_and_rest_stays_readable(home: Path, user: keys.UnlockedIdentity) -> None:
    s = _write_session(home)
    seg = s.segment_files()[1]
    seg.write_bytes(seg.read_bytes()[:-20])
    key = s.key(user)
    with pytest.raises(CorruptFile, match="000002.jsonl.age"):
        list(s.events(key))
    damaged: list[str] = []
    events = list(s.events(key, damaged))
    assert damaged == ["journal/000002.jsonl.age"] and len(events) == 20


def test_wrong_passphrase(home: Path) -> None:
    with pytest.raises(WrongPassphrase):
        keys.unlock(home, "not it")


def test_resolve_prefix_and_latest(home: Path) -> None:
    s = _write_session(home, 1)
    assert store.resolve(home, s.id[:10]).id == s.id
    with pytest.raises(OwnTraceError, match="no session matches"):
        store.resolve(home, "1999")


def test_latest_is_the_last_started_even_within_one_second(home: Path) -> None:
    for name in ("a", "b"):
        store.SessionWriter.create(home, name=name, task="", screens=[]).close()
    by_id = [store.Session.load(p) for p in store.session_dirs(home)]
    # ids name the second only, their suffixes are random: make the larger id the earlier start
    for s, ms in zip(by_id, ("900", "100")):
        s.meta.started_at = f"2026-12-04T12:00:00.{ms}Z"
        s.save_meta()
    assert store.resolve(home, "latest").id == by_id[0].id
    assert [s.id for s in store.list_sessions(home)] == [by_id[1].id, by_id[0].id]


def test_interrupted_when_recorder_died(home: Path) -> None:
    w = store.SessionWriter.create(home)
    w.meta.pid = 2**22 + 12345  # no such process
    w.save_meta()
    assert store.resolve(home).meta.state == "interrupted"


def test_crypto_shred(home: Path, user: keys.UnlockedIdentity) -> None:
    s = _write_session(home, 1)
    s.destroy()
    assert not s.path.exists()


def test_stock_age_decrypts_segment(home: Path, user: keys.UnlockedIdentity, tmp_path: Path) -> None:
    s = _write_session(home, 3)
    ident_file = tmp_path / "session-identity.txt"  # a throwaway test key, never a real one
    ident_file.write_text(str(s.key(user)) + "\n")
    out = subprocess.run(
        ["age", "-d", "-i", str(ident_file), str(s.segment_files()[0])], capture_output=True, check=True
    ).stdout
    assert out.count(b'"kind":"key_down"') == 3
    # the user's passphrase-protected identity file decrypts the session key with stock age too
    user_ident = tmp_path / "user-identity.txt"
    user_ident.write_text(str(user.identity) + "\n")
    key_txt = subprocess.run(
        ["age", "-d", "-i", str(user_ident), str(s.path / "key.age")], capture_output=True, check=True
    ).stdout
    assert key_txt.startswith(b"AGE-SECRET-KEY-")
