"""Check a bundle as its recipient: the manifest's Ed25519 signature and every file's hash.

A bundle is a directory, a zip, or an age file holding a tar (decrypted in memory with the
recipient's identity). Anything modified, added or missing is named.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import tarfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyrage
from cryptography.exceptions import InvalidSignature
from pyrage import x25519

from recorder.errors import OwnTraceError
from recorder.export.bundle import BUNDLE_FORMAT, MANIFEST, SIGNATURE
from recorder.keys import public_key_from_hex

AGE_MAGIC = (b"age-encryption.org/v1\n", b"-----BEGIN AGE ENCRYPTED FILE-----")


@dataclass
class VerifyResult:
    path: Path
    kind: str  # dir | zip | age
    ok: bool
    problems: list[str] = field(default_factory=list)
    manifest: dict[str, Any] | None = None
    episode: dict[str, Any] | None = None
    files: dict[str, bytes] = field(default_factory=dict, repr=False)  # the bundle's content, in memory

    @property
    def signer(self) -> str | None:
        return ((self.manifest or {}).get("signer") or {}).get("public_key")

    def summary(self) -> list[str]:
        m, e = self.manifest or {}, self.episode or {}
        lines = [f"bundle   {self.path} ({self.kind})"]
        if m:
            lines += [f"id       {m.get('bundle_id')}  created {m.get('created_at')}",
                      f"signer   ed25519:{self.signer}"]
        if e:
            lines += [f"episode  {e.get('episode_id')}: {e.get('steps')} steps, {e.get('frames')} frames",
                      f"task     {e.get('task')!s:.200}"]
        if isinstance(m.get("study"), dict):
            lines.append(f"study    {m['study'].get('id')}")
        listed = m.get("files")
        files = listed if isinstance(listed, list) else []
        lines.append(f"files    {len(files)} listed, {sum(f.get('size', 0) for f in files if isinstance(f, dict))} bytes")
        return lines


def _read_dir(path: Path) -> dict[str, bytes]:
    out = {}
    for p in sorted(path.rglob("*")):
        rel = p.relative_to(path).as_posix()
        if p.is_symlink():
            raise OwnTraceError(f"{path}: {rel} is a symbolic link", "bundles hold plain files only")
        if p.is_file():
            out[rel] = p.read_bytes()
    return out


def _read_zip(data: bytes, name: str) -> dict[str, bytes]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            out = {}
            for info in z.infolist():
                if not info.is_dir():
                    if info.filename in out:
                        raise OwnTraceError(f"{name}: the zip holds {info.filename} twice", "this is not a bundle OwnTrace wrote")
                    out[info.filename] = z.read(info)
            return out
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as e:
        raise OwnTraceError(f"{name} is not a readable zip: {e}", "the file is damaged or truncated") from None


def _read_tar(data: bytes, name: str) -> dict[str, bytes]:
    out = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
            for m in tar:
                if not m.isfile():
                    raise OwnTraceError(f"{name}: the archive holds {m.name}, which is not a plain file",
                                        "this is not a bundle OwnTrace wrote")
                if m.name in out:
                    raise OwnTraceError(f"{name}: the archive holds {m.name} twice", "this is not a bundle OwnTrace wrote")
                f = tar.extractfile(m)
                out[m.name] = f.read() if f else b""
    except tarfile.TarError as e:
        raise OwnTraceError(f"{name}: the decrypted content is not a tar archive ({e})") from None
    return out


def read_bundle(path: Path, identities: Sequence[x25519.Identity] = ()) -> tuple[str, dict[str, bytes]]:
    """The bundle's kind and its files, all in memory."""
    path = Path(path)
    if path.is_dir():
        return "dir", _read_dir(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise OwnTraceError(f"{path} does not exist") from None
    except OSError as e:
        raise OwnTraceError(f"cannot read {path}: {e.strerror}") from None
    if data.startswith(AGE_MAGIC):
        if not identities:
            raise OwnTraceError(f"{path} is encrypted", "pass --identity FILE with an age identity it was encrypted to")
        try:
            plain = pyrage.decrypt(data, list(identities))
        except pyrage.DecryptError:
            raise OwnTraceError(f"{path} cannot be decrypted with the given identity",
                                "it is damaged, truncated or encrypted to another key") from None
        return "age", _read_tar(plain, str(path))
    if data.startswith(b"PK"):
        return "zip", _read_zip(data, str(path))
    raise OwnTraceError(f"{path} is not an OwnTrace bundle", "bundles are directories, zip files or age files")


def check_files(files: dict[str, bytes]) -> tuple[list[str], dict[str, Any] | None]:
    """Problems found (empty when the bundle is intact) and the manifest if it parses."""
    if MANIFEST not in files:
        return [f"missing: {MANIFEST}"], None
    raw = files[MANIFEST]
    try:
        manifest = json.loads(raw)
        if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), list):
            raise ValueError
    except ValueError:
        return [f"modified: {MANIFEST} is not a valid manifest"], None
    problems = []
    if manifest.get("format") != BUNDLE_FORMAT:
        problems.append(f"unknown format {str(manifest.get('format'))[:40]!r} (expected {BUNDLE_FORMAT})")
    try:
        key = public_key_from_hex(str((manifest.get("signer") or {}).get("public_key", "")))
        sig_file = files.get(SIGNATURE, b"")
        sig = base64.b64decode(sig_file[:-1], validate=True)
        if base64.b64encode(sig) + b"\n" != sig_file:  # one canonical encoding: any changed byte fails
            raise ValueError
        key.verify(sig, raw)
    except (OwnTraceError, InvalidSignature, binascii.Error, ValueError, AttributeError):
        problems.append(f"missing: {SIGNATURE}" if SIGNATURE not in files
                        else f"signature: {SIGNATURE} does not match {MANIFEST} and its signer key")
    listed = set()
    for entry in manifest["files"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
            problems.append(f"modified: {MANIFEST} has a malformed file entry")
            continue
        p = entry["path"]
        listed.add(p)
        if p not in files:
            problems.append(f"missing: {p}")
        elif len(files[p]) != entry.get("size") or hashlib.sha256(files[p]).hexdigest() != entry.get("sha256"):
            problems.append(f"modified: {p}")
    for p in sorted(set(files) - listed - {MANIFEST, SIGNATURE}):
        problems.append(f"added: {p}")
    return problems, manifest


def verify_bundle(path: Path, identities: Sequence[x25519.Identity] = (), *, signer: str | None = None) -> VerifyResult:
    """Read and check a bundle. Raises OwnTraceError when it cannot be read at all; integrity
    problems are listed in the result (ok is False). `signer` (hex Ed25519 public key) pins who
    must have signed it: anyone can sign a bundle with their own key."""
    kind, files = read_bundle(Path(path), identities)
    problems, manifest = check_files(files)
    found = ((manifest or {}).get("signer") or {}).get("public_key")
    if signer is not None and found != signer.strip().lower():
        problems.append(f"signer: signed by {str(found)[:64]}, not by the expected key {signer.strip()[:64]}")
    episode = None
    if "episode.json" in files:
        try:
            episode = json.loads(files["episode.json"])
        except ValueError:
            episode = None
    return VerifyResult(Path(path), kind, not problems, problems, manifest,
                        episode if isinstance(episode, dict) else None, files)
