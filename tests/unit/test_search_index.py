"""The search index without a display: query parsing, what a session's index holds, the sealed
format (a frozen test vector, stock `age` interop), and search across sessions with real OCR."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import subprocess
from pathlib import Path

import pyrage
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyrage import x25519

from recorder.errors import CorruptFile, NotFound
from recorder.redact import view as redacted_view
from recorder.search import fts, indexer, searcher
from recorder.search.query import BadQuery, Term, parse, parse_when
from recorder.search.searcher import Library, split_marks
from recorder.search.text import Doc, ScreenText, journal_docs
from recorder.store import retention
from recorder.store.records import Event
from redaction.regions import Word
from tests.support.guards import AGE_MAGIC, scan_plaintext
from tests.support.search import Writer

VECTOR = Path(__file__).resolve().parents[1] / "golden" / "search_index_v1.db.age"
VECTOR_KEY = "AGE-SECRET-KEY-168V00MKVV7VEANUESWZNZTCS49KKPD9CATVRQEAPC959486NG0KSVAVYZL"  # test data only
VECTOR_DOCS = [
    Doc("title", "build log - Jenkins", 1_500_000_000, 1_500_000_000, 1, "chromium", "build log - Jenkins"),
    Doc("screen", "ERROR: cannot resolve dependency quokka-core 2.4\nBuild step failed", 2_000_000_000,
        2_000_000_000, 2, "chromium", "build log - Jenkins"),
    Doc("typed", "git commit -m 'pin quokka-core'\n", 5_000_000_000, 7_250_000_000, 3, "xterm", "shell"),
]


# ---- queries ----

def test_query_terms_phrases_prefixes_filters_and_exclusions() -> None:
    q = parse('deploy "call last" trace* app:chrom* title:"build log" typed:git -screen:noise -flaky')
    assert q.terms == (
        Term("deploy"), Term("call last"), Term("trace", prefix=True), Term("chrom", True, "app"),
        Term("build log", field="title"), Term("git", field="typed"), Term("noise", field="screen", negated=True),
        Term("flaky", negated=True),
    )
    assert q.match() == ('(text : "deploy" AND text : "call last" AND text : "trace" * AND app : "chrom" * AND '
                         'title : "build log" AND text : "git") NOT (text : "noise" OR text : "flaky")')
    assert q.sources() == ("typed",)


def test_query_quotes_everything_so_no_fts_syntax_gets_through() -> None:
    q = parse('NEAR(a b) OR x" "y AND')
    assert 'OR' not in q.match().replace('"OR"', "")
    assert parse('http://example.org/a?b=c').terms == (Term("http://example.org/a?b=c"),)
    assert parse("don't").match() == '(text : "don\'t")'


_INDEX = fts.SessionIndex(fts.build(VECTOR_DOCS, {}), "fuzz")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from('ab1 "*-:()^_\'.NEAROTappscreenyd\u00e9'), max_size=40))
def test_any_query_is_an_answer_or_one_clear_error(text: str) -> None:
    """Whatever is typed, FTS5 never sees syntax of its own: a result or a BadQuery, no crash."""
    try:
        q = parse(text)
    except BadQuery:
        return
    _INDEX.search(q)


@pytest.mark.parametrize("text, message", [
    ("", "the query has no words to search for"),
    ("-- !!", "the query has no words to search for"),
    ('"unclosed', "the query has an unclosed quote"),
    ("-only -excluded", "the query only excludes words"),
    ("app:", "the filter app: has no word after it"),
])
def test_bad_queries_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(BadQuery) as e:
        parse(text)
    assert e.value.message == message and e.value.hint


def test_dates_for_since_and_until() -> None:
    tz = dt.timezone(dt.timedelta(hours=1))
    now = dt.datetime(2026, 12, 2, 15, 30, tzinfo=tz)
    assert parse_when("today", now=now) == dt.datetime(2026, 12, 2, tzinfo=tz)
    assert parse_when("yesterday", end=True, now=now) == dt.datetime(2026, 12, 1, 23, 59, 59, 999999, tzinfo=tz)
    assert parse_when("2026-11-30", now=now) == dt.datetime(2026, 11, 30, tzinfo=tz)
    assert parse_when("2026-11-30 08:15", now=now) == dt.datetime(2026, 11, 30, 8, 15, tzinfo=tz)
    assert parse_when("3d", now=now) == now - dt.timedelta(days=3)
    assert parse_when("90m", now=now) == now - dt.timedelta(minutes=90)
    for bad in ("last week", "2026-13-01"):
        with pytest.raises(BadQuery) as e:
            parse_when(bad, now=now)
        assert "YYYY-MM-DD" in e.value.hint
    with pytest.raises(BadQuery, match="--since is after --until"):
        parse("x", now, now - dt.timedelta(days=1))


# ---- what a session's index holds ----

def _ev(t_ms: int, kind: str, **data) -> Event:
    return Event(t_ms * 1_000_000, kind, data)


def test_journal_docs_rebuild_typed_runs_and_title_changes() -> None:
    events = [
        _ev(0, "window", wid=1, app="XTerm", title="shell", excluded=False),
        _ev(10, "frame", n=1, w=10, h=10),
        *[_ev(20 + k, "key_down", key=c, char=c) for k, c in enumerate("lsx")],
        _ev(30, "key_down", key="backspace", char=""),
        _ev(40, "window", wid=2, app="Chromium", title="Tickets", excluded=False),
        _ev(41, "window", wid=2, app="Chromium", title="Tickets", excluded=False),  # no change: no doc
        _ev(50, "window", wid=3, app="KeePassXC", title="vault", excluded=True),
    ]
    assert journal_docs(events) == [
        Doc("title", "shell", 0, 0, None, "XTerm", "shell"),
        Doc("typed", "ls", 20_000_000, 30_000_000, 1, "XTerm", "shell"),
        Doc("title", "Tickets", 40_000_000, 40_000_000, 1, "Chromium", "Tickets"),
    ]


def test_typed_passwords_stay_out_of_the_index() -> None:
    events = [_ev(0, "window", wid=1, app="XTerm", title="shell", excluded=False)]
    for k, c in enumerate("sudo apt update\nhunter2pass\nls\n"):
        key = "enter" if c == "\n" else c
        events.append(_ev(10 + k, "key_down", key=key, char="" if c == "\n" else c))
    (doc,) = [d for d in journal_docs(events) if d.source == "typed"]
    assert doc.text == "sudo apt update\n<PASSWORD>\nls\n"


def _words(*lines: str) -> list[Word]:
    out = []
    for k, line in enumerate(lines):
        x = 0
        for w in line.split():
            out.append(Word(w, (x, 30 * k, 10 * len(w), 20), 95.0))
            x += 10 * len(w) + 8
    return out


def test_screen_text_keeps_only_lines_a_frame_brought_in() -> None:
    st = ScreenText()
    st.add(1, _words("$ make", "error: boom"))
    st.add(2, _words("$ make", "error: boom"))  # nothing new
    st.add(3, _words("$ make", "error: boom", "fixed it"))
    st.add(4, _words("fixed it"))
    st.add(5, _words("error: boom"))  # shown again after it was gone: seen again
    assert st.new_lines == {1: ["$ make", "error: boom"], 3: ["fixed it"], 5: ["error: boom"]}
    events = [_ev(100 * n, "frame", n=n) for n in (1, 2, 3, 5)]  # frame 4 was torn off: no time for it
    assert [(d.frame, d.t, d.text) for d in st.docs(events)] == [
        (1, 100_000_000, "$ make\nerror: boom"), (3, 300_000_000, "fixed it"), (5, 500_000_000, "error: boom")]


# ---- the sealed format ----

def test_frozen_vector_of_format_1_still_reads_and_answers() -> None:
    plain = pyrage.decrypt(VECTOR.read_bytes(), [x25519.Identity.from_str(VECTOR_KEY)])
    assert plain.startswith(b"SQLite format 3\x00")
    index = fts.SessionIndex(plain, "vector")
    try:
        assert index.meta == {"format": "1", "session": "20261201-090000-0f0f", "built_at": "2026-12-01T09:30:00+00:00",
                              "app_version": "0.1.0", "frames": "3"}
        assert list(index.docs()) == VECTOR_DOCS
        hits = index.search(parse("quokka"))
        assert [m.doc.source for m in hits] == ["typed", "screen"]  # the short typed line ranks first
        assert split_marks(hits[1].snippet) == (VECTOR_DOCS[1].text, [(33, 39)])
        assert [m.doc.source for m in index.search(parse("screen:quokka"))] == ["screen"]
        assert [m.doc.source for m in index.search(parse("title:jenkins fail*"))] == ["screen"]
        assert index.search(parse("quokka"), t_min=4_000_000_000)[0].doc.source == "typed"
        assert index.search(parse("quokka"), t_max=1_000_000_000) == []
        # what is built today has the vector's schema: a change to it needs a new format number
        fresh = fts.SessionIndex(fts.build([], {}), "fresh")
        schema = "SELECT type, name, sql FROM sqlite_master ORDER BY name"
        assert fresh.conn.execute(schema).fetchall() == index.conn.execute(schema).fetchall()
        fresh.close()
    finally:
        index.close()


def test_a_file_that_is_no_index_is_a_clear_error() -> None:
    with pytest.raises(CorruptFile, match="is not a search index"):
        fts.SessionIndex(b"not sqlite at all" * 100, "x")
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE meta(key, value)")
    conn.execute("INSERT INTO meta VALUES ('format', '99')")
    with pytest.raises(CorruptFile, match="has index format '99', not 1"):
        fts.SessionIndex(conn.serialize(), "x")


def _age_decrypt(secret: str, blob: bytes) -> bytes:
    """The stock age CLI; the identity goes through a pipe, never to disk."""
    r, w = os.pipe()
    os.write(w, f"{secret}\n".encode())
    os.close(w)
    try:
        return subprocess.run(["age", "-d", "-i", f"/dev/fd/{r}"], input=blob, pass_fds=(r,), capture_output=True,
                              check=True).stdout
    finally:
        os.close(r)


def _session(home: Path, typed: str, screen: list[str], title: str = "Shell", study: str | None = None):
    w = Writer.create(home, name=title, study=study)
    w.window("XTerm", title)
    w.frame(screen)
    w.type(typed)
    w.frame(screen + ["done"])
    return w.close()


def test_index_is_sealed_to_the_session_key_and_stock_age_opens_it(home: Path, user) -> None:
    s = _session(home, "echo velvetharbor\n", ["Build failed: lighthouse timeout"])
    result = indexer.index_session(s, user)
    assert result.docs == {"title": 1, "typed": 1, "screen": 2} and result.frames_ocr == 2 and not result.unreadable
    blob = (s.path / indexer.INDEX_REL).read_bytes()
    assert blob.startswith(AGE_MAGIC)
    assert scan_plaintext([home], [b"velvetharbor", b"lighthouse", b"SQLite format"]) == []
    # stock tools recover it: the user's identity opens key.age, the session key the index
    session_key = _age_decrypt(str(user.identity), (s.path / "key.age").read_bytes()).decode().strip()
    plain = _age_decrypt(session_key, blob)
    conn = sqlite3.connect(":memory:")
    conn.deserialize(plain)
    texts = [r[0] for r in conn.execute("SELECT text FROM docs WHERE source = 'screen'")]
    assert any("lighthouse" in t for t in texts), texts


def test_search_across_sessions_best_first_with_times_and_filters(home: Path, user) -> None:
    a = _session(home, "ssh deploy@quokka\n", ["Connection to quokka refused"], title="ops shell")
    b = _session(home, "make test\n", ["3 passed, 1 failed: test_quokka_login"], title="tests")
    for s in (a, b):
        indexer.index_session(s, user)
    with Library(home, user) as lib:
        hits = lib.search(parse("quokka"))
        assert {(h.session, h.source) for h in hits} >= {(a.id, "typed"), (a.id, "screen")}
        typed_hit = next(h for h in hits if h.source == "typed")
        assert typed_hit.app == "XTerm" and typed_hit.title == "ops shell" and typed_hit.frame == 1
        assert 0 < typed_hit.t < 3
        offset = dt.datetime.fromisoformat(typed_hit.wall_time) - dt.datetime.fromisoformat(a.meta.started_at)
        assert abs(offset.total_seconds() - typed_hit.t) < 0.002
        assert "quokka" in typed_hit.snippet[slice(*typed_hit.highlights[0])]
        assert [h.session for h in lib.search(parse("typed:make"))] == [b.id]
        assert [(h.session, h.source) for h in lib.search(parse("title:tests screen:passed"))] == [(b.id, "screen")]
        assert [(h.session, h.source) for h in lib.search(parse("quokka -refused typed:ssh"))] == [(a.id, "typed")]
        future = dt.datetime.now().astimezone() + dt.timedelta(hours=1)
        assert lib.search(parse("quokka", since=future)) == []
        assert lib.search(parse("quokka", until=future))


def test_deleted_session_is_gone_from_search_and_raw_delete_takes_the_index(home: Path, user) -> None:
    a = _session(home, "echo cobaltfinch\n", ["nothing here"])
    b = _session(home, "echo cobaltfinch too\n", ["still nothing"])
    for s in (a, b):
        indexer.index_session(s, user)
    with Library(home, user) as lib:
        assert {h.session for h in lib.search(parse("cobaltfinch"))} == {a.id, b.id}
        retention.delete_session(a)  # while the library is open (the timeline server's case)
        assert {h.session for h in lib.search(parse("cobaltfinch"))} == {b.id}
        c = _session(home, "echo cobaltfinch again\n", ["later"])
        lib.refresh()
        assert lib.not_indexed == [c.id]
        indexer.index_session(c, user)  # indexed while it is open: found after a refresh
        lib.refresh()
        assert {h.session for h in lib.search(parse("cobaltfinch"))} == {b.id, c.id}
        retention.delete_session(c)
    for rel in (redacted_view.JOURNAL, redacted_view.REPORT):  # a redacted view exists, so --raw-only is allowed
        b.write_sealed(rel, b"")
    redacted_view.delete_raw(b)
    assert not b.has(indexer.INDEX_REL)
    with Library(home, user) as lib, pytest.raises(NotFound) as e:
        lib.require_content()
    assert e.value.message == "the search index is empty"


def test_study_sessions_only_when_asked_and_incremental_plans(home: Path, user) -> None:
    mine = _session(home, "x\n", ["a"])
    study = _session(home, "y\n", ["b"], study="acme-2026")
    plan = indexer.plan(home, all_sessions=True)
    assert [s.id for s in plan.todo] == [mine.id]
    assert dict(plan.skipped)[study.id].startswith("recorded for study acme-2026")
    assert {s.id for s in indexer.plan(home, all_sessions=True, include_study=True).todo} == {mine.id, study.id}
    indexer.index_session(mine, user)
    assert indexer.plan(home, all_sessions=True).todo == []
    assert [s.id for s in indexer.plan(home, all_sessions=True, rebuild=True).todo] == [mine.id]
    assert "already indexed" in dict(indexer.plan(home, [mine.id]).skipped)[mine.id]
    (home / "config.toml").write_text("[search]\nindex_studies = true\n")
    assert [s.id for s in indexer.plan(home, all_sessions=True).todo] == [study.id]


def _give_away(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make `path` another user's: for real as root; otherwise (no chown without privilege)
    by the one function through which search learns an owner."""
    if os.getuid() == 0:
        os.chown(path, 65534, 65534)
        return
    real = searcher.owner
    monkeypatch.setattr(searcher, "owner", lambda p: os.getuid() + 1 if p == path else real(p))


