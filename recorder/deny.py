"""Your deny list: your own name, usernames, contacts and companies, always redacted.

It names people, so it is sealed to your identity like every other personal datum
(`$OWNTRACE_HOME/deny.json.age`, age, readable only after unlock) and never kept in clear:
config.toml holds settings, not people. Older versions kept it in config.toml's
`[redaction] deny`; the first unlock moves those terms here and removes them from the clear file.
"""

from __future__ import annotations

import json
from pathlib import Path

from recorder import config
from recorder.atomic import write_atomic
from recorder.errors import OwnTraceError
from recorder.keys import PASSPHRASE_ENV, UnlockedIdentity, seal, unseal

FILE = "deny.json.age"
MAX_TERMS = 10_000
MAX_CHARS = 1000


def exists(root: Path) -> bool:
    """Whether there is a deny list to apply, sealed or still in config.toml (no unlock needed)."""
    return (root / FILE).exists() or bool(config.load(root).legacy_deny)


def load(root: Path, user: UnlockedIdentity) -> list[str]:
    """The sealed terms (without any still in config.toml: see terms)."""
    path = root / FILE
    if not path.exists():
        return []
    raw = unseal(path.read_bytes(), [user.identity], FILE)
    try:
        terms = json.loads(raw)["terms"]
        if not isinstance(terms, list) or not all(isinstance(t, str) for t in terms):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise OwnTraceError(f"{path} does not hold a deny list", "restore it from a backup, or delete it and add the terms again") from None
    return terms


def terms(root: Path, user: UnlockedIdentity | None) -> list[str]:
    """Every term to redact: the sealed ones and any an older version left in config.toml. Without
    `user`, a deny list that exists is an error: redacting without it would fail open."""
    legacy = config.load(root).legacy_deny
    if user is None:
        if exists(root):
            raise OwnTraceError("your deny list is sealed, so redacting with it needs your passphrase",
                                f"set {PASSPHRASE_ENV} or pass --passphrase-file")
        return []
    return _merge(load(root, user), legacy)


def _merge(terms: list[str], more: list[str]) -> list[str]:
    seen = {t.casefold() for t in terms}
    out = list(terms)
    for t in more:
        if t.strip() and t.casefold() not in seen:
            seen.add(t.casefold())
            out.append(t)
    return out


def save(root: Path, user: UnlockedIdentity, terms: list[str]) -> None:
    if len(terms) > MAX_TERMS:
        raise OwnTraceError(f"a deny list holds at most {MAX_TERMS} terms", "remove some first")
    body = json.dumps({"format": 1, "terms": terms}, ensure_ascii=False).encode()
    write_atomic(root / FILE, seal(body, [user.recipient]))


def add(root: Path, user: UnlockedIdentity, new: list[str]) -> list[str]:
    """Add terms (case-insensitively new ones only); returns those added."""
    for t in new:
        if not t.strip() or len(t) > MAX_CHARS:
            raise OwnTraceError(f"a deny-list term is 1 to {MAX_CHARS} characters", "check the terms you gave")
    current = load(root, user)
    merged = _merge(current, new)
    save(root, user, merged)
    return merged[len(current):]


def remove(root: Path, user: UnlockedIdentity, old: list[str]) -> list[str]:
    """Remove terms (case-insensitively); returns those removed."""
    gone = {t.casefold() for t in old}
    current = load(root, user)
    kept = [t for t in current if t.casefold() not in gone]
    save(root, user, kept)
    return [t for t in current if t.casefold() in gone]


def migrate(root: Path, user: UnlockedIdentity) -> list[str]:
    """Move `[redaction] deny` of config.toml into the sealed list and out of the clear file.
    Returns the terms moved (none when there were none)."""
    legacy = config.load(root).legacy_deny
    if not legacy:
        return []
    save(root, user, _merge(load(root, user), legacy))
    config.remove_legacy_deny(root)
    return legacy
