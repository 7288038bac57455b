"""The sealed session store.

Writing needs only public keys: each session gets its own X25519 key pair whose secret is
sealed to the user's identity (key.age) and then dropped, so a running recorder holds
nothing that decrypts what it wrote. Every file with recorded content is a standard age v1
file encrypted to the session's recipient; session.json holds public facts only.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import secrets
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image
from pyrage import x25519

from recorder import __version__, limits
from recorder.atomic import shred, write_atomic
from recorder.errors import CorruptFile, NotFound, OwnTraceError
from recorder.keys import UnlockedIdentity, parse_identity, seal, unseal, user_recipient
from recorder.paths import private_dir, sessions_dir, tighten
from recorder.store import frames
from recorder.store.records import Event, SessionMeta, State
from recorder.timestamps import utc_now

SEGMENT_NS = 1_000_000_000  # a journal segment holds at most ~1 s of events
FRAME_SUFFIX = ".webp.age"  # frames.FRAME_FORMAT, sealed


def frame_file(n: int) -> str:
    """Where frame n of a session is written, relative to the session directory."""
    return f"frames/{n:06d}{FRAME_SUFFIX}"
_ID_RE = re.compile(r"^\d{8}-\d{6}-[0-9a-f]{4}$")


def _pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class SessionWriter:
    """Appends events and frames to a new session, sealing each piece as it is written.

    Thread-safe: capture threads call `append`; a timer or the capture loop calls `tick`.
    """

    def __init__(self, path: Path, meta: SessionMeta, recipient: x25519.Recipient) -> None:
        self.path = path
        self.meta = meta
        self._recipient = recipient
        self._lock = threading.Lock()
        self._buf: list[str] = []
        self._seg_start: int | None = None
        self._t0 = time.monotonic_ns()

    @classmethod
    def create(
        cls,
        root: Path,
        *,
        name: str = "",
        task: str = "",
        screens: list[dict] | None = None,
        study: str | None = None,
    ) -> SessionWriter:
        user = user_recipient(root)
        tighten(root)
        now = dt.datetime.now()
        sid = f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"
        path = sessions_dir(root) / sid
        for sub in ("journal", "frames"):
            private_dir(path / sub)
        session_key = x25519.Identity.generate()
        recipient = session_key.to_public()
        write_atomic(path / "key.age", seal(f"{session_key}\n".encode(), [user]))
        del session_key  # from here on the recorder holds public keys only
        meta = SessionMeta(
            id=sid,
            started_at=utc_now("milliseconds"),
            state=State.RECORDING,
            recipient=str(recipient),
            name=name,
            pid=os.getpid(),
            screens=screens or [],
            study=study,
            app_version=__version__,
        )
        writer = cls(path, meta, recipient)
        writer._write_meta()
        if task:
            writer.write_sealed("task.txt.age", task.encode())
        return writer

    def now(self) -> int:
        """Nanoseconds since the session started, on the monotonic clock."""
        return time.monotonic_ns() - self._t0

    def append(self, event: Event) -> None:
        with self._lock:
            if self._seg_start is not None and event.t - self._seg_start >= SEGMENT_NS:
                self._flush_locked()
            if self._seg_start is None:
                self._seg_start = event.t
            self._buf.append(event.to_json())
            self.meta.events += 1

    def tick(self) -> None:
        """Seal the open segment once it spans a second of wall time, even if idle."""
        with self._lock:
            if self._seg_start is not None and self.now() - self._seg_start >= SEGMENT_NS:
                self._flush_locked()

    def flush(self) -> None:
        with self._lock:
            self._flush_locked()

    def _flush_locked(self) -> None:
        if not self._buf:
            return
        data = ("\n".join(self._buf) + "\n").encode()
        n = self.meta.segments + 1
        write_atomic(self.path / "journal" / f"{n:06d}.jsonl.age", seal(data, [self._recipient]))
        self.meta.segments = n
        self._buf.clear()
        self._seg_start = None

    def reserve_frame(self) -> int:
        """A frame number for a frame event journaled now and sealed later (`add_frame(data, n)`)."""
        with self._lock:
            self.meta.frames += 1
            return self.meta.frames

    def add_frame(self, encoded: bytes, n: int | None = None) -> int:
        """Seal one encoded frame (frames.FRAME_FORMAT); returns its number for the journal's frame event."""
        blob = seal(encoded, [self._recipient])
        with self._lock:
            if n is None:
                self.meta.frames += 1
                n = self.meta.frames
            write_atomic(self.path / frame_file(n), blob)
            return n

    def write_sealed(self, rel: str, data: bytes) -> None:
        target = self.path / rel
        private_dir(target.parent)
        write_atomic(target, seal(data, [self._recipient]))

    def _write_meta(self) -> None:
        write_atomic(self.path / "session.json", self.meta.to_json().encode())

    def save_meta(self) -> None:
        with self._lock:
            self.meta.duration_s = round(self.now() / 1e9, 3)
            self._write_meta()

    def close(self, state: State = State.RECORDED) -> SessionMeta:
        with self._lock:
            self._flush_locked()
            self.meta.state = State(state)
            self.meta.ended_at = utc_now("milliseconds")
            self.meta.duration_s = round(self.now() / 1e9, 3)
            self.meta.pid = None
            self._write_meta()
            return self.meta


