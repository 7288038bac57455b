"""Export an approved session as a signed bundle: a directory, a zip, or one age file.

Every item is recomputed from the redacted view and the review decisions and must match the
hash recorded at approval, byte for byte. manifest.json lists every file with its size and
SHA-256; manifest.sig is the Ed25519 signature over manifest.json's exact bytes (base64).
The age format streams a tar through age encryption: nothing of the bundle is written in clear.
"""

from __future__ import annotations

import abc
import base64
import datetime as dt
import io
import json
import os
import shutil
import tarfile
import threading
import uuid
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import pyrage
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pyrage import x25519

from recorder.errors import OwnTraceError
from recorder.export.trajectories import FORMATS as TRAJECTORY_FORMATS
from recorder.export.trajectories import converted_files
from recorder.hashing import sha256
from recorder.keys import UnlockedIdentity, parse_recipient, public_hex
from recorder.progress import Progress
from recorder.redact.view import RedactedView
from recorder.review.approval import approved_plan
from recorder.store.records import State
from recorder.store.session import Session, resolve
from recorder.timestamps import utc_now

FORMATS = ("dir", "zip", "age")
BUNDLE_FORMAT = "owntrace-bundle/1"
MANIFEST, SIGNATURE = "manifest.json", "manifest.sig"


@dataclass
class ExportResult:
    path: Path
    fmt: str
    bundle_id: str
    files: int  # files in the bundle, manifest and signature included
    bytes: int  # bytes of those files (before zip or age framing)
    manifest: dict[str, Any]


def sign_manifest(manifest: dict[str, Any], key: Ed25519PrivateKey) -> tuple[bytes, bytes]:
    """manifest.json bytes and manifest.sig (base64 of the Ed25519 signature, one line)."""
    data = json.dumps(manifest, indent=2, ensure_ascii=False).encode() + b"\n"
    return data, base64.b64encode(key.sign(data)) + b"\n"


def _safe_member(path: str) -> str:
    p = PurePosixPath(path)
    if not path or p.is_absolute() or ".." in p.parts or str(p) != path or path in (MANIFEST, SIGNATURE):
        raise OwnTraceError(f"cannot add {path!r} to a bundle", "extra files need plain relative paths")
    return path


