"""Building the sealed search index of sessions: the I/O around text.py and fts.py.

Each session's index is one file in the session's own folder, `search/index-v1.db.age`, sealed
to the session's key like its journal and frames. So deleting or crypto-shredding a session
takes its index with it, and reading it needs the user's identity. Building needs the identity
too (it reads the raw journal and frames), so it runs in a process that unlocked it: `owntrace
index`, `owntrace redact` (which hands over its OCR), or a background indexer started after
`stop` when the passphrase or keyring is at hand. The recorder itself never indexes.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from recorder import __version__, config
from recorder.childenv import read_payload, spawn
from recorder.errors import OwnTraceError
from recorder.keys import PASSPHRASE_ENV, UnlockedIdentity, unlock
from recorder.search import fts
from recorder.search.text import SOURCES, ScreenText, journal_docs
from recorder.store.session import Session, list_sessions, resolve

INDEX_REL = f"search/index-v{fts.FORMAT}.db.age"
Progress = Callable[[int, int], None]  # (frames done, frames in total) of one session


@dataclass
class Indexed:
    session: str
    docs: dict[str, int]  # per source
    frames_ocr: int  # frames this run OCR'd itself (0 when redact handed its OCR over)
    unreadable: list[str] = field(default_factory=list)  # frames or segments left out, and why
    bytes: int = 0

    def line(self) -> str:
        counts = ", ".join(f"{self.docs.get(s, 0)} {s}" for s in SOURCES)
        extra = f"; left out: {', '.join(self.unreadable)}" if self.unreadable else ""
        return f"indexed {self.session}: {counts} ({self.bytes / 1024:.0f} KB sealed){extra}"


def is_indexed(session: Session) -> bool:
    return session.has(INDEX_REL)


def not_indexable(session: Session, root: Path, include_study: bool = False) -> str | None:
    """Why a session is not to be indexed now, or None."""
    state = session.meta.state
    if state == "recording":
        return "still recording"
    if state == "raw-deleted":
        return "its raw capture was deleted"
    if session.meta.study and not (include_study or config.load(root).index_studies):
        return f"recorded for study {session.meta.study} (index it with --include-study)"
    return None


class _NoDetector:
    """The indexer OCRs through FrameRedactor (it re-reads only what changed between frames)
    but redacts nothing: the index is the person's own, and sealed."""

    def find(self, text: str) -> list:
        return []


def ocr_session(session: Session, key, progress: Progress | None = None) -> tuple[ScreenText, int, list[str]]:
    """Screen lines of every stored frame, OCR'd in memory. Returns them, the number of frames
    read and what could not be read."""
    from redaction.image import FrameRedactor, RedactionFailed

    screen, problems = ScreenText(), []
    numbers = session.frame_numbers()
    try:
        redactor = FrameRedactor(_NoDetector())
    except RedactionFailed as e:
        return screen, 0, [f"screen text (OCR unavailable: {e})"]
    try:
        for k, n in enumerate(numbers, 1):
            try:
                screen.add(n, redactor.redact(session.frame_image(key, n)).words)
            except (OwnTraceError, RedactionFailed) as e:
                problems.append(f"frame {n} ({e})")
            if progress:
                progress(k, len(numbers))
    finally:
        redactor.ocr.close()
    return screen, len(numbers), problems


def index_session(session: Session, user: UnlockedIdentity, *, screen: ScreenText | None = None,
                  progress: Progress | None = None) -> Indexed:
    """Build and seal one session's index; `screen` is OCR already done (by redact)."""
    key = session.key(user)
    damaged: list[str] = []
    events = list(session.events(key, damaged=damaged))
    problems = [f"{rel} (damaged)" for rel in damaged]
    frames_ocr = 0
    if screen is None:
        screen, frames_ocr, more = ocr_session(session, key, progress)
        problems += more
    docs = journal_docs(events) + screen.docs(events)
    meta = {
        "session": session.id,
        "built_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "app_version": __version__,
        "frames": str(len(session.frame_numbers())),
    }
    data = fts.build(docs, meta)
    session.write_sealed(INDEX_REL, data)
    counts: dict[str, int] = {}
    for d in docs:
        counts[d.source] = counts.get(d.source, 0) + 1
    return Indexed(session.id, counts, frames_ocr, problems, (session.path / INDEX_REL).stat().st_size)


@dataclass
class Plan:
    todo: list[Session]
    skipped: list[tuple[str, str]]  # (session id, why)


def plan(root: Path, refs: Sequence[str] = (), *, all_sessions: bool = False, rebuild: bool = False,
         include_study: bool = False) -> Plan:
    """Which sessions `owntrace index` works on: the given ones (default the latest), or every
    one with `all_sessions`; those indexed already only with `rebuild`."""
    if refs and all_sessions:
        raise OwnTraceError("give session ids or --all, not both")
    sessions = [resolve(root, r) for r in refs] if refs else (list_sessions(root) if all_sessions else [resolve(root)])
    todo, skipped = [], []
    for s in dict((s.id, s) for s in sessions).values():
        why = not_indexable(s, root, include_study)
        if why:
            skipped.append((s.id, why))
        elif is_indexed(s) and not rebuild:
            skipped.append((s.id, "already indexed (--rebuild builds it again)"))
        else:
            todo.append(s)
    return Plan(todo, skipped)


def can_unlock_unattended(root: Path) -> bool:
    return bool(os.environ.get(PASSPHRASE_ENV)) or (root / "identity.keyring").exists()


def index_in_background(root: Path, session_id: str) -> str:
    """After `stop`: start `owntrace index SESSION` as its own process, when the identity can be
    unlocked without asking. Returns the line to show the person."""
    s = resolve(root, session_id)
    if not config.load(root).index_after_stop:
        return ""
    why = not_indexable(s, root)
    if why:
        return f"not indexed for search: {why}"
    if not can_unlock_unattended(root):
        return f"not indexed for search yet (that needs your passphrase): run `owntrace index {s.id}`"
    # the passphrase goes through a pipe, never into the child's environment or command line
    proc = spawn([sys.executable, "-c", "from recorder.search.indexer import run_background; run_background()"],
                 {"home": str(root), "session": s.id, "passphrase": os.environ.get(PASSPHRASE_ENV)},
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    return f"indexing {s.id} for search in the background (pid {proc.pid})"


def run_background() -> None:
    """The indexer that `index_in_background` starts: its job (and the passphrase, when the
    identity is not in the keyring) arrives on stdin."""
    job = read_payload()
    root = Path(job["home"])
    index_session(resolve(root, job["session"]), unlock(root, passphrase=job["passphrase"]))
