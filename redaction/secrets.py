"""Secrets: provider key formats, private-key blocks, credentials in URLs and assignments, and
high-entropy tokens. Patterns follow detect-secrets and the providers' published prefixes."""

from __future__ import annotations

import math
import re
from collections import Counter

from .findings import Finding

ENTITY = "SECRET"

# (name, pattern, score); group "s" marks the secret part when only part of a match is secret
_PATTERNS: list[tuple[str, re.Pattern[str], float]] = [
    ("aws-key-id", re.compile(r"\b(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}\b"), 0.95),
    ("github", re.compile(r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{30,255}\b"), 0.99),
    ("github-pat", re.compile(r"\bgithub_pat_[A-Za-z0-9_]{22,255}\b"), 0.99),
    ("gitlab", re.compile(r"\b(?:glpat|gldt|glrt|glptt|glft|glsoat|glcbt)-[A-Za-z0-9_\-]{20,}"), 0.99),
    ("slack", re.compile(r"\bxox[abposre]-[A-Za-z0-9\-]{10,}"), 0.99),
    ("slack-webhook", re.compile(r"https://hooks\.slack\.com/(?:services|workflows)/[A-Za-z0-9+/_\-]{20,}"), 0.99),
    ("stripe", re.compile(r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}\b"), 0.99),
    ("stripe-webhook", re.compile(r"\bwhsec_[A-Za-z0-9]{24,}\b"), 0.99),
    ("openai-style", re.compile(r"\bsk-(?:[a-z]{2,8}-)?[A-Za-z0-9_\-]{20,}"), 0.95),
    ("google-api", re.compile(r"\bAIza[0-9A-Za-z_\-]{35}\b"), 0.95),
    ("age-identity", re.compile(r"\bAGE-SECRET-KEY-1[0-9A-Z]{58}\b"), 0.99),
    ("jwt", re.compile(r"\beyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}"), 0.99),
    ("private-key", re.compile(
        r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----.*?-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----", re.S), 0.99),
    # unterminated (typing in progress, a cut-off screen): the header lines and base64 lines that follow
    ("private-key-open", re.compile(
        r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----"
        r"(?:[ \t]*\r?\n(?:[A-Za-z][A-Za-z\-]*:[^\n]*|[A-Za-z0-9+/]{16,}=*|[A-Za-z0-9+/]+={1,2}))*"),
        0.99),
    # scheme://user:password@host/path — the whole URL
    ("url-credentials", re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s:/@]+:[^\s@/]+@[^\s\"'<>]+"), 0.95),
    # Password=...; in connection strings and key = value settings: the value only
    ("assignment", re.compile(
        r"(?i)\b[\w.\-]*(?:passw(?:or)?d|pwd|secret|token|api[_\-]?key|access[_\-]?key|auth[_\-]?key|private[_\-]?key)"
        r"[\w.\-]*[\"']?\s*(?:=|:=|:|=>)\s*[\"']?(?P<s>[^\s\"';,]{4,})"), 0.8),
]

_HASH_SCORE = 0.35
_COMMIT_BEFORE = re.compile(r"(?i)\b(?:commit|merge|revert|cherry-pick|parent|tree)[ \t]+$")
_TOKEN_RE = re.compile(r"[A-Za-z0-9+/_\-]{20,}={0,2}")
_WORDLIKE_SEGMENT = re.compile(r"^(?:[a-z]+|[A-Z][a-z]+|[A-Z]+|\d{1,4})$")


def shannon_entropy(s: str) -> float:
    counts = Counter(s)
    n = len(s)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def _looks_random(token: str) -> float:
    """A score for a 20+ char token that looks like a key, or 0 for words, paths and identifiers."""
    core = token.strip("=-_/")
    if len(core) < 20:
        return 0.0
    segments = [s for s in re.split(r"[/._\-+]", core) if s]
    # snake_case / kebab-case / paths made of words and short numbers are not keys
    if all(_WORDLIKE_SEGMENT.match(s) for s in segments):
        return 0.0
    letters = sum(c.isalpha() for c in core)
    digits = sum(c.isdigit() for c in core)
    upper = sum(c.isupper() for c in core)
    entropy = shannon_entropy(core)
    if re.fullmatch(r"[0-9a-fA-F\-]+", core):
        # hex (and UUIDs): hashes look the same as hex keys; keep them, scored low for the reviewer
        return _HASH_SCORE if len(core) >= 32 and digits and letters and entropy >= 3.0 else 0.0
    if digits >= 2 and letters >= 4 and entropy >= 3.4:
        return 0.7
    if letters and 0.25 <= upper / letters <= 0.75 and entropy >= 3.7:
        return 0.6  # mixed case with no digits, far more case switches than camelCase
    return 0.0


def _mostly_hex(token: str) -> bool:
    """An object id as OCR reads it: hex, but for a few lookalikes ("l" for "1", "O" for "0")."""
    core = token[:40]
    return sum(c in "0123456789abcdef" for c in core) >= 0.85 * len(core)


def find(text: str) -> list[Finding]:
    out: list[Finding] = []
    for _, pattern, score in _PATTERNS:
        for m in pattern.finditer(text):
            start, end = m.span("s") if "s" in pattern.groupindex else m.span()
            out.append(Finding(start, end, ENTITY, score, "secrets"))
    for m in _TOKEN_RE.finditer(text):
        score = _looks_random(m.group())
        if score and _COMMIT_BEFORE.search(text, 0, m.start()) and _mostly_hex(m.group()):
            continue  # `commit 9fceb02…` in git log, tig, a code review: an object id, not a key
        if score:
            out.append(Finding(m.start(), m.end(), ENTITY, score, "secrets"))
    return out
