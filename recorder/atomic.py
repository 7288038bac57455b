"""Crash-safe file replacement: temp file in the same dir, fsync, rename, fsync the dir."""

from __future__ import annotations

import errno
import os
import secrets
from pathlib import Path

from recorder.errors import OwnTraceError


def write_atomic(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Write `data` so that `path` holds either the old or the new content, never a torn mix.

    Callers pass ciphertext or content-free metadata only: the temp file is as sensitive
    as the final one.
    """
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError as e:
        try:
            tmp.unlink()
        except OSError:
            pass
        if e.errno in (errno.ENOSPC, errno.EDQUOT):
            raise OwnTraceError(
                f"disk full while writing {path.name}",
                "free some space; everything sealed before this point is intact and readable",
            ) from None
        raise OwnTraceError(f"cannot write {path}: {e.strerror}", "check permissions and free space") from None


def shred(path: Path) -> None:
    """Overwrite a file in place (for disks that honour it), then remove it; a missing file is fine."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return
    with open(path, "r+b") as f:
        f.write(secrets.token_bytes(size))
        f.flush()
        os.fsync(f.fileno())
    path.unlink()
