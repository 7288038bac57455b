"""End to end on a real X display: type a word into a real xterm, show a page of text in real
Chromium, record with the real recorder, index with `owntrace index` (real tesseract), and
`owntrace search` finds the typed and the on-screen word at the right session and time.
Neither word is ever on disk in clear (OWNTRACE_HOME, /tmp, /dev/shm, during and after
indexing), and once the session is deleted neither is found."""

from __future__ import annotations

import json
import os
import random
import secrets
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest

from recorder.capture import control
from recorder.capture.display import stop_process
from recorder.demo import offline
from recorder.demo.apps import CHROMIUM_FLAGS, find_chromium
from recorder.search import indexer
from recorder.store import session as store
from tests.support import xhelpers as xh
from tests.support.cli import OWNTRACE
from tests.support.guards import scan_plaintext
from tests.support.recording import recording, settle, wait_for
from tests.support.search import Writer

pytestmark = pytest.mark.x11

TYPED = f"kestrel{secrets.token_hex(3)}"  # made per run: no file holds it unless it leaked
SHOWN = random.choice(["copper", "velvet", "marble", "harbor", "meadow"]) + random.choice(["heron", "badger", "walrus"])
# the page builds the word from its reverse, so not even the page's own file holds it
PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Incident notes</title></head>
<body style="font: 34px sans-serif; margin: 40px; background: #fff; color: #111">
<p>Incident notes</p><p id="w">click to show</p>
<script>document.addEventListener("click", () => {
  document.getElementById("w").textContent = "Root cause: " + "REVERSED".split("").reverse().join("");
});</script>
</body></html>"""


@contextmanager
def chromium(page: Path, env: dict[str, str]):
    with tempfile.TemporaryDirectory(prefix="owntrace-search-chromium-", ignore_cleanup_errors=True) as profile:
        proc = subprocess.Popen([*offline.prefix(), find_chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                                 "--window-position=420,40", "--window-size=820,420", f"--app={page.as_uri()}"],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            yield xh.wait_window("Incident notes", env, timeout=60)
        finally:
            stop_process(proc)


def _scan(needles: list[bytes]) -> list[str]:
    """Needles anywhere in OWNTRACE_HOME, /tmp and /dev/shm, and images in clear in the home
    (other test runs keep exported PNGs under /tmp: those are not ours)."""
    for _ in range(5):  # other test runs create and delete folders under /tmp while it walks
        try:
            shared = scan_plaintext([Path("/tmp"), Path("/dev/shm")], needles)
            return scan_plaintext([Path(os.environ["OWNTRACE_HOME"])], needles) + [
                h for h in shared if "image data" not in h]
        except FileNotFoundError:
            continue
    raise AssertionError("/tmp kept changing under the scan")


def _search(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*OWNTRACE, "search", *args, "--json"], capture_output=True, text=True, timeout=120)


def test_search_finds_typed_and_on_screen_words_and_nothing_is_in_clear(home, user, xenv, tmp_path) -> None:
    page = tmp_path / "notes.html"
    page.write_text(PAGE.replace("REVERSED", SHOWN[::-1]))
    needles = [TYPED.encode(), SHOWN.encode()]
    shell_env = dict(xenv, HISTFILE="/dev/null")
    with xh.xterm("search shell", shell_env, geometry="48x10+20+500") as shell, recording(home) as rec:
        xh.focus(shell, xenv)
        typed_from = rec.writer.now()
        xh.type_text(f"echo {TYPED}\n", xenv)
        settle(rec)
        typed_to = rec.writer.now()
        shown_from = rec.writer.now()
        with chromium(page, xenv) as browser:
            xh.focus(browser, xenv)
            settle(rec)
            before = rec.writer.meta.frames
            xh.click(700, 300, xenv)  # the page shows the word once clicked, so Chromium has the focus
            # a frame just before the click, and one of the change it made
            wait_for(lambda: rec.writer.meta.frames >= before + 2, 30, "the frame showing the word")
            settle(rec)
        session_id = rec.writer.meta.id
    assert _scan(needles) == []

    # indexing, with scans while it runs
    proc = subprocess.Popen([*OWNTRACE, "index", session_id], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    during: list[str] = []
    while proc.poll() is None:
        during += _scan(needles)
    out, err = proc.communicate()
    assert proc.returncode == 0, err
    assert f"indexed {session_id}:" in out
    assert during == [] and _scan(needles) == []

    found = json.loads(_search(f"typed:{TYPED}").stdout)["hits"]
    assert [(h["session"], h["source"]) for h in found] == [(session_id, "typed")], found
    assert typed_from / 1e9 - 0.1 <= found[0]["t"] <= typed_to / 1e9
    assert found[0]["app"].lower() == "xterm" and found[0]["title"] == "search shell"
    assert found[0]["snippet"].strip() == f"echo {TYPED}"

    shown = json.loads(_search(f"screen:{SHOWN}").stdout)["hits"]
    assert shown and {h["session"] for h in shown} == {session_id}, shown
    first = min(shown, key=lambda h: h["t"])
    assert first["t"] >= shown_from / 1e9 and first["frame"] is not None
    assert "chromium" in first["app"].lower() and first["title"] == "Incident notes"
    assert SHOWN in first["snippet"].lower()

    # another session stays; the deleted one's words are no longer found
    other = Writer.create(home)
    other.window("XTerm", "other")
    other.type("ls\n")
    indexer.index_session(other.close(), user)
    assert subprocess.run([*OWNTRACE, "delete", session_id, "--yes"], capture_output=True).returncode == 0
    for word in (TYPED, SHOWN):
        gone = _search(word)
        assert gone.returncode == 1 and json.loads(gone.stdout)["hits"] == []
    assert _scan(needles) == []


def test_stop_starts_the_indexer_and_the_session_becomes_searchable(home, user, xenv) -> None:
    word = f"plover{secrets.token_hex(3)}"
    shell_env = dict(xenv, HISTFILE="/dev/null")
    with xh.xterm("stop shell", shell_env, geometry="48x10+20+40") as shell:
        started = subprocess.run([*OWNTRACE, "start"], capture_output=True, text=True, env=xenv, timeout=120)
        assert started.returncode == 0, started.stderr
        wait_for(lambda: (st := control.status(home)) is not None and st.frames >= 1, 60, "the recorder")
        xh.focus(shell, xenv)
        xh.type_text(f"echo {word}\n", xenv)
        wait_for(lambda: control.status(home).events >= 2 * len(f"echo {word}\n"), 30, "the keys")
        stopped = subprocess.run([*OWNTRACE, "stop"], capture_output=True, text=True, env=xenv, timeout=120)
    assert stopped.returncode == 0, stopped.stderr
    session = store.resolve(home, stopped.stdout.strip())
    assert stopped.stderr.startswith(f"indexing {session.id} for search in the background (pid ")
    wait_for(lambda: indexer.is_indexed(session), 180, "the background indexer")
    hits = json.loads(_search(f"typed:{word}").stdout)["hits"]
    assert [(h["session"], h["source"]) for h in hits] == [(session.id, "typed")]