class _Writer(abc.ABC):
    """Writes bundle members to a temporary name next to `out`, renamed into place on success."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.tmp = out.with_name(f".{out.name}.partial-{uuid.uuid4().hex[:8]}")

    @abc.abstractmethod
    def add(self, path: str, data: bytes) -> None: ...

    def close(self) -> None:
        os.replace(self.tmp, self.out)

    def abort(self) -> None:
        if self.tmp.is_dir():
            shutil.rmtree(self.tmp, ignore_errors=True)
        else:
            self.tmp.unlink(missing_ok=True)


class _DirWriter(_Writer):
    def __init__(self, out: Path) -> None:
        super().__init__(out)
        self.tmp.mkdir()

    def add(self, path: str, data: bytes) -> None:
        target = self.tmp / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


class _ZipWriter(_Writer):
    def __init__(self, out: Path) -> None:
        super().__init__(out)
        self.zip = zipfile.ZipFile(self.tmp, "x")

    def add(self, path: str, data: bytes) -> None:
        # PNGs are compressed already
        method = zipfile.ZIP_STORED if path.endswith(".png") else zipfile.ZIP_DEFLATED
        self.zip.writestr(zipfile.ZipInfo(path, date_time=(1980, 1, 1, 0, 0, 0)), data, compress_type=method)

    def close(self) -> None:
        self.zip.close()
        super().close()

    def abort(self) -> None:
        self.zip.close()
        super().abort()


class _AgeWriter(_Writer):
    """A tar stream piped into age encryption on another thread: bounded memory, no clear file."""

    def __init__(self, out: Path, recipients: Sequence[x25519.Recipient]) -> None:
        super().__init__(out)
        r, w = os.pipe()
        self._rf, self._wf = os.fdopen(r, "rb"), os.fdopen(w, "wb")
        self._out = open(self.tmp, "xb")
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._encrypt, args=(list(recipients),), daemon=True)
        self._thread.start()
        self.tar = tarfile.open(fileobj=self._wf, mode="w|", format=tarfile.PAX_FORMAT)
        self._mtime = int(dt.datetime.now(dt.UTC).timestamp())

    def _encrypt(self, recipients: list[x25519.Recipient]) -> None:
        try:
            pyrage.encrypt_io(self._rf, self._out, recipients)
        except BaseException as e:  # reported by close()
            self._error = e
        finally:
            self._rf.close()

    def add(self, path: str, data: bytes) -> None:
        info = tarfile.TarInfo(path)
        info.size, info.mtime, info.mode = len(data), self._mtime, 0o644
        self.tar.addfile(info, io.BytesIO(data))

    def _finish(self) -> None:
        try:
            self.tar.close()
            self._wf.close()
        except (BrokenPipeError, ValueError):
            pass
        self._thread.join()
        self._out.close()

    def close(self) -> None:
        self._finish()
        if self._error is not None:
            raise OwnTraceError(f"age encryption failed: {self._error}")
        super().close()

    def abort(self) -> None:
        self._finish()
        super().abort()


def check_new_path(out: Path) -> None:
    """`out` can be made: it does not exist, and its nearest existing ancestor is a folder
    (missing folders on the way are made at export, as `mkdir -p` would)."""
    if out.exists():
        raise OwnTraceError(f"{out} already exists", "choose a new path: an export never overwrites anything")
    ancestor = out.absolute().parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise OwnTraceError(f"{ancestor} is not a directory", "choose a path inside a folder")


def _check_out(out: Path, fmt: str) -> None:
    if fmt not in FORMATS:
        raise OwnTraceError(f"unknown export format {fmt!r}", "use dir, zip or age")
    if not (fmt == "dir" and out.is_dir() and not any(out.iterdir())):
        check_new_path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.is_dir():
        out.rmdir()  # an empty directory given as the target: the bundle takes its place


def export_session(
    root: Path,
    session: Session | str,
    user: UnlockedIdentity,
    out: Path,
    fmt: str = "dir",
    recipients: Sequence[x25519.Recipient | str] = (),
    *,
    extra_files: Mapping[str, bytes] = {},
    manifest_extra: Mapping[str, Any] = {},
    signing_key: Ed25519PrivateKey | None = None,
    progress: Progress | None = None,
    trajectory: str | None = None,
) -> ExportResult:
    """Write the approved session's bundle to `out`. `extra_files` join the bundle (and the
    manifest), `manifest_extra` adds top-level manifest sections (a study's), `signing_key`
    replaces the user's signing key (a study's pseudonymous one), `trajectory` ("agentnet" or
    "osworld") adds that format's files, converted from the approved steps.jsonl and episode.json."""
    if trajectory is not None and trajectory not in TRAJECTORY_FORMATS:
        raise OwnTraceError(f"unknown trajectory format {trajectory!r}", "use agentnet or osworld")
    if isinstance(session, str):
        session = resolve(root, session)
    out = Path(out)
    rcpts = [parse_recipient(r) if isinstance(r, str) else r for r in recipients]
    if fmt == "age" and not rcpts:
        raise OwnTraceError("the age format needs at least one recipient", "pass --to age1... (the study's or your own key)")
    if fmt != "age" and rcpts:
        raise OwnTraceError("recipients only apply to --format age", "add --format age to encrypt the bundle")
    extras = {_safe_member(p): bytes(d) for p, d in extra_files.items()}
    view = RedactedView(session, user)
    plan, approval = approved_plan(view)
    _check_out(out, fmt)
    writer: _Writer = _DirWriter(out) if fmt == "dir" else _ZipWriter(out) if fmt == "zip" else _AgeWriter(out, rcpts)
    files: list[dict[str, Any]] = []
    total = len(approval.items) + len(extras) + 2 + (trajectory is not None)
    approved: dict[str, bytes] = {}
    try:
        for path, data, digest in plan.items():
            if approval.items.get(path) != digest:
                raise OwnTraceError(f"session {session.id} changed since it was approved: {path} differs",
                                    f"review and approve it again: `owntrace review {session.id}`")
            writer.add(path, data)
            files.append({"path": path, "size": len(data), "sha256": digest})
            if path in ("steps.jsonl", "episode.json"):
                approved[path] = data
            if progress:
                progress(len(files), total)
        missing = set(approval.items) - {f["path"] for f in files}
        if missing:
            raise OwnTraceError(f"session {session.id} changed since it was approved: {sorted(missing)[0]} is gone",
                                f"review and approve it again: `owntrace review {session.id}`")
        if trajectory is not None:
            extras = {**converted_files(trajectory, approved["steps.jsonl"], approved["episode.json"]), **extras}
        for path, data in extras.items():
            if any(f["path"] == path for f in files):
                raise OwnTraceError(f"extra file {path} would replace a file of the session")
            writer.add(path, data)
            files.append({"path": path, "size": len(data), "sha256": sha256(data)})
        key = signing_key or user.signing_key
        manifest: dict[str, Any] = {
            "format": BUNDLE_FORMAT,
            "bundle_id": str(uuid.uuid4()),
            "created_at": utc_now(),
            "episode_id": session.id,
            "files": files,
            "review": plan.review_info(approval),
            **manifest_extra,
            "signer": {"alg": "ed25519", "public_key": public_hex(key)},
        }
        data, sig = sign_manifest(manifest, key)
        writer.add(MANIFEST, data)
        writer.add(SIGNATURE, sig)
        if progress:
            progress(total, total)
        writer.close()
    except BaseException:
        writer.abort()
        raise
    session.set_state(State.EXPORTED)
    size = sum(f["size"] for f in files) + len(data) + len(sig)
    return ExportResult(out, fmt, manifest["bundle_id"], len(files) + 2, size, manifest)
