"""Local redaction of personal data and secrets in text and screenshots.

Standalone: never imports `recorder`. Heavy parts (presidio, spaCy, tesseract) load only when
a detector or the OCR is built, so `status()` stays cheap.
"""

from __future__ import annotations

import importlib

# phone numbers are parsed as written in these regions unless config.toml says otherwise
PHONE_REGIONS = ("US", "GB", "DE", "FR")


def status() -> list[tuple[str, bool, str]]:
    """(name, ok, what it means / what to do) lines for `owntrace doctor`."""
    from . import presidio_engine

    lines: list[tuple[str, bool, str]] = []
    if presidio_engine.ner_available():
        from .lexicon import ner_model_path

        model = ner_model_path()
        lines.append(("redaction NER", True, f"{model.name if model else 'a spaCy pipeline'} finds names, places and organisations"))
    else:
        lost = ", ".join(presidio_engine.NER_ENTITIES)
        lines.append((
            "redaction NER",
            False,
            f"no English NER pipeline ({presidio_engine.NER_MODEL}) installed: {lost} are not detected "
            "automatically; add your own name, contacts and companies to [redaction] deny in config.toml",
        ))
    try:
        ocr = importlib.import_module("redaction.ocr")
    except ImportError as e:
        lines.append(("redaction OCR", False, f"OCR unavailable ({e}): screenshots cannot be redacted and are withheld"))
    else:
        ocr_status = getattr(ocr, "status", None)
        if callable(ocr_status):
            lines.extend(ocr_status())
    return lines
