"""Bounds for everything OwnTrace reads that someone else may have written.

Bundles, donations, study profiles and review requests come from outside: each parser here
caps what it will spend before it spends it (age header size, JSON nesting, bytes read from an
archive member or a file), so a hostile file costs a clean one-line error, not a hang, a
traceback or the machine's memory. Every file OwnTrace did not write itself is read through
read_file (or read_prefix).
"""

from __future__ import annotations

import base64
import binascii
import errno
import json
import os
import re
import select
import stat
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from recorder.errors import MalformedInput, OwnTraceError

AGE_INTRO = b"age-encryption.org/v1\n"
ARMOR_BEGIN = b"-----BEGIN AGE ENCRYPTED FILE-----"
ARMOR_END = b"-----END AGE ENCRYPTED FILE-----"

# The age header (C2SP age.md): the intro line, stanzas of "-> " + SP-separated arguments and a
# base64 body wrapped at exactly 64 columns ending in a shorter line, then "--- " + the MAC.
# OwnTrace writes X25519 stanzas (~100 bytes each); these caps leave room for hundreds of
# recipients and any plugin's arguments, and keep pyrage's header parse (quadratic in the
# header's size) well under a second.
AGE_MAX_HEADER = 64 * 1024
AGE_MAX_STANZAS = 256
AGE_MAX_ARG_LINE = 1024
AGE_BODY_COLUMNS = 64
AGE_MAC_COLUMNS = 43


@dataclass(frozen=True)
class Limits:
    """What one bundle may cost when it is read. Member sizes are also capped by what the
    manifest declares for them, so a member larger than declared is read only that far."""

    bundle_bytes: int = 2 * 1024**3  # all of a bundle's files together, in memory
    manifest_bytes: int = 16 * 1024**2
    members: int = 100_000
    json_depth: int = 32  # OwnTrace's own JSON nests 5 deep at most


DEFAULT = Limits()

_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def json_depth(data: bytes) -> int:
    """How deep arrays and objects nest in JSON text (strings skipped), without recursing."""
    brackets = np.frombuffer(_JSON_STRING.sub(b"", data).translate(None, _NOT_BRACKETS), np.uint8)
    if not brackets.size:
        return 0
    steps = np.where((brackets == ord("[")) | (brackets == ord("{")), 1, -1)
    return int(np.cumsum(steps).max())


def loads(data: bytes | str, max_depth: int = DEFAULT.json_depth) -> Any:
    """json.loads for text from outside: UTF-8 only (json.loads would guess UTF-16/32 from
    bytes), nesting capped. Every failure is a ValueError (UnicodeDecodeError is one)."""
    raw = data.encode() if isinstance(data, str) else bytes(data)
    text = raw.decode("utf-8")
    # fewer openers than the bound cannot nest past it: most lines skip the scan
    if raw.count(b"[") + raw.count(b"{") > max_depth and json_depth(raw) > max_depth:
        raise ValueError(f"JSON nested more than {max_depth} deep")
    return json.loads(text, parse_constant=_no_constant)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")  # Python's json takes NaN and Infinity


def read_capped(f: IO[bytes] | _Stream, limit: int, chunk: int = 1 << 20) -> bytes:
    """At most limit + 1 bytes of f, read in chunks: one byte more than allowed tells the caller
    the member is larger than it should be, without inflating the rest of it."""
    parts, left = [], limit + 1
    while left > 0:
        block = f.read(min(chunk, left))
        if not block:
            break
        parts.append(block)
        left -= len(block)
    return b"".join(parts)


KEY_FILE_MAX = 64 * 1024  # identity, signing key and passphrase files: a few hundred bytes each

# A pipe or device named as a file (`<(...)`, a FIFO) gets this long for all of its bytes.
STREAM_DEADLINE_S = 10.0


class NotPlainFile(OSError):
    """The path is a FIFO, device or socket where only a plain file may be."""


class _Stream:
    """Non-blocking reads of one descriptor, each waiting only until one deadline for them all:
    a FIFO that never writes, or dribbles a byte now and then, cannot hold a reader."""

    def __init__(self, fd: int, deadline_s: float) -> None:
        self.fd, self.deadline = fd, time.monotonic() + deadline_s

    def read(self, n: int) -> bytes:
        while True:
            try:  # first: a FIFO nobody ever opened for writing is at its end, and select() would wait
                return os.read(self.fd, n)
            except BlockingIOError:
                pass
            left = self.deadline - time.monotonic()
            if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                raise TimeoutError(errno.ETIMEDOUT, f"nothing more arrived within {STREAM_DEADLINE_S:g} s")


def _open(path: Path | str, *, follow: bool = True, plain_only: bool = False) -> int:
    """A descriptor opened non-blocking, so a FIFO without a writer cannot hang the open.
    Raises OSError (NotPlainFile for a FIFO, device or socket with `plain_only`; EISDIR)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | (0 if follow else os.O_NOFOLLOW))
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, "it is a folder")
        if plain_only and not stat.S_ISREG(mode):
            raise NotPlainFile(errno.EINVAL, "it is not a plain file (a FIFO, socket or device)")
    except OSError:
        os.close(fd)
        raise
    return fd


def read_prefix(path: Path | str, limit: int, *, follow: bool = True, plain_only: bool = False) -> bytes:
    """At most limit + 1 bytes of the file at `path`, for every file OwnTrace did not write itself:
    opened non-blocking and read capped, so /dev/zero or a sparse file of any size costs `limit`
    bytes, never its size, and a pipe gets STREAM_DEADLINE_S for all of it. Raises OSError."""
    fd = _open(path, follow=follow, plain_only=plain_only)
    try:
        return read_capped(_Stream(fd, STREAM_DEADLINE_S), limit)
    finally:
        os.close(fd)


@contextmanager
def _one_line(path: Path | str, what: str, hint: str, error: type[OwnTraceError]) -> Iterator[None]:
    try:
        yield
    except NotPlainFile as e:
        raise error(f"{what} {path}: {e.strerror}", hint) from None
    except FileNotFoundError:
        raise OwnTraceError(f"cannot read {what} {path}: it does not exist", hint) from None
    except OSError as e:
        raise OwnTraceError(f"cannot read {what} {path}: {e.strerror}", hint) from None


@contextmanager
def open_plain(path: Path | str, what: str, hint: str = "") -> Iterator[IO[bytes]]:
    """A plain file from outside for a parser that reads only what it needs and seeks (images),
    opened as read_prefix opens; errors are one line, as read_file's."""
    with _one_line(path, what, hint, OwnTraceError):
        fd = _open(path, plain_only=True)
    with os.fdopen(fd, "rb") as f:
        yield f


