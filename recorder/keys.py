"""The user's identity (age X25519), its signing key (Ed25519), and sealing helpers.

identity.age  the identity's secret, age-encrypted with a passphrase (scrypt), or
identity.keyring  a marker saying the secret lives in the OS keyring instead.
identity.pub  the public recipient (age1...): all that recording needs.
signing.key.age  the Ed25519 key that signs export manifests, sealed to the identity.
"""

from __future__ import annotations

import base64
import getpass
import hashlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pyrage
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat
from pyrage import x25519

from recorder import passphrase_age
from recorder.atomic import write_atomic
from recorder.errors import CorruptFile, MalformedInput, NotFound, OwnTraceError, WrongPassphrase
from recorder.limits import KEY_FILE_MAX, age_binary, read_text

KEYRING_SERVICE = "owntrace"
PASSPHRASE_ENV = "OWNTRACE_PASSPHRASE"


def seal(data: bytes, recipients: list[x25519.Recipient]) -> bytes:
    """Encrypt to age recipients (standard age v1, binary)."""
    return pyrage.encrypt(data, recipients)


def unseal(data: bytes, identities: list[x25519.Identity], what: str) -> bytes:
    try:  # the header bounds first: pyrage's header parse is quadratic in its size
        return pyrage.decrypt(age_binary(data, what), identities)
    except (pyrage.DecryptError, MalformedInput):
        raise CorruptFile(
            f"{what} is truncated, corrupt or sealed to another key",
            "other files of the session are unaffected; restore this one from a backup if you have one",
        ) from None


def parse_recipient(text: str) -> x25519.Recipient:
    try:
        return x25519.Recipient.from_str(text.strip())
    except Exception:
        raise OwnTraceError(f"not an age X25519 recipient: {text.strip()[:30]!r}", "recipients look like age1...") from None


def parse_identity(text: str) -> x25519.Identity:
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("AGE-SECRET-KEY-"):
            try:
                return x25519.Identity.from_str(line)
            except Exception:
                break
    raise OwnTraceError("not an age X25519 identity file", "identity files hold a line AGE-SECRET-KEY-1...")


def read_identity_file(path: Path) -> x25519.Identity:
    """An age identity from a file the person names (a study's donations.key, a recipient's key)."""
    return parse_identity(read_text(path, KEY_FILE_MAX, "identity file", "identity files hold a line AGE-SECRET-KEY-1..."))


def read_passphrase(passphrase_file: Path | None = None, *, confirm: bool = False) -> str:
    """Passphrase from --passphrase-file, $OWNTRACE_PASSPHRASE, or the terminal (in that order)."""
    if passphrase_file is not None:
        text = read_text(passphrase_file, KEY_FILE_MAX, "passphrase file").rstrip("\r\n")
        if text:
            return text
        raise OwnTraceError(f"passphrase file {passphrase_file} is empty")
    env = os.environ.get(PASSPHRASE_ENV)
    if env:
        return env
    if not sys.stdin.isatty():
        raise OwnTraceError(
            "a passphrase is needed and there is no terminal to ask on",
            f"set {PASSPHRASE_ENV} or pass --passphrase-file",
        )
    pw = getpass.getpass("OwnTrace passphrase: ")
    if confirm and getpass.getpass("Repeat passphrase: ") != pw:
        raise OwnTraceError("the passphrases do not match", "run the command again")
    if not pw:
        raise OwnTraceError("empty passphrase", "choose a passphrase")
    return pw


@dataclass(frozen=True)
class UnlockedIdentity:
    """The user's secrets, in memory only, for commands that read recordings or sign exports."""

    identity: x25519.Identity
    signing_key: Ed25519PrivateKey

    @property
    def recipient(self) -> x25519.Recipient:
        return self.identity.to_public()

    def signing_public_hex(self) -> str:
        return public_hex(self.signing_key)


