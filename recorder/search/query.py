"""Search queries: parsing what the person types into terms and filters, and turning them into
an FTS5 MATCH expression. Pure: no index, no I/O.

Syntax: words (all must match), "a phrase", prefix*, -excluded, and filters app:WORD,
title:WORD, typed:WORD, screen:WORD (a filter takes a word, a prefix or a "phrase").
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from recorder.errors import OwnTraceError

FILTERS = ("app", "title", "typed", "screen")
# which FTS column each kind of term searches; typed:/screen: also restrict the doc's source
COLUMN = {None: "text", "typed": "text", "screen": "text", "app": "app", "title": "title"}
_TOKEN_CHARS = re.compile(r"[^\W_]")  # what FTS5's unicode61 keeps: letters and digits
_FILTER_RE = re.compile(r"^(-?)([a-z]+):(.*)$", re.DOTALL)
_PART_RE = re.compile(r'-?(?:[a-z]+:)?"[^"]*"\*?|[^\s"]+')
_AGO_RE = re.compile(r"^(\d+)\s*([mhdw])$")
_AGO_UNIT = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
DATE_HINT = "use YYYY-MM-DD, 'YYYY-MM-DD HH:MM', today, yesterday, or an age such as 90m, 12h, 3d, 2w"


class BadQuery(OwnTraceError):
    pass


@dataclass(frozen=True)
class Term:
    text: str  # the words, as typed
    prefix: bool = False
    field: str | None = None  # None or one of FILTERS
    negated: bool = False

    def fts(self) -> str:
        """This term as an FTS5 column-filtered string (quotes doubled: no FTS syntax gets through)."""
        quoted = '"' + self.text.replace('"', '""') + '"' + (" *" if self.prefix else "")
        return f"{COLUMN[self.field]} : {quoted}"


@dataclass(frozen=True)
class Query:
    terms: tuple[Term, ...]
    since: dt.datetime | None = None
    until: dt.datetime | None = None

    def match(self) -> str:
        """The FTS5 MATCH expression: every positive term, none of the negated ones."""
        pos = [t.fts() for t in self.terms if not t.negated]
        neg = [t.fts() for t in self.terms if t.negated]
        expr = "(" + " AND ".join(pos) + ")"
        return f"{expr} NOT ({' OR '.join(neg)})" if neg else expr

    def sources(self) -> tuple[str, ...]:
        """The doc sources the typed:/screen: filters allow (empty: any)."""
        return tuple(dict.fromkeys(t.field for t in self.terms if t.field in ("typed", "screen") and not t.negated))


def _term(raw: str) -> Term | None:
    negated, field = False, None
    m = _FILTER_RE.match(raw)
    if m and m.group(2) in FILTERS:
        negated, field, raw = bool(m.group(1)), m.group(2), m.group(3)
    elif raw.startswith("-") and len(raw) > 1:
        negated, raw = True, raw[1:]
    prefix = raw.endswith("*")
    text = raw.rstrip("*").strip('"').strip()
    if not _TOKEN_CHARS.search(text):
        if field:
            raise BadQuery(f"the filter {field}: has no word after it", f'write it as {field}:WORD or {field}:"a phrase"')
        return None  # punctuation only: nothing the index could hold
    return Term(text, prefix, field, negated)


def parse(text: str, since: dt.datetime | None = None, until: dt.datetime | None = None) -> Query:
    """A query from what the person typed; BadQuery says in one line what is wrong with it."""
    if text.count('"') % 2:
        raise BadQuery("the query has an unclosed quote", 'close the phrase: "like this"')
    parts = _PART_RE.findall(text)
    terms = tuple(t for t in (_term(p) for p in parts) if t is not None)
    if not terms:
        raise BadQuery("the query has no words to search for", 'give a word, a "phrase", a prefix* or a filter such as app:xterm')
    if all(t.negated for t in terms):
        raise BadQuery("the query only excludes words", "add at least one word to look for")
    if since and until and since > until:
        raise BadQuery("--since is after --until", "swap them")
    return Query(terms, since, until)


def parse_when(text: str, *, end: bool = False, now: dt.datetime | None = None) -> dt.datetime:
    """A --since/--until value in local time. A bare date means its start, or with `end` its
    end (so --until 2026-12-01 includes that day)."""
    now = now or dt.datetime.now().astimezone()
    s = text.strip().lower()
    day = None
    if s in ("today", "yesterday"):
        day = now.date() - dt.timedelta(days=1 if s == "yesterday" else 0)
    elif m := _AGO_RE.match(s):
        return now - dt.timedelta(**{_AGO_UNIT[m.group(2)]: int(m.group(1))})
    elif re.fullmatch(r"\d{4}-\d{2}-\d{2}", s):
        try:
            day = dt.date.fromisoformat(s)
        except ValueError:
            raise BadQuery(f"{text!r} is not a date", DATE_HINT) from None
    if day is not None:
        start = dt.datetime.combine(day, dt.time(), now.tzinfo)
        return start + dt.timedelta(days=1) - dt.timedelta(microseconds=1) if end else start
    try:
        when = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadQuery(f"cannot read {text!r} as a date or time", DATE_HINT) from None
    return when.replace(tzinfo=now.tzinfo) if when.tzinfo is None else when