@dataclass
class Session:
    """A recorded session on disk. Reading content needs the user's unlocked identity."""

    path: Path
    meta: SessionMeta
    _base: tuple[int, Image.Image] | None = field(default=None, repr=False, compare=False)

    @classmethod
    def load(cls, path: Path) -> Session:
        try:
            meta = SessionMeta.from_json((path / "session.json").read_text())
        except FileNotFoundError:
            raise NotFound(f"session {path.name} has no session.json", "it may have been deleted") from None
        except (ValueError, TypeError):
            raise CorruptFile(f"session {path.name}: session.json is corrupt", "its sealed files are untouched") from None
        if meta.state == State.RECORDING and not _pid_alive(meta.pid):
            meta.state = State.INTERRUPTED
        return cls(path, meta)

    @property
    def id(self) -> str:
        return self.meta.id

    def save_meta(self) -> None:
        write_atomic(self.path / "session.json", self.meta.to_json().encode())

    def set_state(self, state: State) -> None:
        self.meta.state = State(state)
        self.save_meta()

    def key(self, user: UnlockedIdentity) -> x25519.Identity:
        """The session's secret key, unsealed with the user's identity."""
        try:
            blob = (self.path / "key.age").read_bytes()
        except FileNotFoundError:
            raise NotFound(f"session {self.id} has no key", "it was deleted (crypto-shredded) and cannot be read") from None
        return parse_identity(unseal(blob, [user.identity], f"session {self.id}: key.age").decode())

    def recipient(self) -> x25519.Recipient:
        return x25519.Recipient.from_str(self.meta.recipient)

    def read_sealed(self, key: x25519.Identity, rel: str) -> bytes:
        try:
            blob = (self.path / rel).read_bytes()
        except FileNotFoundError:
            raise NotFound(f"session {self.id}: {rel} is missing") from None
        return unseal(blob, [key], f"session {self.id}: {rel}")

    def write_sealed(self, rel: str, data: bytes) -> None:
        target = self.path / rel
        private_dir(target.parent)
        write_atomic(target, seal(data, [self.recipient()]))

    def has(self, rel: str) -> bool:
        return (self.path / rel).exists()

    def task(self, key: x25519.Identity) -> str:
        return self.read_sealed(key, "task.txt.age").decode() if self.has("task.txt.age") else ""

    def segment_files(self) -> list[Path]:
        return sorted((self.path / "journal").glob("*.jsonl.age"))

    def missing_segments(self) -> list[str]:
        """Journal segments numbered before the last one written whose files are gone (none once
        the raw capture was deleted on purpose)."""
        if self.meta.state == "raw-deleted":
            return []
        have = {int(p.name[:6]) for p in self.segment_files() if p.name[:6].isdigit()}
        last = max([self.meta.segments, *have], default=0)
        return [f"journal/{n:06d}.jsonl.age" for n in range(1, last + 1) if n not in have]

    def events(self, key: x25519.Identity, damaged: list[str] | None = None) -> Iterator[Event]:
        """All events in order. A torn, corrupt or missing segment is skipped and named in
        `damaged` (when given) so the rest of the session stays usable; without `damaged` it raises."""
        missing = self.missing_segments()
        if missing and damaged is None:
            raise CorruptFile(f"session {self.id}: {missing[0]} is missing", "its events are lost; the rest is readable")
        if damaged is not None:
            damaged.extend(missing)
        for seg in self.segment_files():
            rel = f"journal/{seg.name}"
            try:
                lines = self.read_sealed(key, rel).decode().splitlines()
                events = [Event.from_obj(limits.loads(line)) for line in lines if line]
            except (CorruptFile, ValueError, UnicodeDecodeError) as e:
                if damaged is None:
                    if isinstance(e, CorruptFile):
                        raise
                    raise CorruptFile(f"session {self.id}: {rel} holds malformed events") from None
                damaged.append(rel)
                continue
            yield from events

    def frame_rel(self, n: int) -> str:
        """The file of frame n relative to the session directory."""
        return frame_file(n)

    def frame_numbers(self) -> list[int]:
        """The numbers of the frames stored in this session, in order."""
        folder = self.path / "frames"
        if not folder.is_dir():
            return []
        return sorted(int(p.name[:6]) for p in folder.iterdir() if p.name.endswith(FRAME_SUFFIX) and p.name[:6].isdigit())

    def frame_bytes(self, key: x25519.Identity, n: int) -> bytes:
        """The stored bytes of frame n, as sealed (see frame_image for the picture)."""
        return self.read_sealed(key, self.frame_rel(n))

    def frame_image(self, key: x25519.Identity, n: int) -> Image.Image:
        """Frame n as a full RGB picture, decoded in memory only. A delta frame is composed on
        its base keyframe; the last base used is cached, so reading frames in order is cheap."""
        try:
            with Image.open(io.BytesIO(self.frame_bytes(key, n))) as im:
                im.load()
                base = frames.delta_base(im)
                if base is None:
                    return im.convert("RGB")
                if base >= n:
                    raise CorruptFile(f"session {self.id}: frame {n} names a later base frame {base}")
                if self._base is None or self._base[0] != base:
                    try:
                        self._base = (base, self.frame_image(key, base))
                    except OwnTraceError:
                        raise CorruptFile(f"session {self.id}: frame {n} is a delta on keyframe {base}, "
                                          "which is damaged: lost with it") from None
                return frames.compose(self._base[1], im)
        except (OSError, SyntaxError, ValueError, KeyError):
            raise CorruptFile(f"session {self.id}: frame {n} does not decode") from None

    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.path.rglob("*") if p.is_file())

    def destroy(self, raw_only: bool = False) -> None:
        """Crypto-shred: the sealed key goes first, so nothing left can be decrypted."""
        if raw_only:
            for sub in ("journal", "frames", "search"):  # the search index holds raw text too
                shutil.rmtree(self.path / sub, ignore_errors=True)
            self.meta.state = State.RAW_DELETED
            self.save_meta()
            return
        shred(self.path / "key.age")
        shutil.rmtree(self.path)


