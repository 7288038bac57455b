"""The redaction report: what was found where, what was withheld and what the person should
look at. Serialised as `redacted/report.json.age` (see docs/internals.md, "Redacted view")."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

VERSION = 1


# values a person may keep everywhere in one action; structured PII and secrets are kept one by one
KEEPABLE = frozenset({"PERSON", "ORGANIZATION", "LOCATION", "ADDRESS", "HANDLE", "CHANNEL", "REPOSITORY", "HOSTNAME",
                      "WORK_ID"})


class Groups:
    """One number per distinct value found in a session (case and spacing aside)."""

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}

    def of(self, entity: str, value: str) -> int | None:
        key = " ".join(re.sub(r"^\W+|\W+$", "", value).split()).casefold()
        if entity not in KEEPABLE or not key:
            return None
        return self._ids.setdefault(key, len(self._ids))


@dataclass
class ReportFinding:
    item: str  # "frame:N" | "typed:I" | "title:I"
    source: str  # screen | typed | title
    entity: str
    score: float
    bbox: list[int] | None = None  # [x, y, w, h] on a frame
    span: list[int] | None = None  # [start, end) in the typed run's text or the title
    events: list[int] = field(default_factory=list)  # journal indices whose characters were removed
    detector: str = ""  # which detector found it (presidio, ner, lexicon, layout, session, deny …)
    group: int | None = None  # findings of one value share a group: the review keeps them all at once

    def to_obj(self) -> dict[str, Any]:
        obj = {"item": self.item, "source": self.source, "entity": self.entity, "score": round(self.score, 3)}
        if self.bbox is not None:
            obj["bbox"] = list(self.bbox)
        if self.span is not None:
            obj["span"] = list(self.span)
        obj["events"] = list(self.events)
        if self.detector:
            obj["detector"] = self.detector
        if self.group is not None:
            obj["group"] = self.group
        return obj


@dataclass
class Report:
    session: str
    created_at: str
    engine: dict[str, Any]  # {"ner": bool, "ocr": str}
    findings: list[ReportFinding] = field(default_factory=list)
    withheld: list[dict[str, Any]] = field(default_factory=list)  # {"item", "reason"}
    flagged: list[dict[str, Any]] = field(default_factory=list)  # {"item", "bbox", "reason"}

    @property
    def counts(self) -> dict[str, int]:
        return dict(sorted(Counter(f.entity for f in self.findings).items()))

    def withhold(self, item: str, reason: str) -> None:
        self.withheld.append({"item": item, "reason": reason})

    def flag(self, item: str, bbox: list[int], reason: str) -> None:
        self.flagged.append({"item": item, "bbox": list(bbox), "reason": reason})

    def to_obj(self) -> dict[str, Any]:
        return {
            "version": VERSION,
            "session": self.session,
            "created_at": self.created_at,
            "engine": self.engine,
            "counts": self.counts,
            "findings": [f.to_obj() for f in self.findings],
            "withheld": self.withheld,
            "flagged": self.flagged,
        }

    def to_json(self) -> bytes:
        return json.dumps(self.to_obj(), indent=1, ensure_ascii=False).encode()

    @classmethod
    def from_json(cls, data: bytes | str) -> Report:
        obj = json.loads(data)
        if not isinstance(obj, dict) or obj.get("version") != VERSION:
            raise ValueError("not a version 1 redaction report")
        known = set(ReportFinding.__dataclass_fields__)
        return cls(
            session=obj["session"],
            created_at=obj["created_at"],
            engine=obj.get("engine", {}),
            findings=[ReportFinding(**{k: v for k, v in f.items() if k in known}) for f in obj.get("findings", [])],
            withheld=list(obj.get("withheld", [])),
            flagged=list(obj.get("flagged", [])),
        )

    def summary(self) -> str:
        """One human line: counts per entity type, withheld and flagged items."""
        counts = ", ".join(f"{k} {v}" for k, v in self.counts.items()) or "nothing found"
        return f"{counts}; {len(self.withheld)} withheld, {len(self.flagged)} flagged for review"

