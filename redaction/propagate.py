"""Session-wide propagation: a person or organisation found anywhere in a session (a title,
typed text, any frame) is redacted on every frame, title and keystroke of it, also where OCR
splits the name or only part of it is visible.

`SessionNames` learns values from findings (and "First Last" from an address such as
`linus.fontaine@…`), and finds them again like deny-list terms: OCR respacing, line breaks and
run-together words included; each distinctive word of a name on its own too ("Okafor" when the
mail list cuts "Sam Okafor" off, "Hi Jordan").
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .denylist import compile_term
from .findings import Finding
from .lexicon import Lexicon
from .people import PARTICLES, UI_WORDS, People

PROPAGATED = ("PERSON", "ORGANIZATION")
# the model's spans are learned only when the lexicons agree (it tags sentence fragments too)
TRUSTED = frozenset({"lexicon", "layout", "org", "deny", "typed", "column"})
_LOCAL_PART = re.compile(r"^([^\W\d_]{2,})[._\-]([^\W\d_]{2,})$")
_LEGAL_WORDS = frozenset("inc llc ltd limited llp lp plc corp corporation co company group holdings gmbh ag kg ohg "
                         "mbh sa sas sarl sl spa srl bv nv oy ab as aps pty ltda partners associates sons".split())
_PARTICLES_BEFORE = re.compile(rf"(?i)(?<![^\W\d_])(?:(?:{'|'.join(sorted(PARTICLES))}) )+$")
MIN_PART = 4  # a word of a name found on its own needs this many letters ("Al" and "Lee" are everywhere)


class SessionNames:
    def __init__(self, lexicon: Lexicon) -> None:
        self.lex = lexicon
        self.people = People(lexicon)
        self.terms: dict[str, str] = {}  # whole value -> entity
        self.parts: dict[str, str] = {}  # distinctive word -> entity
        self._patterns: list[tuple[re.Pattern[str], str, float]] | None = None

    @property
    def size(self) -> int:
        """Grows with every value learned: a frame redacted at a smaller size may miss one."""
        return len(self.terms) + len(self.parts)

    def learn(self, text: str, findings: Iterable[Finding]) -> bool:
        """Values of `findings` in `text` worth finding again; True when any was new."""
        before = self.size
        for f in findings:
            value = " ".join(text[f.start:f.end].split())
            if f.entity in PROPAGATED and (f.detector in TRUSTED or self._name_like(value)):
                self._add(value, f.entity)
            elif f.entity == "EMAIL_ADDRESS" and "@" in value:
                m = _LOCAL_PART.match(value.split("@", 1)[0])
                if m:
                    self._add(f"{m.group(1).title()} {m.group(2).title()}", "PERSON")
        if self.size != before:
            self._patterns = None
            return True
        return False

    def merge(self, terms: dict[str, str], parts: dict[str, str]) -> None:
        """What another worker of the same session learned."""
        before = self.size
        for source, target in ((terms, self.terms), (parts, self.parts)):
            for value, entity in source.items():
                target.setdefault(value, entity)
        if self.size != before:
            self._patterns = None

    def _name_like(self, value: str) -> bool:
        words = value.split()
        return all(self.people.name_like(w) for w in words) and any(self.people.lexical(w) for w in words)

    def _add(self, value: str, entity: str) -> None:
        if len(value) < 3 or not any(c.isalpha() for c in value):
            return
        self.terms.setdefault(value, entity)
        for word in re.findall(r"[^\W\d_][^\W\d_'’\-]*", value):
            low = word.lower()
            if (len(word) >= MIN_PART and word[0].isupper() and low not in UI_WORDS and low not in _LEGAL_WORDS
                    and not self.lex.is_loose(word) and (not self.lex.is_common(word) or self.lex.is_first(word)
                                                         or self.lex.is_frequent_last(word))):
                self.parts.setdefault(word, entity)

    def _compiled(self) -> list[tuple[re.Pattern[str], str, float]]:
        if self._patterns is None:
            pats = []
            for values, score in ((self.terms, 0.75), (self.parts, 0.6)):
                for value, entity in values.items():
                    p = compile_term(value)
                    if p:
                        pats.append((p, entity, score))
            self._patterns = pats
        return self._patterns

    def find(self, text: str) -> list[Finding]:
        out = []
        for p, entity, score in self._compiled():
            for m in p.finditer(text):
                if m.end() > m.start():
                    # a word of a name with its particles: "da Cunha" where only "Cunha" was learned alone
                    before = _PARTICLES_BEFORE.search(text, max(0, m.start() - 16), m.start())
                    out.append(Finding(before.start() if before else m.start(), m.end(), entity, score, "session"))
        return out
