"""The signers a person trusts: the Ed25519 keys `owntrace verify` accepts without --signer.

A bundle's signature only proves that the manifest matches the key named in it: anyone can
change a bundle and sign it again with a key of their own. What says who made it is that key
being one the person checked (given with --signer, or trusted before). The store is
`$OWNTRACE_HOME/trusted-signers.json`: public keys and when they were trusted, no names (it is
readable without the passphrase, as verify needs no identity).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from recorder import limits
from recorder.atomic import write_atomic
from recorder.errors import OwnTraceError
from recorder.keys import fingerprint
from recorder.timestamps import utc_now

FILE = "trusted-signers.json"
MAX_BYTES = 4 * 1024**2
_HEX = re.compile(r"^[0-9a-f]{64}$")


def normal_key(text: str) -> str:
    """A hex Ed25519 public key as manifests name it, or a one-line error."""
    key = text.strip().lower().removeprefix("ed25519:")
    if not _HEX.match(key):
        raise OwnTraceError(f"not an Ed25519 public key: {text.strip()[:70]!r}",
                            "give the 64 hex digits `owntrace export` prints after 'signed by'")
    return key


def is_key(text: str) -> bool:
    return bool(_HEX.match(text))


def key_fingerprint(key_hex: str) -> str:
    return fingerprint(bytes.fromhex(key_hex))


def matches(key_hex: str, given: str) -> bool:
    """Whether `given` (hex, ed25519:hex or a SHA256: fingerprint) names the key `key_hex`."""
    given = given.strip()
    if given.startswith("SHA256:"):
        return given == key_fingerprint(key_hex)
    return given.lower().removeprefix("ed25519:") == key_hex


@dataclass(frozen=True)
class Trusted:
    key: str  # hex
    since: str  # UTC, when it was trusted

    @property
    def fingerprint(self) -> str:
        return key_fingerprint(self.key)


def load(root: Path) -> dict[str, Trusted]:
    path = root / FILE
    if not path.exists():
        return {}
    data = limits.read_file(path, MAX_BYTES, "trusted signers", f"fix or delete {path}")
    try:
        obj = limits.loads(data)
        return {normal_key(k): Trusted(normal_key(k), str(v)) for k, v in obj["signers"].items()}
    except (ValueError, KeyError, TypeError, AttributeError, OwnTraceError):
        raise OwnTraceError(f"{path} is not a list of trusted signers OwnTrace wrote", f"fix or delete {path}") from None


def _save(root: Path, signers: dict[str, Trusted]) -> None:

    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    body = {"format": 1, "signers": {k: t.since for k, t in sorted(signers.items())}}
    write_atomic(root / FILE, (json.dumps(body, indent=1) + "\n").encode())


def add(root: Path, key: str) -> Trusted:
    key = normal_key(key)
    signers = load(root)
    if key not in signers:
        signers[key] = Trusted(key, utc_now())
        _save(root, signers)
    return signers[key]


def remove(root: Path, given: str) -> Trusted:
    signers = load(root)
    for key, t in signers.items():
        if matches(key, given):
            del signers[key]
            _save(root, signers)
            return t
    raise OwnTraceError(f"{given.strip()[:70]} is not a trusted signer", "`owntrace trust list` shows them")