def session_dirs(root: Path) -> list[Path]:
    """Every session folder, loadable or not, in id (start time) order."""
    base = sessions_dir(root)
    if not base.is_dir():
        return []
    return [p for p in sorted(base.iterdir()) if p.is_dir() and _ID_RE.match(p.name)]


def list_sessions(root: Path) -> list[Session]:
    """The sessions that load, oldest first (see recorder.store.repair for the others). Ordered
    by start time to the millisecond: ids name only the second, so two sessions started within
    one would otherwise be ordered by their random suffix, and `latest` could be the older."""
    out = []
    for p in session_dirs(root):
        try:
            out.append(Session.load(p))
        except OwnTraceError:
            continue
    return sorted(out, key=lambda s: (s.meta.started_at, s.id))


def resolve(root: Path, ref: str = "latest") -> Session:
    """A session by id, unique id prefix, or `latest`."""
    sessions = list_sessions(root)
    if not sessions:
        raise NotFound("there are no recorded sessions yet", "record one with `owntrace record`")
    if ref == "latest":
        return sessions[-1]
    hits = [s for s in sessions if s.id.startswith(ref)]
    if len(hits) == 1:
        return hits[0]
    if not hits:
        raise NotFound(f"no session matches {ref!r}", "see `owntrace sessions` for ids")
    raise OwnTraceError(f"{ref!r} matches {len(hits)} sessions", "give more of the id")