def test_search_reads_only_this_users_own_sessions(home: Path, user, tmp_path: Path, monkeypatch) -> None:
    mine = _session(home, "echo amberkite\n", ["x"])
    other = _session(home, "echo amberkite\n", ["y"])
    for s in (mine, other):
        indexer.index_session(s, user)
    # another identity's session copied in: sealed to a key this user does not hold
    foreign = x25519.Identity.generate()
    (other.path / "key.age").write_bytes(pyrage.encrypt(b"AGE-SECRET-KEY-1X\n", [foreign.to_public()]))
    with Library(home, user) as lib:
        assert [h.session for h in lib.search(parse("amberkite"))] == [mine.id]
        assert [sid for sid, _ in lib.unreadable] == [other.id]
    with monkeypatch.context() as m:
        _give_away(mine.path, m)  # a session folder of another user
        with Library(home, user) as lib:
            assert mine.id not in lib.indexes
    with monkeypatch.context() as m:
        _give_away(home, m)  # a whole home of another user
        with pytest.raises(Exception) as e:
            Library(home, user)
        assert "belongs to another user" in str(e.value)
    for path in (home, mine.path):
        os.chown(path, os.getuid(), os.getgid())


def test_a_damaged_index_is_left_out_and_named_the_rest_is_searched(home: Path, user) -> None:
    good = _session(home, "echo slatepiper\n", ["x"])
    bad = _session(home, "echo slatepiper\n", ["y"])
    for s in (good, bad):
        indexer.index_session(s, user)
    path = bad.path / indexer.INDEX_REL
    blob = bytearray(path.read_bytes())
    blob[len(blob) // 2] ^= 0x40
    path.write_bytes(bytes(blob))
    with Library(home, user) as lib:
        assert {h.session for h in lib.search(parse("slatepiper"))} == {good.id}
        ((sid, why),) = lib.unreadable
        assert sid == bad.id and "is truncated, corrupt or sealed to another key" in why
    indexer.index_session(bad, user)  # `owntrace index --rebuild` repairs it from the recording
    with Library(home, user) as lib:
        assert {h.session for h in lib.search(parse("slatepiper"))} == {good.id, bad.id}