def public_raw(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    """The raw 32 bytes of an Ed25519 public key (for a private key, of its public half)."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw)


def public_hex(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The form manifests, consent records and study state name an Ed25519 key by."""
    return public_raw(key).hex()


def fingerprint(public_key: bytes) -> str:
    """Short, comparable form of a raw Ed25519 public key, in the style of OpenSSH."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(public_key).digest()).decode().rstrip("=")


def _keyring():
    import keyring
    from keyring.backends import fail

    backend = keyring.get_keyring()
    if isinstance(backend, fail.Keyring) or getattr(backend, "priority", 1) <= 0:
        raise OwnTraceError(
            "no OS keyring is available on this machine",
            "use a passphrase instead (owntrace init without --keyring), or start a keyring service",
        )
    return keyring


def has_identity(root: Path) -> bool:
    return (root / "identity.pub").exists()


def init_identity(root: Path, *, passphrase: str | None, use_keyring: bool = False) -> str:
    """Create the identity and signing key. Returns the public recipient string."""
    if has_identity(root):
        raise OwnTraceError(
            f"an identity already exists in {root}",
            "it is used as is; delete the folder only if you mean to lose every recording in it",
        )
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    ident = x25519.Identity.generate()
    recipient = str(ident.to_public())
    if use_keyring:
        _keyring().set_password(KEYRING_SERVICE, recipient, str(ident))
        write_atomic(root / "identity.keyring", (recipient + "\n").encode())
    else:
        if not passphrase:
            raise OwnTraceError("a passphrase is required", f"set {PASSPHRASE_ENV} or pass --passphrase-file")
        secret = f"# OwnTrace identity, public key: {recipient}\n{ident}\n".encode()
        write_atomic(root / "identity.age", passphrase_age.encrypt(secret, passphrase))
    signing = Ed25519PrivateKey.generate()
    raw = signing.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    write_atomic(root / "signing.key.age", seal(raw, [ident.to_public()]))
    write_atomic(root / "identity.pub", (recipient + "\n").encode(), mode=0o644)
    return recipient


def user_recipient(root: Path) -> x25519.Recipient:
    try:
        return parse_recipient((root / "identity.pub").read_text())
    except FileNotFoundError:
        raise NotFound(f"no OwnTrace identity in {root}", "run `owntrace init` first") from None


def unlock(root: Path, passphrase: str | None = None, passphrase_file: Path | None = None) -> UnlockedIdentity:
    """Unlock the identity with its passphrase (or the keyring) and load the signing key."""
    recipient = str(user_recipient(root))
    if (root / "identity.keyring").exists():
        secret = _keyring().get_password(KEYRING_SERVICE, recipient)
        if not secret:
            raise NotFound("the OS keyring has no OwnTrace identity", "was the keyring reset? restore it from a backup")
        ident = parse_identity(secret)
    else:
        try:
            blob = (root / "identity.age").read_bytes()
        except FileNotFoundError:
            raise NotFound(f"{root / 'identity.age'} is missing", "restore it from a backup") from None
        pw = passphrase if passphrase is not None else read_passphrase(passphrase_file)
        try:
            ident = parse_identity(passphrase_age.decrypt(blob, pw).decode())
        except passphrase_age.WrongPassphrase:
            raise WrongPassphrase("wrong passphrase", f"check {PASSPHRASE_ENV} or the passphrase file") from None
        except passphrase_age.DecryptError as e:
            raise CorruptFile(f"{root / 'identity.age'} cannot be read: {e}", "restore it from a backup") from None
    raw = unseal((root / "signing.key.age").read_bytes(), [ident], "signing.key.age")
    return UnlockedIdentity(ident, Ed25519PrivateKey.from_private_bytes(raw))


def public_key_from_hex(text: str) -> Ed25519PublicKey:
    try:
        return Ed25519PublicKey.from_public_bytes(bytes.fromhex(text))
    except ValueError:
        raise OwnTraceError(f"not an Ed25519 public key: {text[:20]!r}") from None
