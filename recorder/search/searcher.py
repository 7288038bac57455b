"""Searching the sealed indexes of one OwnTrace home, after unlock.

`Library` unseals every indexed session's index into its own in-memory SQLite database (the
unsealed bytes never leave memory), runs a query on each and merges the matches, best first.
Only sessions under this home's own sessions/ folder, owned by this user and sealed to this
identity, are read: search never reaches another user's data.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from recorder.errors import CorruptFile, NotFound, OwnTraceError
from recorder.keys import UnlockedIdentity
from recorder.search.fts import MARK_END, MARK_START, SessionIndex
from recorder.search.indexer import INDEX_REL, not_indexable
from recorder.search.query import Query
from recorder.steps import wall_time
from recorder.store.session import Session, list_sessions


def split_marks(marked: str) -> tuple[str, list[tuple[int, int]]]:
    """A snippet without its match marks, and the [start, end) spans they enclosed."""
    out, spans, start = [], [], None
    pos = 0
    for ch in marked:
        if ch == MARK_START:
            start = pos
        elif ch == MARK_END and start is not None:
            spans.append((start, pos))
            start = None
        else:
            out.append(ch)
            pos += 1
    return "".join(out), spans


def started(session: Session) -> dt.datetime:
    return dt.datetime.fromisoformat(session.meta.started_at.replace("Z", "+00:00"))


@dataclass(frozen=True)
class Hit:
    session: str
    name: str
    source: str  # typed | screen | title
    t: float  # seconds from the session start
    wall_time: str  # UTC ISO 8601
    frame: int | None
    app: str
    title: str
    snippet: str
    highlights: list[tuple[int, int]]  # spans of snippet that matched
    score: float

    def to_obj(self) -> dict:
        return asdict(self)


def owner(path: Path) -> int:
    """The uid that owns `path` (not following a final link)."""
    return path.lstat().st_uid


def own_home(root: Path) -> None:
    """Refuse a home that belongs to another user, whatever its permissions say."""
    try:
        uid = owner(root)
    except FileNotFoundError:
        raise NotFound(f"no OwnTrace home at {root}", "run `owntrace init` first") from None
    if uid != os.getuid():
        raise OwnTraceError(f"{root} belongs to another user", "search only ever reads your own OWNTRACE_HOME")


def own_sessions(root: Path) -> list[Session]:
    """The sessions of this home that are this user's own (a folder, not a link to elsewhere)."""
    return [s for s in list_sessions(root) if not s.path.is_symlink() and owner(s.path) == os.getuid()]


class Library:
    """The unsealed search indexes of one home, held in memory until `close`."""

    def __init__(self, root: Path, user: UnlockedIdentity) -> None:
        own_home(root)
        self.root = root
        self._user = user
        self.indexes: dict[str, tuple[Session, SessionIndex]] = {}
        self._built: dict[str, int] = {}  # mtime of each loaded index file, to see a rebuild
        self.not_indexed: list[str] = []  # sessions search cannot see yet (study ones only if opted in)
        self.unreadable: list[tuple[str, str]] = []  # (session, why)
        self.refresh()

    def refresh(self) -> None:
        """Load the indexes built (or rebuilt) since, drop those of sessions deleted since: a
        timeline left open keeps up with `owntrace index` and `owntrace delete`."""
        sessions = own_sessions(self.root)
        for sid in set(self.indexes) - {s.id for s in sessions}:
            self._drop(sid)
        self.not_indexed, self.unreadable = [], []
        for s in sessions:
            try:
                built = (s.path / INDEX_REL).stat().st_mtime_ns if (s.path / "key.age").exists() else None
            except FileNotFoundError:
                built = None
            if built is None:
                self._drop(s.id)
                if not_indexable(s, self.root) is None:
                    self.not_indexed.append(s.id)
            elif self._built.get(s.id) != built:
                self._drop(s.id)
                try:
                    data = s.read_sealed(s.key(self._user), INDEX_REL)
                    self.indexes[s.id] = (s, SessionIndex(data, f"session {s.id}: {INDEX_REL}"))
                    self._built[s.id] = built
                except (CorruptFile, NotFound) as e:
                    self.unreadable.append((s.id, e.message))

    def _drop(self, sid: str) -> None:
        if sid in self.indexes:
            self.indexes.pop(sid)[1].close()
        self._built.pop(sid, None)

    def close(self) -> None:
        for sid in list(self.indexes):
            self._drop(sid)

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def require_content(self) -> None:
        if not self.indexes:
            hint = (f"{len(self.not_indexed)} session(s) wait for it: run `owntrace index --all`" if self.not_indexed
                    else "record a session with `owntrace record`, then `owntrace index`")
            raise NotFound("the search index is empty", hint)

    def search(self, query: Query, limit: int = 20) -> list[Hit]:
        """The `limit` best matches over every indexed session, best first (recent first on ties).
        Every session ranks its matches; snippets are made only for the overall winners."""
        ranked: list[tuple[float, str, str, int]] = []  # score, wall time, session, doc id
        for sid, (s, index) in list(self.indexes.items()):
            if not (s.path / "key.age").exists():  # deleted since it was loaded
                self._drop(sid)
                continue
            t0 = started(s)
            end = t0 + dt.timedelta(seconds=s.meta.duration_s or 0)
            if (query.since and end < query.since) or (query.until and t0 > query.until):
                continue
            t_min = int((query.since - t0).total_seconds() * 1e9) if query.since and query.since > t0 else None
            t_max = int((query.until - t0).total_seconds() * 1e9) if query.until else None
            ranked += [(score, s.meta.started_at, sid, i) for score, i in index.rank(query, t_min, t_max, limit)]
        ranked.sort(reverse=True)
        winners: dict[str, list[tuple[float, int]]] = {}
        for score, _, sid, i in ranked[:limit]:
            winners.setdefault(sid, []).append((score, i))
        hits: list[Hit] = []
        for sid, docs in winners.items():
            s, index = self.indexes[sid]
            for m in index.matches(query, docs):
                text, spans = split_marks(m.snippet)
                secs = m.doc.t / 1e9
                hits.append(Hit(sid, s.meta.name, m.doc.source, round(secs, 3), wall_time(s.meta.started_at, secs),
                                m.doc.frame, m.doc.app, m.doc.title, text, spans, round(m.score, 4)))
        hits.sort(key=lambda h: (h.score, h.wall_time), reverse=True)
        return hits
