"""`owntrace index`, `search` and the indexing after stop, as a user runs them: the real
executable, local only, one-line errors, and the redaction's OCR handed to the index."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

from recorder.search import indexer
from recorder.search.query import parse
from recorder.search.searcher import Library
from tests.support.browser import open_link
from tests.support.cli import OWNTRACE
from tests.support.guards import scan_plaintext, traced
from tests.support.recording import wait_for
from tests.support.search import Writer


def _owntrace(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*OWNTRACE, *args], capture_output=True, text=True, env=env or dict(os.environ), timeout=300)


def _session(home: Path, typed: str, screen: list[str], study: str | None = None):
    w = Writer.create(home, name="cli", study=study)
    w.window("XTerm", "work shell")
    w.frame(screen)
    w.type(typed)
    w.frame(screen + [typed.strip()])
    return w.close()


def _one_error(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert lines[0].startswith("error: ") and all(ln.startswith("hint: ") for ln in lines[1:]), lines
    return lines[0]


def test_index_then_search_json_with_no_network(home: Path, tmp_path: Path) -> None:
    s = _session(home, "grep -r saffronmoth src\n", ["deploy window: Thursday", "owner: platform team"])
    other = _session(home, "ls\n", ["nothing"], study="acme")
    proc, connects = traced([*OWNTRACE, "index", "--all"], tmp_path / "index.log", capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert f"indexed {s.id}: 1 typed, 2 screen, 1 title" in proc.stdout
    assert f"skipped {other.id}: recorded for study acme" in proc.stderr
    proc, more = traced([*OWNTRACE, "search", "saffronmoth", "--json"], tmp_path / "search.log",
                        capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert {(h["session"], h["source"]) for h in out["hits"]} == {(s.id, "typed"), (s.id, "screen")}
    assert out["not_indexed"] == []  # the study session is left out on purpose: nothing to nag about
    assert not [c for c in connects + more if c.outbound], connects + more
    waiting = _session(home, "ls\n", ["later"])
    text = _owntrace("search", "typed:saffron*", "--since", "today")
    assert text.returncode == 0 and f"{s.id}" in text.stdout and "saffronmoth" in text.stdout
    assert "1 session(s) are not indexed yet" in text.stderr
    assert json.loads(_owntrace("search", "saffronmoth", "--json").stdout)["not_indexed"] == [waiting.id]
    assert _owntrace("index", "--all").returncode == 0
    again = _owntrace("index", "--all")
    assert again.returncode == 0 and "nothing to index" in again.stderr
    assert scan_plaintext([home], [b"saffronmoth", b"Thursday"]) == []


def test_one_line_errors_wrong_passphrase_empty_index_bad_query(home: Path) -> None:
    assert _one_error(_owntrace("search", "anything")) == "error: the search index is empty"
    s = _session(home, "echo x\n", ["y"])
    assert _owntrace("index", s.id).returncode == 0
    wrong = dict(os.environ, OWNTRACE_PASSPHRASE="not the passphrase")
    assert _one_error(_owntrace("search", "x", env=wrong)) == "error: wrong passphrase"
    assert _one_error(_owntrace("index", "--rebuild", env=wrong)) == "error: wrong passphrase"
    assert _one_error(_owntrace("search", '"open')) == "error: the query has an unclosed quote"
    assert _one_error(_owntrace("search", "x", "--since", "last tuesday")).startswith("error: cannot read 'last tuesday'")
    assert _one_error(_owntrace("index", "nosuchsession")) == "error: no session matches 'nosuchsession'"
    none = _owntrace("search", "zzzznotthere")
    assert none.returncode == 1 and none.stderr.strip() == "no matches"


def test_background_index_after_stop_and_without_passphrase(home: Path, user) -> None:
    s = _session(home, "echo tangerinewolf\n", ["z"])
    line = indexer.index_in_background(home, s.id)
    assert line.startswith(f"indexing {s.id} for search in the background")
    wait_for(lambda: indexer.is_indexed(s), 120, "the background indexer")  # written by rename: whole or absent
    with Library(home, user) as lib:
        assert "typed" in {h.source for h in lib.search(parse("tangerinewolf"))}
    later = _session(home, "echo b\n", ["b"])
    os.environ.pop("OWNTRACE_PASSPHRASE")  # the fixture's monkeypatch restores it
    try:
        assert indexer.index_in_background(home, later.id) == (
            f"not indexed for search yet (that needs your passphrase): run `owntrace index {later.id}`")
    finally:
        os.environ["OWNTRACE_PASSPHRASE"] = "correct horse battery staple"
    study = _session(home, "echo c\n", ["c"], study="acme")
    assert indexer.index_in_background(home, study.id).startswith("not indexed for search: recorded for study acme")
    (home / "config.toml").write_text("[search]\nindex_after_stop = false\n")
    assert indexer.index_in_background(home, later.id) == ""


def test_redact_hands_its_ocr_to_the_index(home: Path, user) -> None:
    s = _session(home, "echo hi\n", ["Release notes for pelicanbridge", "Contact: ops@example.org"])
    proc = _owntrace("redact", s.id)
    assert proc.returncode == 0, proc.stderr
    assert f"indexed {s.id}: 1 typed, 2 screen, 1 title" in proc.stdout
    with Library(home, user) as lib:
        hits = lib.search(parse("screen:pelicanbridge"))
        assert [h.frame for h in hits] == [1]
        # the index is the person's own: the on-screen email is findable, unlike in the redacted view
        assert lib.search(parse('screen:"ops@example.org"'))
    assert "1 typed" in _owntrace("index", s.id, "--rebuild").stdout


def test_timeline_command_serves_until_ctrl_c(home: Path, user) -> None:
    """(The page itself, in Chromium: test_search_timeline.py.)"""
    indexer.index_session(_session(home, "echo hello\n", ["world"]), user)
    proc = subprocess.Popen([*OWNTRACE, "timeline", "--no-browser"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    try:
        conn, cookie = open_link(proc.stdout.readline())
        conn.request("GET", "/api/search?q=hello", headers={"Cookie": cookie})
        hits = json.loads(conn.getresponse().read())["hits"]
        conn.close()
        assert {h["source"] for h in hits} == {"typed", "screen"}  # the second frame shows it too
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0 and "Traceback" not in err, err
    finally:
        if proc.poll() is None:
            proc.kill()
