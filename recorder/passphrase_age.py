"""age files sealed with a passphrase (the scrypt recipient of age v1), with a fixed work factor.

Why not pyrage.passphrase: rage picks the work factor by timing one tiny scrypt run on the spot,
for encryption (a loaded machine gets a weaker file) and for decryption (it refuses files whose
factor exceeds that guess by more than 4). One preempted millisecond in that guess made a right
passphrase fail as a wrong one. Here, as in age's reference implementation: encrypt at 2^18,
accept up to 2^22, whatever the machine is doing. The output is standard age: stock `age -d`
and pyrage read it, and this reads theirs.

Format (https://age-encryption.org/v1): a text header ("age-encryption.org/v1", one stanza
"-> scrypt SALT LOG_N" whose body wraps the 16-byte file key, "--- MAC"), then the STREAM
payload: a 16-byte nonce and 64 KiB chunks sealed with ChaCha20-Poly1305.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

INTRO = b"age-encryption.org/v1\n"
SCRYPT_LABEL = b"age-encryption.org/v1/scrypt"
WORK_FACTOR = 18  # age's own default (about 1 s)
MAX_WORK_FACTOR = 22  # age's default ceiling for decryption (about 16 s and 4 GiB at worst)
CHUNK = 64 * 1024
TAG = 16
MAX_HEADER = 4096  # a scrypt header is under 200 bytes; a bound keeps a hostile file cheap


class DecryptError(ValueError):
    """The passphrase is wrong, or the file is not an age passphrase file."""


class WrongPassphrase(DecryptError):
    pass


def _b64(data: bytes) -> bytes:
    return base64.b64encode(data).rstrip(b"=")


def _unb64(text: bytes) -> bytes:
    if b"=" in text or b"\n" in text:  # age's base64 is canonical, unpadded
        raise DecryptError("bad base64 in the header")
    try:
        raw = base64.b64decode(text + b"=" * (-len(text) % 4), validate=True)
    except ValueError:
        raise DecryptError("bad base64 in the header") from None
    if _b64(raw) != text:
        raise DecryptError("non-canonical base64 in the header")
    return raw


def _hkdf(key: bytes, salt: bytes, info: bytes) -> bytes:
    return HKDF(hashes.SHA256(), 32, salt, info).derive(key)


def _scrypt(passphrase: str, salt: bytes, log_n: int) -> bytes:
    n = 1 << log_n
    return hashlib.scrypt(passphrase.encode(), salt=SCRYPT_LABEL + salt, n=n, r=8, p=1, dklen=32,
                          maxmem=128 * 8 * n + 2**20)


def _stream(file_key: bytes, nonce: bytes, data: bytes, seal: bool) -> bytes:
    aead = ChaCha20Poly1305(_hkdf(file_key, nonce, b"payload"))
    size = CHUNK if seal else CHUNK + TAG
    chunks = [data[i : i + size] for i in range(0, len(data), size)] or [b""]
    out = []
    for counter, chunk in enumerate(chunks):
        last = counter == len(chunks) - 1
        if not seal and not chunk and counter:  # only an empty file has an empty (first) chunk
            raise DecryptError("an empty final chunk")
        chunk_nonce = counter.to_bytes(11, "big") + (b"\x01" if last else b"\x00")
        try:
            out.append(aead.encrypt(chunk_nonce, chunk, None) if seal else aead.decrypt(chunk_nonce, chunk, None))
        except InvalidTag:
            raise DecryptError("the payload is corrupt") from None
    return b"".join(out)


def encrypt(data: bytes, passphrase: str, work_factor: int = WORK_FACTOR) -> bytes:
    file_key, salt = os.urandom(16), os.urandom(16)
    wrap = ChaCha20Poly1305(_scrypt(passphrase, salt, work_factor)).encrypt(bytes(12), file_key, None)
    header = INTRO + b"-> scrypt " + _b64(salt) + b" %d\n" % work_factor + _b64(wrap) + b"\n---"
    mac = hmac.new(_hkdf(file_key, b"", b"header"), header, hashlib.sha256).digest()
    nonce = os.urandom(16)
    return header + b" " + _b64(mac) + b"\n" + nonce + _stream(file_key, nonce, data, seal=True)


def decrypt(blob: bytes, passphrase: str, max_work_factor: int = MAX_WORK_FACTOR) -> bytes:
    """Raises WrongPassphrase when the passphrase does not open it, DecryptError when it is no
    well-formed age passphrase file (or asks for more work than `max_work_factor`)."""
    head = blob[:MAX_HEADER]
    end = head.find(b"\n---")
    if not head.startswith(INTRO) or end < 0:
        raise DecryptError("not an age file")
    mac_line_end = blob.find(b"\n", end + 4)
    if mac_line_end < 0 or blob[end + 4 : end + 5] != b" ":
        raise DecryptError("the header has no MAC")
    lines = blob[len(INTRO) : end].split(b"\n")
    args = lines[0].split(b" ")
    if len(lines) != 2 or len(args) != 4 or args[:2] != [b"->", b"scrypt"]:
        raise DecryptError("not a passphrase-protected age file (one scrypt stanza)")
    salt, body = _unb64(args[2]), _unb64(lines[1])
    if not args[3].isdigit() or args[3].startswith(b"0") or len(salt) != 16 or len(body) != 32:
        raise DecryptError("a malformed scrypt stanza")
    log_n = int(args[3])
    if log_n > max_work_factor:
        raise DecryptError(f"the file asks for scrypt work factor {log_n}, above the limit of {max_work_factor}")
    try:
        file_key = ChaCha20Poly1305(_scrypt(passphrase, salt, log_n)).decrypt(bytes(12), body, None)
    except InvalidTag:
        raise WrongPassphrase("wrong passphrase") from None
    mac = hmac.new(_hkdf(file_key, b"", b"header"), blob[: end + 4], hashlib.sha256).digest()
    if not hmac.compare_digest(mac, _unb64(blob[end + 5 : mac_line_end])):
        raise DecryptError("the header MAC does not match")
    payload = blob[mac_line_end + 1 :]
    if len(payload) < 16:
        raise DecryptError("the payload is truncated")
    return _stream(file_key, payload[:16], payload[16:], seal=False)
