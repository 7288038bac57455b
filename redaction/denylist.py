"""The user's deny-list: terms always redacted, case-insensitively, also when OCR respaces them
("Jane  Doe", "Ja ne Doe"), breaks them across lines ("Jane\\nDoe", "Ja-\\nne"), runs words
together ("JaneDoe", "jane.doe") or misreads an accented letter ("Muller", "Miiller")."""

from __future__ import annotations

import re
from collections.abc import Sequence

from .findings import Finding
from .lexicon import MISREAD_LETTER, misreadable

ENTITY = "DENY"
_IN_WORD = r"(?:[ \t]{0,2}|-?[ \t]*\n[ \t]*)"  # OCR splits a word, or a hyphenated line break
_BETWEEN_WORDS = r"[\s._\-]{0,3}"
_LETTER = r"[^\W\d_]"


def compile_term(term: str) -> re.Pattern[str] | None:
    words = term.split()
    if not words:
        return None
    body = _BETWEEN_WORDS.join(_IN_WORD.join(MISREAD_LETTER if misreadable(c) else re.escape(c) for c in w) for w in words)
    # a term starting/ending in a letter does not match inside a longer word ("Ann" in "Annual")
    before = f"(?<!{_LETTER})" if re.match(_LETTER, words[0][0]) else ""
    after = f"(?!{_LETTER})" if re.match(_LETTER, words[-1][-1]) else ""
    return re.compile(before + body + after, re.IGNORECASE)


class DenyList:
    def __init__(self, terms: Sequence[str]) -> None:
        self.terms = tuple(dict.fromkeys(t.strip() for t in terms if t.strip()))
        self._patterns = [p for p in (compile_term(t) for t in self.terms) if p]

    def find(self, text: str) -> list[Finding]:
        return [Finding(m.start(), m.end(), ENTITY, 1.0, "deny") for p in self._patterns for m in p.finditer(text)
                if m.end() > m.start()]


_PREFIX_ALNUM = 4  # a prefix with fewer letters and digits is too common to redact on sight
_PREFIX_MAX = 64
_COMMON_START = re.compile(r"^(?:[a-z][a-z0-9+.\-]*://)?(?:www\.)?", re.IGNORECASE)  # every URL starts so


def _shortest_prefix(value: str) -> int:
    """Length of the shortest prefix worth matching: past a common start, 4 letters or digits."""
    seen = 0
    common = _COMMON_START.match(value)  # matches every string; None only to the type checker
    for i in range(common.end() if common else 0, len(value)):
        seen += value[i].isalnum()
        if seen == _PREFIX_ALNUM:
            return i + 1
    return 0


def prefix_pattern(value: str) -> re.Pattern[str] | None:
    """Matches `value` or a prefix of it with 4+ letters or digits (past `https://www.`), as OCR
    reads it while it is being typed (respaced, spaces dropped)."""
    value = value.strip()[:_PREFIX_MAX]
    shortest = _shortest_prefix(value)
    if not shortest:
        return None
    units = [r"\s*" if c.isspace() else re.escape(c) for c in value]
    sep = "[ \t]?"
    tail = ""
    for u in reversed(units[shortest:]):
        tail = f"(?:{sep}{u}{tail})?"
    before = f"(?<!{_LETTER})" if re.match(_LETTER, value[0]) else ""
    return re.compile(before + sep.join(units[:shortest]) + tail, re.IGNORECASE)


class TypedValues:
    """Values found in what the person typed, redacted on screen too: a frame taken mid-typing
    shows only part of a card number or an address, which no detector can recognise."""

    def __init__(self, values: list[tuple[str, str]]) -> None:  # (text, entity)
        self._patterns = [(p, entity) for text, entity in dict(values).items() if (p := prefix_pattern(text))]

    def find(self, text: str) -> list[Finding]:
        out = []
        for p, entity in self._patterns:
            for m in p.finditer(text):
                end = m.start() + len(m.group().rstrip())
                if end > m.start():
                    out.append(Finding(m.start(), end, entity, 0.9, "typed"))
        return out
