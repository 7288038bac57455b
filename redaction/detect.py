"""One detector over all text sources (typed text, window titles, OCR of screens).

It runs presidio's pattern and checksum recognizers (plus NER when installed), the structured
detectors (cards, phones, IBANs, accounts), people / organisations / addresses from lexicons and
layout, work identifiers, the secret patterns, the user's deny-list and the password contexts,
and returns merged, non-overlapping findings sorted by position. The threshold is low on purpose: the person reviews everything.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Sequence

from . import PHONE_REGIONS, lexicon, passwords, presidio_engine, secrets, structured, workids
from .denylist import DenyList, TypedValues
from .findings import Finding, apply, merge, placeholder
from .people import PARTICLES, UI_WORDS, PeopleDetector
from .propagate import SessionNames

__all__ = ["Detector", "Finding", "SessionDetector", "placeholder"]

_BIRTH_CONTEXT = re.compile(r"(?i)(?:date\s+of\s+birth|birth\s*date|birthday|\bborn\b|\bdob\b|\bd\.o\.b\b|geb(?:oren|\.)|n[ée]e?\b)")
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_DATE = (
    rf"(?:\d{{4}}-\d{{1,2}}-\d{{1,2}}|\d{{1,2}}[./\-]\d{{1,2}}[./\-]\d{{2,4}}|\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH},?\s+\d{{4}}"
    rf"|{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}})"
)
_DOB = re.compile(rf"(?i){_BIRTH_CONTEXT.pattern}[^\n\d]{{0,20}}?(?P<s>{_DATE})")
_BIRTH_WINDOW = 48  # characters before a date searched for birth context
NER_SCORE = 0.65
_SENTENCE_JOIN = re.compile(r"[a-z]+\.[A-Z][a-z]+")
_CAPITALISED = re.compile(r"[^\W\d_a-z][^\W\d_A-Z]")


class Detector:
    def __init__(
        self,
        deny: Sequence[str] = (),
        phone_regions: Sequence[str] = PHONE_REGIONS,
        threshold: float = 0.3,
        ner_model: str | None = presidio_engine.AUTO,
    ) -> None:
        self.threshold = threshold
        self.deny = DenyList(deny)
        self.phone_regions = tuple(phone_regions)
        self._analyzer = presidio_engine.build(phone_regions, ner_model)
        self._people = PeopleDetector(lexicon.load())
        self._cache: OrderedDict[str, list[Finding]] = OrderedDict()  # titles and OCR lines repeat a lot

    def status(self) -> dict:
        model = self._analyzer.ner_model
        return {
            "ner": model is not None,
            "ner_model": model,
            "lost_without_ner": [] if model else list(presidio_engine.NER_ENTITIES),
        }

    def find(self, text: str) -> list[Finding]:
        """Merged, non-overlapping findings in `text`, sorted by position."""
        if not text or not text.strip():
            return []
        hit = self._cache.get(text)
        if hit is not None:
            self._cache.move_to_end(text)
            return hit
        found = self._presidio(text) + secrets.find(text) + self.deny.find(text) + passwords.inline(text)
        found += self._people.find(text) + structured.find(text, self.phone_regions) + workids.find(text)
        found += [Finding(m.start("s"), m.end("s"), "DATE_OF_BIRTH", 0.85, "presidio") for m in _DOB.finditer(text)]
        result = merge([f for f in found if f.score >= self.threshold])
        self._cache[text] = result
        if len(self._cache) > 4096:
            self._cache.popitem(last=False)
        return result

    def redact(self, text: str) -> tuple[str, list[Finding]]:
        """The text with placeholders, and the findings (positions in the original text)."""
        found = self.find(text)
        return apply(text, found), found

    def _presidio(self, text: str) -> list[Finding]:
        a = self._analyzer
        # the model only finds capitalised names: other text skips it (most OCR lines of a terminal)
        engine, entities = (a.engine, a.entities) if a.plain is None or _CAPITALISED.search(text) else (
            a.plain, presidio_engine.PATTERN_ENTITIES)
        results = engine.analyze(text, language="en", entities=list(entities), score_threshold=self.threshold)
        out = []
        for r in results:
            entity = r.entity_type
            if entity == "IBAN_CODE":
                continue  # structured.ibans finds them exactly; presidio's span runs on into the next table cell
            if entity == "URL" and _SENTENCE_JOIN.fullmatch(text[r.start:r.end]):
                continue  # "continue.Please": a sentence's end glued to the next one, no host name
            if entity == "DATE_TIME":
                # only dates of birth are personal; timestamps are everywhere on screens
                before = text[max(0, r.start - _BIRTH_WINDOW):r.start].rsplit("\n", 1)[-1]  # same line only
                if not _BIRTH_CONTEXT.search(before):
                    continue
                entity = "DATE_OF_BIRTH"
            elif entity in presidio_engine.NER_ENTITIES:
                span = text[r.start:r.end]
                if not _ner_plausible(span):
                    continue
                # the model is the weakest evidence on OCR fragments: layout and lexicons win a tie
                start, end = self._people.people.grow(text, *_trim_ui(text, r.start, r.end))
                out.append(Finding(start, end, entity, NER_SCORE, "ner"))
                continue
            out.append(Finding(r.start, r.end, entity, float(r.score), "presidio"))
        return out


def _ner_plausible(span: str) -> bool:
    """The model tags interface words on their own ("Inbox" as ORG): a span needs a
    capitalised word that is not one."""
    return any(w[:1].isupper() and any(c.islower() for c in w) and w.lower().strip(".,:;") not in UI_WORDS
               for w in span.split())


_EDGE_WORD = re.compile(r"\S+")


def _trim_ui(text: str, start: int, end: int) -> tuple[int, int]:
    """A model span without the interface words, lower-case words and punctuation at its edges
    ("Chat - Sam Okafor", "everyonewith Sébastien Guillet" where a wrapped line was glued)."""
    words = [m for m in _EDGE_WORD.finditer(text, start, end)]

    def edge(m: re.Match[str]) -> bool:
        w = m.group().strip(".,:;-–|·()[]<>\"'")
        return not w or w.lower() in UI_WORDS or (w.islower() and w not in PARTICLES)

    while len(words) > 1 and edge(words[0]):
        words.pop(0)
    while len(words) > 1 and edge(words[-1]):
        words.pop()
    return words[0].start(), words[-1].end()


class SessionDetector:
    """A Detector plus what the session showed elsewhere: the values found in its typed text
    (for its frames) and the people and organisations found anywhere in it (`names`)."""

    def __init__(self, base: Detector, typed_values: list[tuple[str, str]], names: SessionNames | None = None) -> None:
        self.base = base
        self.threshold = base.threshold
        self._values = TypedValues(typed_values)
        self.names = names if names is not None else SessionNames(lexicon.load())

    def status(self) -> dict:
        return self.base.status()

    def find(self, text: str) -> list[Finding]:
        found = self.base.find(text)
        self.names.learn(text, found)
        return merge(found + self._values.find(text) + self.names.find(text))
