"""Check a bundle as its recipient: the manifest's Ed25519 signature and every file's hash.

A bundle is a directory, a zip, or an age file holding a tar (decrypted in memory with the
recipient's identity). Anything modified, added or missing is named.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import os
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyrage
from cryptography.exceptions import InvalidSignature
from pyrage import x25519

from recorder import limits as bounded
from recorder.errors import MalformedInput, OwnTraceError, Tampered
from recorder.export import trust
from recorder.export.bundle import BUNDLE_FORMAT, MANIFEST, SIGNATURE
from recorder.keys import public_key_from_hex
from recorder.limits import DEFAULT, Limits, NotPlainFile, age_binary, read_capped, read_file, read_prefix
from recorder.schema import HEX64, Int, ListOf, Obj, Str, check

AGE_MAGIC = (b"age-encryption.org/v1\n", b"-----BEGIN AGE ENCRYPTED FILE-----")

MANIFEST_SCHEMA = Obj({
    "format": Str(200),
    "bundle_id": Str(200),
    "created_at": Str(64),
    "signer": Obj({"public_key": Str(128)}, frozenset({"public_key"})),
    "files": ListOf(Obj({"path": Str(1024), "size": Int(0, 2**40), "sha256": Str(128)},
                        frozenset({"path", "size", "sha256"})), DEFAULT.members),
    "study": Obj({"id": Str(200), "config_sha256": HEX64, "consent_sha256": HEX64}, nullable=True),
}, frozenset({"files"}))
EPISODE_SCHEMA = Obj({"episode_id": Str(200), "steps": Int(0, 2**31), "frames": Int(0, 2**31)})


def parse_manifest(raw: bytes) -> dict[str, Any]:
    """manifest.json checked against its schema; ValueError (the reason) when it does not fit."""
    return check(bounded.loads(raw), MANIFEST_SCHEMA, "manifest")


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
    def malformed(self) -> bool:
        """No valid manifest: nothing could be checked (exit 3), unlike a mismatch (exit 1)."""
        return self.manifest is None

    @property
    def signer(self) -> str | None:
        key = (self.manifest or {}).get("signer", {}).get("public_key")
        return key if isinstance(key, str) and trust.is_key(key) else None

    def summary(self) -> list[str]:
        m, e = self.manifest or {}, self.episode or {}
        lines = [f"bundle   {self.path} ({self.kind})"]
        if m:
            lines += [f"id       {m.get('bundle_id')}  created {m.get('created_at')}",
                      f"key      ed25519:{self.signer}"]
        if e:
            lines += [f"episode  {e.get('episode_id')}: {e.get('steps')} steps, {e.get('frames')} frames",
                      f"task     {e.get('task')!s:.200}"]
        if isinstance(m.get("study"), dict):
            lines.append(f"study    {m['study'].get('id')}")
        listed = m.get("files")
        files = listed if isinstance(listed, list) else []
        lines.append(f"files    {len(files)} listed, {sum(f.get('size', 0) for f in files if isinstance(f, dict))} bytes")
        return lines


def _declared_sizes(raw: bytes | None) -> dict[str, int]:
    """The sizes a well-formed manifest declares: no member is read further than that."""
    try:
        return {f["path"]: f["size"] for f in parse_manifest(raw)["files"]} if raw is not None else {}
    except ValueError:
        return {}


SIGNATURE_BYTES = 256  # base64 of a 64-byte signature and a newline, with room to spare


class _Reader:
    """Collects a bundle's members within the limits: the manifest first, then every other
    member only as far as the manifest declares it (one byte more shows it is larger)."""

    def __init__(self, name: str, limits: Limits) -> None:
        self.name, self.limits = name, limits
        self.files: dict[str, bytes] = {}
        self.sizes: dict[str, int] = {}

    def bad(self, what: str) -> MalformedInput:
        return MalformedInput(f"{self.name}: {what}", "this is not a bundle OwnTrace wrote")

    def count(self, n: int) -> None:
        if n > self.limits.members:
            raise self.bad(f"it holds more than {self.limits.members} members")

    def manifest(self, read: Callable[[int], bytes]) -> None:
        raw = read(self.limits.manifest_bytes)
        if len(raw) > self.limits.manifest_bytes:
            raise self.bad(f"{MANIFEST} is larger than {self.limits.manifest_bytes // 2**20} MiB")
        self.files[MANIFEST] = raw
        self.sizes = _declared_sizes(raw)
        if sum(self.sizes.values()) > self.limits.bundle_bytes:
            raise self.bad(f"its manifest declares more than {self.limits.bundle_bytes // 2**20} MiB")

    def add(self, member: str, read: Callable[[int], bytes]) -> None:
        if member in self.files:
            raise self.bad(f"it holds {member} twice")
        self.files[member] = read(self.sizes.get(member, SIGNATURE_BYTES if member == SIGNATURE else 0))


def _regular(st: os.stat_result) -> bool:
    return stat.S_ISREG(st.st_mode)


def _read_dir(path: Path, limits: Limits) -> dict[str, bytes]:
    reader = _Reader(str(path), limits)
    members: list[str] = []
    for folder, dirs, names in os.walk(path, followlinks=False):
        for n in sorted(dirs + names):
            p = Path(folder) / n
            rel = p.relative_to(path).as_posix()
            st = p.lstat()
            if stat.S_ISLNK(st.st_mode):
                raise MalformedInput(f"{path}: {rel} is a symbolic link", "bundles hold plain files only")
            if not stat.S_ISDIR(st.st_mode) and not _regular(st):
                raise reader.bad(f"{rel} is not a plain file (a FIFO, socket or device)")
            if n in names:
                members.append(rel)
                reader.count(len(members))

    def opener(rel: str) -> Callable[[int], bytes]:
        def read(limit: int) -> bytes:
            try:  # a file swapped for a FIFO or a link after the walk cannot block or escape the read
                return read_prefix(path / rel, limit, follow=False, plain_only=True)
            except NotPlainFile:
                raise reader.bad(f"{rel} is not a plain file") from None
        return read

    try:
        if MANIFEST in members:
            reader.manifest(opener(MANIFEST))
        for rel in sorted(members):
            if rel != MANIFEST:
                reader.add(rel, opener(rel))
    except OSError as e:
        raise OwnTraceError(f"cannot read {path}: {e.strerror}") from None
    return reader.files


ZIP_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)  # what OwnTrace writes


def _read_zip(data: bytes, name: str, limits: Limits) -> dict[str, bytes]:
    reader = _Reader(name, limits)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            infos = [i for i in z.infolist() if not i.is_dir()]
            reader.count(len(infos))
            for info in infos:
                kind = stat.S_IFMT(info.external_attr >> 16)
                if info.flag_bits & 0x1:
                    raise reader.bad(f"{info.filename} is encrypted")
                if info.compress_type not in ZIP_METHODS:
                    raise reader.bad(f"{info.filename} uses compression method {info.compress_type}")
                if kind not in (0, stat.S_IFREG):
                    raise reader.bad(f"{info.filename} is not a plain file (a link or device)")

            def opener(info: zipfile.ZipInfo) -> Callable[[int], bytes]:
                def read(limit: int) -> bytes:
                    with z.open(info) as f:
                        return read_capped(f, limit)
                return read

            for info in sorted(infos, key=lambda i: i.filename != MANIFEST):
                if info.filename == MANIFEST and MANIFEST not in reader.files:
                    reader.manifest(opener(info))
                else:
                    reader.add(info.filename, opener(info))
            return reader.files
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, OSError, EOFError, ValueError,
            RuntimeError, NotImplementedError) as e:
        raise MalformedInput(f"{name} is not a readable zip: {str(e)[:120]}", "the file is damaged or truncated") from None


def _read_tar(data: bytes, name: str, limits: Limits) -> dict[str, bytes]:
    # the tar is decrypted in memory already: a plain member's bytes are part of it, so only
    # sparse members (which expand on reading), links, devices and FIFOs need refusing
    reader = _Reader(name, limits)
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
            members = []
            for m in tar:
                if m.type not in (tarfile.REGTYPE, tarfile.AREGTYPE) or m.issparse():
                    raise reader.bad(f"the archive holds {m.name[:200]}, which is not a plain file")
                members.append(m)
                reader.count(len(members))
            for m in sorted(members, key=lambda m: m.name != MANIFEST):
                def read(limit: int, m: tarfile.TarInfo = m) -> bytes:
                    f = tar.extractfile(m)
                    return read_capped(f, limit) if f else b""
                if m.name == MANIFEST and MANIFEST not in reader.files:
                    reader.manifest(read)
                else:
                    reader.add(m.name, read)
    except (tarfile.TarError, EOFError, ValueError) as e:
        raise MalformedInput(f"{name}: the decrypted content is not a tar archive ({str(e)[:120]})") from None
    return reader.files


def _decrypt(data: bytes, identities: Sequence[x25519.Identity], name: str) -> bytes:
    try:
        return pyrage.decrypt(age_binary(data, name), list(identities))
    except pyrage.DecryptError as e:
        if "no matching keys" in str(e).lower():
            raise OwnTraceError(f"{name} cannot be decrypted with the given identity",
                                "it is encrypted to another key") from None
        raise Tampered(f"{name} cannot be decrypted: its content fails authentication",
                       "it is damaged, truncated or was modified") from None


def read_bundle(path: Path, identities: Sequence[x25519.Identity] = (), limits: Limits = DEFAULT) -> tuple[str, dict[str, bytes]]:
    """The bundle's kind and its files, all in memory, read within `limits`."""
    path = Path(path)
    if path.is_dir():
        return "dir", _read_dir(path, limits)
    data = read_file(path, limits.bundle_bytes + limits.manifest_bytes, "bundle",
                     "bundles are directories, zip files or age files", error=MalformedInput, plain_only=True)
    if data.startswith(AGE_MAGIC):
        if not identities:
            raise OwnTraceError(f"{path} is encrypted", "pass --identity FILE with an age identity it was encrypted to")
        return "age", _read_tar(_decrypt(data, identities, str(path)), str(path), limits)
    if data.startswith(b"PK"):
        return "zip", _read_zip(data, str(path), limits)
    raise MalformedInput(f"{path} is not an OwnTrace bundle", "bundles are directories, zip files or age files")


