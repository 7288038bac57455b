"""The researcher's keys: an age identity that receives donations, an Ed25519 key that signs profiles.

Files in the output folder (secrets are 0600, like `age-keygen -o`):
  donations.key        age identity (AGE-SECRET-KEY-1...), usable as is with `age -d -i`
  donations.pub        its recipient (age1...), goes into the profile's recipients
  profile-signing.key  Ed25519 private key, PKCS#8 PEM
  profile-signing.pub  the public key (hex) and its fingerprint, for participants to compare
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)
from pyrage import x25519

from recorder.atomic import write_atomic
from recorder.errors import OwnTraceError
from recorder.keys import fingerprint, public_raw
from recorder.limits import KEY_FILE_MAX, read_file
from recorder.timestamps import utc_now

IDENTITY_FILE = "donations.key"
RECIPIENT_FILE = "donations.pub"
SIGNING_FILE = "profile-signing.key"
SIGNING_PUB_FILE = "profile-signing.pub"


@dataclass(frozen=True)
class ResearcherKeys:
    folder: Path
    recipient: str
    signing_fingerprint: str

    @property
    def identity_path(self) -> Path:
        return self.folder / IDENTITY_FILE

    @property
    def signing_key_path(self) -> Path:
        return self.folder / SIGNING_FILE


def keygen(folder: Path) -> ResearcherKeys:
    folder = Path(folder)
    existing = [n for n in (IDENTITY_FILE, SIGNING_FILE) if (folder / n).exists()]
    if existing:
        raise OwnTraceError(
            f"{folder / existing[0]} already exists",
            "keys are never overwritten: donations encrypted to them would become unreadable; choose another --out",
        )
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as e:
        raise OwnTraceError(f"cannot create {folder}: {e.strerror}", "choose another --out") from None
    ident = x25519.Identity.generate()
    recipient = str(ident.to_public())
    created = utc_now()
    write_atomic(folder / IDENTITY_FILE, f"# created: {created}\n# public key: {recipient}\n{ident}\n".encode())
    write_atomic(folder / RECIPIENT_FILE, f"{recipient}\n".encode(), mode=0o644)
    signing = Ed25519PrivateKey.generate()
    write_atomic(folder / SIGNING_FILE, signing.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    pub = public_raw(signing)
    write_atomic(folder / SIGNING_PUB_FILE, f"{pub.hex()}\n# fingerprint: {fingerprint(pub)}\n".encode(), mode=0o644)
    return ResearcherKeys(folder, recipient, fingerprint(pub))


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    data = read_file(path, KEY_FILE_MAX, "signing key", f"use the {SIGNING_FILE} from `owntrace study keygen`")
    try:
        key = load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise OwnTraceError(f"{path} is not an unencrypted PEM private key", f"use the {SIGNING_FILE} from `owntrace study keygen`") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise OwnTraceError(f"{path} is not an Ed25519 key", f"use the {SIGNING_FILE} from `owntrace study keygen`")
    return key
