"""One session's index as an SQLite FTS5 database that only ever lives in memory.

It is built in a `:memory:` connection, serialized to bytes (sqlite3's serialize) and sealed;
reading deserializes the unsealed bytes into a fresh `:memory:` connection. SQLite never gets
a file name, and temp_store=MEMORY keeps its sorts and temporary b-trees off disk too.

Format 1 (the bytes are an SQLite 3 database):
  meta(key TEXT PRIMARY KEY, value TEXT)   format=1, session, built_at, frames_ocr, ocr
  docs(id INTEGER PRIMARY KEY, source, t, t_end, frame, app, title, text)
  fts  FTS5(text, app, title; content=docs; tokenize unicode61 remove_diacritics 2)
t and t_end are ns since the session start; source is typed | screen | title. No prefix index:
prefix queries scan a term range, fast enough here, and the index is 30 % smaller without
(BENCHMARKS.md, Search).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from recorder.errors import CorruptFile
from recorder.search.query import Query
from recorder.search.text import Doc

FORMAT = 1
# Start/end of a highlighted match in snippets: control characters no OCR or typing produces
MARK_START, MARK_END = "\x02", "\x03"
SNIPPET_TOKENS = 16
# bm25 column weights (text, app, title): a title match says less than the words themselves
WEIGHTS = (1.0, 0.5, 0.8)

_SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;
CREATE TABLE docs(id INTEGER PRIMARY KEY, source TEXT NOT NULL, t INTEGER NOT NULL, t_end INTEGER NOT NULL,
                  frame INTEGER, app TEXT NOT NULL, title TEXT NOT NULL, text TEXT NOT NULL);
CREATE VIRTUAL TABLE fts USING fts5(text, app, title, content='docs', content_rowid='id',
                                    tokenize='unicode61 remove_diacritics 2');
"""


def _connect() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:", check_same_thread=False)
    conn.execute("PRAGMA temp_store = MEMORY")
    return conn


def build(docs: Iterable[Doc], meta: dict[str, str]) -> bytes:
    """The serialized database holding `docs`, compacted."""
    conn = _connect()
    try:
        conn.executescript(_SCHEMA)
        conn.executemany("INSERT INTO meta VALUES (?, ?)", [("format", str(FORMAT)), *meta.items()])
        conn.executemany(
            "INSERT INTO docs(source, t, t_end, frame, app, title, text) VALUES (?, ?, ?, ?, ?, ?, ?)",
            ((d.source, d.t, d.t_end, d.frame, d.app, d.title, d.text) for d in docs),
        )
        conn.execute("INSERT INTO fts(rowid, text, app, title) SELECT id, text, app, title FROM docs")
        conn.execute("INSERT INTO fts(fts) VALUES ('optimize')")
        conn.commit()
        conn.execute("VACUUM")
        return conn.serialize()
    finally:
        conn.close()


@dataclass(frozen=True)
class Match:
    """A doc that matched, with its bm25 score (higher is better) and a marked snippet."""

    doc: Doc
    score: float
    snippet: str  # text around the match, matched words between MARK_START and MARK_END


class SessionIndex:
    """An unsealed session index, open in memory."""

    def __init__(self, data: bytes, what: str) -> None:
        self.conn = _connect()
        try:
            self.conn.deserialize(data)
            self.meta = dict(self.conn.execute("SELECT key, value FROM meta"))
        except sqlite3.DatabaseError:
            self.conn.close()
            raise CorruptFile(f"{what} is not a search index", "rebuild it with `owntrace index --rebuild`") from None
        if self.meta.get("format") != str(FORMAT):
            self.conn.close()
            raise CorruptFile(f"{what} has index format {self.meta.get('format')!r}, not {FORMAT}",
                              "rebuild it with `owntrace index --rebuild`")

    def close(self) -> None:
        self.conn.close()

    def __len__(self) -> int:
        return self.conn.execute("SELECT count(*) FROM docs").fetchone()[0]

    def docs(self) -> Iterator[Doc]:
        for row in self.conn.execute("SELECT source, text, t, t_end, frame, app, title FROM docs ORDER BY id"):
            yield Doc(*row)

    def _run(self, sql: str, args: list) -> list[tuple]:
        try:
            return self.conn.execute(sql, args).fetchall()
        except sqlite3.OperationalError as e:  # the parser quotes every term, so this is a bug, not input
            raise CorruptFile(f"the search index could not run the query: {e}") from None

    def rank(self, query: Query, t_min: int | None = None, t_max: int | None = None, limit: int = 50
             ) -> list[tuple[float, int]]:
        """(score, doc id) of the best `limit` matches, within [t_min, t_max] ns of the session
        start. Snippets cost far more than scores, so they come later, for the winners only."""
        where = ["fts MATCH ?"]
        args: list[str | int] = [query.match()]
        if sources := query.sources():
            where.append(f"d.source IN ({','.join('?' * len(sources))})")
            args += sources
        if t_min is not None:
            where.append("d.t_end >= ?")
            args.append(t_min)
        if t_max is not None:
            where.append("d.t <= ?")
            args.append(t_max)
        sql = (f"SELECT -bm25(fts, {', '.join(map(str, WEIGHTS))}) AS score, fts.rowid FROM fts "
               f"JOIN docs d ON d.id = fts.rowid WHERE {' AND '.join(where)} ORDER BY score DESC LIMIT ?")
        return self._run(sql, [*args, limit])

    def matches(self, query: Query, ranked: list[tuple[float, int]]) -> list[Match]:
        """The docs of `rank`'s answer, in its order, with their snippets."""
        marks = ",".join("?" * len(ranked))
        ids = [i for _, i in ranked]
        snippets = dict(self._run(
            f"SELECT rowid, snippet(fts, 0, '{MARK_START}', '{MARK_END}', '…', {SNIPPET_TOKENS}) FROM fts "
            f"WHERE fts MATCH ? AND rowid IN ({marks})", [query.match(), *ids]))
        docs = {r[0]: Doc(*r[1:]) for r in self._run(
            f"SELECT id, source, text, t, t_end, frame, app, title FROM docs WHERE id IN ({marks})", ids)}
        return [Match(docs[i], score, snippets[i]) for score, i in ranked]

    def search(self, query: Query, t_min: int | None = None, t_max: int | None = None, limit: int = 50) -> list[Match]:
        """The best `limit` matches of `query` in this session, best first."""
        return self.matches(query, self.rank(query, t_min, t_max, limit))
