"""A finding: a span of text that holds personal data or a secret."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    start: int
    end: int
    entity: str  # EMAIL_ADDRESS, SECRET, DENY, PASSWORD, PERSON, ...
    score: float
    detector: str  # presidio | secrets | deny | password


def placeholder(entity: str) -> str:
    return f"<{entity}>"


def merge(findings: list[Finding]) -> list[Finding]:
    """Overlapping findings become one span; it keeps the entity of the highest-scoring part."""
    out: list[Finding] = []
    for f in sorted(findings, key=lambda f: (f.start, -f.end)):
        if f.end <= f.start:
            continue
        if out and f.start < out[-1].end:
            last = out[-1]
            best = last if last.score >= f.score else f
            out[-1] = Finding(last.start, max(last.end, f.end), best.entity, best.score, best.detector)
        else:
            out.append(f)
    return out


def apply(text: str, findings: list[Finding]) -> str:
    """`text` with each (merged, sorted) finding replaced by its placeholder. A finding that
    spans lines leaves one placeholder per line, so line N of the output is line N of the input."""
    parts, pos = [], 0
    for f in findings:
        parts.append(text[pos:f.start])
        parts.append("\n".join(placeholder(f.entity) for _ in text[f.start:f.end].split("\n")))
        pos = f.end
    parts.append(text[pos:])
    return "".join(parts)