def check_files(files: dict[str, bytes]) -> tuple[list[str], dict[str, Any] | None]:
    """Problems found (empty when the bundle is intact) and the manifest if it parses."""
    if MANIFEST not in files:
        return [f"missing: {MANIFEST}"], None
    raw = files[MANIFEST]
    try:
        manifest = parse_manifest(raw)
    except ValueError as e:
        return [f"modified: {MANIFEST} is not a valid manifest ({str(e)[:160]})"], None
    problems = []
    if manifest.get("format") != BUNDLE_FORMAT:
        problems.append(f"unknown format {str(manifest.get('format'))[:40]!r} (expected {BUNDLE_FORMAT})")
    try:
        key = public_key_from_hex(manifest.get("signer", {}).get("public_key", ""))
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
        p = entry["path"]
        listed.add(p)
        if p not in files:
            problems.append(f"missing: {p}")
        elif len(files[p]) != entry["size"] or hashlib.sha256(files[p]).hexdigest() != entry["sha256"]:
            problems.append(f"modified: {p}")
    for p in sorted(set(files) - listed - {MANIFEST, SIGNATURE}):
        problems.append(f"added: {p}")
    return problems, manifest


def verify_bundle(path: Path, identities: Sequence[x25519.Identity] = (), *, signer: str | None = None,
                  limits: Limits = DEFAULT) -> VerifyResult:
    """Read and check a bundle. Raises OwnTraceError when it cannot be read at all; integrity
    problems are listed in the result (ok is False). `signer` (hex Ed25519 public key or its
    SHA256: fingerprint) pins who must have signed it: anyone can sign a bundle with their own key."""
    kind, files = read_bundle(Path(path), identities, limits)
    problems, manifest = check_files(files)
    found = (manifest or {}).get("signer", {}).get("public_key")
    if signer is not None and manifest is not None and not trust.matches(str(found), signer):
        problems.append(f"signer: signed by {trust.key_fingerprint(str(found)) if trust.is_key(str(found)) else 'no key'}"
                        f", not by the key you gave ({signer.strip()[:70]})")
    episode = None
    if "episode.json" in files:
        try:
            episode = check(bounded.loads(files["episode.json"]), EPISODE_SCHEMA)
        except ValueError:
            episode = None
    return VerifyResult(Path(path), kind, not problems, problems, manifest, episode, files)
