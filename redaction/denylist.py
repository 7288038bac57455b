"""The user's deny-list: terms always redacted, case-insensitively, also when OCR respaces them
("Jane  Doe", "Ja ne Doe"), breaks them across lines ("Jane\\nDoe", "Ja-\\nne") or runs words
together ("JaneDoe", "jane.doe")."""

from __future__ import annotations

import re
from collections.abc import Sequence

from .findings import Finding

ENTITY = "DENY"
_IN_WORD = r"(?:[ \t]{0,2}|-?[ \t]*\n[ \t]*)"  # OCR splits a word, or a hyphenated line break
_BETWEEN_WORDS = r"[\s._\-]{0,3}"
_LETTER = r"[^\W\d_]"


def compile_term(term: str) -> re.Pattern[str] | None:
    words = term.split()
    if not words:
        return None
    body = _BETWEEN_WORDS.join(_IN_WORD.join(re.escape(c) for c in w) for w in words)
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
