"""presidio-analyzer built explicitly and offline.

An AnalyzerEngine built with no NLP engine downloads en_core_web_lg, and the email recognizer makes
tldextract fetch the public suffix list; neither may happen here. The NLP engine is a blank
spaCy English pipeline built in code (lemmas = lowercased tokens, so context words such as
"phone" or "card" still raise scores), plus the NER of the English pipeline that
`redaction.lexicon.ner_model_path` finds (loaded from its folder), which adds PERSON / LOCATION /
ORGANIZATION.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass

# tldextract reads this when an extractor is built; empty means "no URLs to fetch"
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

import phonenumbers  # noqa: E402
import spacy  # noqa: E402
import tldextract.tldextract  # noqa: E402
from spacy.language import Language  # noqa: E402

from redaction import PHONE_REGIONS  # noqa: E402

from .lexicon import ner_model_path  # noqa: E402

# the bundled snapshot of the suffix list, no fetch, no cache directory written
tldextract.tldextract.TLD_EXTRACTOR = tldextract.tldextract.TLDExtract(
    suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True
)

from presidio_analyzer import AnalyzerEngine, RecognizerRegistry  # noqa: E402
from presidio_analyzer.nlp_engine import NerModelConfiguration, SpacyNlpEngine  # noqa: E402
from presidio_analyzer.predefined_recognizers import (  # noqa: E402
    CreditCardRecognizer,
    CryptoRecognizer,
    DateRecognizer,
    EmailRecognizer,
    IbanRecognizer,
    IpRecognizer,
    MacAddressRecognizer,
    SpacyRecognizer,
    UrlRecognizer,
    UsSsnRecognizer,
)

logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)

NER_MODEL = "en_core_web_sm"
AUTO = "auto"
NER_ENTITIES = ("PERSON", "LOCATION", "ORGANIZATION")
PATTERN_ENTITIES = (
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "CREDIT_CARD",
    "IBAN_CODE",
    "IP_ADDRESS",
    "URL",
    "US_SSN",
    "CRYPTO",
    "MAC_ADDRESS",
    "DATE_TIME",  # kept only near birth context, see detect.py
)


@Language.component("owntrace_lowercase_lemma")
def _lowercase_lemma(doc):
    # a blank pipeline has no lemmatizer; presidio's context enhancer compares lemmas
    for token in doc:
        token.lemma_ = token.lower_
    return doc


class _InMemorySpacyEngine(SpacyNlpEngine):
    """SpacyNlpEngine over a pipeline built here, so presidio never calls spacy.load/download."""

    def __init__(self, nlp: Language, model_name: str) -> None:
        conf = NerModelConfiguration(labels_to_ignore=["CARDINAL", "ORDINAL", "QUANTITY", "PERCENT", "MONEY",
                                                       "LANGUAGE", "LAW", "WORK_OF_ART", "EVENT", "PRODUCT",
                                                       "DATE", "TIME"])
        super().__init__(models=[{"lang_code": "en", "model_name": model_name}], ner_model_configuration=conf)
        self.nlp = {"en": nlp}  # type: ignore[assignment]  # presidio declares it None until load()

    def load(self) -> None:
        return None


def ner_available() -> bool:
    return ner_model_path() is not None


# only the entity recogniser is used: it has its own embedding layer, so the rest is skipped (3x faster)
_NOT_NER = ["tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer", "senter"]


def _pipeline(ner_model: str | None) -> Language:
    """`ner_model`: an installed spaCy package name or a pipeline folder (spacy.load never
    downloads), or None for a blank English pipeline."""
    nlp = spacy.load(ner_model, exclude=_NOT_NER) if ner_model else spacy.blank("en")
    nlp.add_pipe("owntrace_lowercase_lemma", last=True)
    return nlp


@dataclass
class Analyzer:
    engine: AnalyzerEngine
    ner_model: str | None
    entities: tuple[str, ...]
    plain: AnalyzerEngine | None = None  # the same without NER, for text the model has nothing to find in


def build(phone_regions: Sequence[str] = PHONE_REGIONS, ner_model: str | None = AUTO) -> Analyzer:
    """An AnalyzerEngine with exactly the recognizers OwnTrace uses, built without network.
    `ner_model`: AUTO uses the pipeline `ner_model_path` finds (official en_core_web_sm first);
    a package name or a pipeline folder; None for patterns and checksums only."""
    unknown = [r for r in phone_regions if r not in phonenumbers.SUPPORTED_REGIONS]
    if unknown:
        raise ValueError(f"unknown phone regions {unknown}: use two-letter country codes such as US, GB, DE")
    found = ner_model_path() if ner_model == AUTO else None
    model = (str(found) if found else None) if ner_model == AUTO else ner_model
    # phone numbers: redaction.structured (possible numbers and phone contexts, a superset)
    recognizers = [
        EmailRecognizer(),
        CreditCardRecognizer(),
        IbanRecognizer(),
        IpRecognizer(),
        UrlRecognizer(),
        UsSsnRecognizer(),
        CryptoRecognizer(),
        MacAddressRecognizer(),
        DateRecognizer(),
    ]
    plain = _engine(recognizers, None)
    if not model:
        return Analyzer(plain, None, PATTERN_ENTITIES)
    with_ner = _engine([*recognizers, SpacyRecognizer(supported_entities=list(NER_ENTITIES))], model)
    return Analyzer(with_ner, model, PATTERN_ENTITIES + NER_ENTITIES, plain)


def _engine(recognizers: list, model: str | None) -> AnalyzerEngine:
    registry = RecognizerRegistry(recognizers=recognizers, supported_languages=["en"])
    return AnalyzerEngine(registry=registry, nlp_engine=_InMemorySpacyEngine(_pipeline(model), model or "blank:en"),
                          supported_languages=["en"])
