"""presidio-analyzer built explicitly and offline.

`AnalyzerEngine()` with no arguments downloads en_core_web_lg, and the email recognizer makes
tldextract fetch the public suffix list; neither may happen here. The NLP engine is a blank
spaCy English pipeline built in code (lemmas = lowercased tokens, so context words such as
"phone" or "card" still raise scores), or an installed `en_core_web_sm` when one is importable,
which adds PERSON / LOCATION / ORGANIZATION.
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
    PhoneRecognizer,
    SpacyRecognizer,
    UrlRecognizer,
    UsSsnRecognizer,
)

logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)

NER_MODEL = "en_core_web_sm"
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
        self.nlp = {"en": nlp}

    def load(self) -> None:
        return None


def ner_available() -> bool:
    return spacy.util.is_package(NER_MODEL)


def _pipeline(use_ner: bool) -> tuple[Language, str | None]:
    if use_ner:
        nlp = spacy.load(NER_MODEL, exclude=["lemmatizer"])
        nlp.add_pipe("owntrace_lowercase_lemma", last=True)
        return nlp, NER_MODEL
    nlp = spacy.blank("en")
    nlp.add_pipe("owntrace_lowercase_lemma")
    return nlp, None


@dataclass
class Analyzer:
    engine: AnalyzerEngine
    ner_model: str | None
    entities: tuple[str, ...]


def build(phone_regions: Sequence[str] = ("US", "GB", "DE", "FR"), use_ner: bool | None = None) -> Analyzer:
    """An AnalyzerEngine with exactly the recognizers OwnTrace uses, built without network."""
    unknown = [r for r in phone_regions if r not in phonenumbers.SUPPORTED_REGIONS]
    if unknown:
        raise ValueError(f"unknown phone regions {unknown}: use two-letter country codes such as US, GB, DE")
    if use_ner is None:
        use_ner = ner_available()
    nlp, model = _pipeline(use_ner)
    recognizers = [
        EmailRecognizer(),
        PhoneRecognizer(supported_regions=list(phone_regions)),
        CreditCardRecognizer(),
        IbanRecognizer(),
        IpRecognizer(),
        UrlRecognizer(),
        UsSsnRecognizer(),
        CryptoRecognizer(),
        MacAddressRecognizer(),
        DateRecognizer(),
    ]
    entities = PATTERN_ENTITIES
    if model:
        recognizers.append(SpacyRecognizer(supported_entities=list(NER_ENTITIES)))
        entities = entities + NER_ENTITIES
    registry = RecognizerRegistry(recognizers=recognizers, supported_languages=["en"])
    engine = AnalyzerEngine(
        registry=registry, nlp_engine=_InMemorySpacyEngine(nlp, model or "blank:en"), supported_languages=["en"]
    )
    return Analyzer(engine, model, entities)