def size_text(n: int) -> str:
    return f"{n // 1024**2} MiB" if n >= 1024**2 and n % 1024**2 == 0 else f"{n // 1024} KiB"


def read_file(path: Path | str, limit: int, what: str, hint: str = "", *,
              error: type[OwnTraceError] = OwnTraceError, plain_only: bool = False) -> bytes:
    """read_prefix with one-line errors: a file that cannot be read is a usage problem
    (OwnTraceError), one over `limit` or (with `plain_only`) not a plain file is an `error`."""
    with _one_line(path, what, hint, error):
        data = read_prefix(path, limit, plain_only=plain_only)
    if len(data) > limit:
        raise error(f"{what} {path} is larger than {size_text(limit)}", hint)
    return data


def read_text(path: Path | str, limit: int, what: str, hint: str = "", *,
              error: type[OwnTraceError] = OwnTraceError) -> str:
    """read_file of UTF-8 text; anything else is an `error` naming the file."""
    try:
        return read_file(path, limit, what, hint, error=error).decode("utf-8")
    except UnicodeDecodeError:
        raise error(f"{what} {path} is not UTF-8 text", hint) from None


def _dearmor(data: bytes, what: str) -> bytes:
    lines = data.rstrip(b"\r\n").split(b"\n")
    lines = [ln.rstrip(b"\r") for ln in lines]
    if lines[0] != ARMOR_BEGIN or lines[-1] != ARMOR_END:
        raise MalformedInput(f"{what}: the age armor is not closed", "the file is truncated")
    body = lines[1:-1]
    if any(len(ln) > 64 for ln in body) or any(len(ln) != 64 for ln in body[:-1]):
        raise MalformedInput(f"{what}: the age armor has lines longer than 64 columns", "this is not a file age wrote")
    try:
        return base64.b64decode(b"".join(body), validate=True)
    except binascii.Error:
        raise MalformedInput(f"{what}: the age armor is not valid base64", "the file is damaged") from None


def age_binary(data: bytes, what: str) -> bytes:
    """The binary age file behind `data` (armor removed), once its header is within bounds;
    raises MalformedInput when it is not, before any of it reaches the decrypter."""
    if data.startswith(ARMOR_BEGIN):
        data = _dearmor(data, what)
    check_age_header(data, what)
    return data


def check_age_header(data: bytes, what: str) -> None:
    def bad(reason: str) -> MalformedInput:
        return MalformedInput(f"{what}: malformed age header ({reason})", "this is not an age file OwnTrace or age wrote")

    if not data.startswith(AGE_INTRO):
        raise bad("no age-encryption.org/v1 line")
    pos, stanzas = len(AGE_INTRO), 0
    while True:
        end = data.find(b"\n", pos, pos + max(AGE_MAX_ARG_LINE, AGE_BODY_COLUMNS) + 1)
        if end < 0:
            raise bad(f"a line longer than {AGE_MAX_ARG_LINE} bytes" if len(data) > pos + AGE_MAX_ARG_LINE
                      else "it ends inside the header")
        line = data[pos:end]
        pos = end + 1
        if pos > AGE_MAX_HEADER:
            raise bad(f"over {AGE_MAX_HEADER // 1024} KiB")
        if line.startswith(b"--- "):
            if len(line) != 4 + AGE_MAC_COLUMNS:
                raise bad("the MAC line has the wrong length")
            return
        if not line.startswith(b"-> ") or len(line) < 4:
            raise bad("a line that is neither a stanza nor the MAC")
        stanzas += 1
        if stanzas > AGE_MAX_STANZAS:
            raise bad(f"more than {AGE_MAX_STANZAS} recipient stanzas")
        if any(b < 0x21 or b > 0x7E for b in line[3:].replace(b" ", b"")):
            raise bad("a stanza argument with non-printable bytes")
        while True:  # the body: full 64-column lines, then a shorter one (maybe empty)
            end = data.find(b"\n", pos, pos + AGE_BODY_COLUMNS + 1)
            if end < 0:
                raise bad("a stanza body line longer than 64 columns")
            width = end - pos
            pos = end + 1
            if pos > AGE_MAX_HEADER:
                raise bad(f"over {AGE_MAX_HEADER // 1024} KiB")
            if width < AGE_BODY_COLUMNS:
                break


TOML_MAX_BYTES = 1024 * 1024


def loads_toml(text: str) -> dict[str, Any]:
    """tomllib.loads with a size cap; arrays nested past Python's recursion limit are a
    TOMLDecodeError like any other syntax error (tomllib recurses once per level)."""
    if len(text) > TOML_MAX_BYTES:
        raise tomllib.TOMLDecodeError(f"larger than {TOML_MAX_BYTES // 1024} KiB")
    try:
        return tomllib.loads(text)
    except RecursionError:
        raise tomllib.TOMLDecodeError("arrays or tables nested too deeply") from None
