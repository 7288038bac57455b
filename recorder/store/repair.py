"""Sessions whose session.json is lost or torn: found, listed as damaged, and recovered.

session.json holds public facts only; everything recorded is in the sealed files next to it.
A session without a readable session.json is not dropped from view: `damaged_sessions` names
it, and `recover` writes a new session.json from what the sealed files and the directory name
say (the session's recipient comes from its key, unsealed with the user's identity).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from recorder import __version__
from recorder.errors import NotFound, OwnTraceError
from recorder.keys import UnlockedIdentity, parse_identity, unseal
from recorder.store.records import SessionMeta, State
from recorder.store.session import FRAME_SUFFIX, Session, session_dirs
from recorder.timestamps import format_utc

_NUMBERED = re.compile(r"^(\d{6})\.")


@dataclass(frozen=True)
class DamagedSession:
    id: str
    path: Path
    reason: str


def damaged_sessions(root: Path) -> list[DamagedSession]:
    """Session folders that `list_sessions` cannot load, with why."""
    out = []
    for p in session_dirs(root):
        try:
            Session.load(p)
        except OwnTraceError as e:
            out.append(DamagedSession(p.name, p, e.message))
    return out


def _numbers(folder: Path, suffix: str) -> list[int]:
    if not folder.is_dir():
        return []
    return sorted(int(m.group(1)) for p in folder.iterdir()
                  if p.name.endswith(suffix) and (m := _NUMBERED.match(p.name)))


def recover(root: Path, session_id: str, user: UnlockedIdentity) -> Session:
    """Write a new session.json for a damaged session (state `interrupted`) and load it."""
    hit = [d for d in damaged_sessions(root) if d.id == session_id]
    if not hit:
        raise NotFound(f"no damaged session {session_id!r}", "see `owntrace sessions` for the damaged ones")
    path = hit[0].path
    try:
        blob = (path / "key.age").read_bytes()
    except FileNotFoundError:
        raise NotFound(f"session {session_id} has no key.age", "without its key nothing of it can be read") from None
    key = parse_identity(unseal(blob, [user.identity], f"session {session_id}: key.age").decode())
    local = dt.datetime.strptime(session_id[:15], "%Y%m%d-%H%M%S")  # the id is the local start time
    started = format_utc(local.astimezone(), "milliseconds")
    meta = SessionMeta(
        id=session_id, started_at=started, state=State.INTERRUPTED, recipient=str(key.to_public()),
        segments=max(_numbers(path / "journal", ".jsonl.age"), default=0),
        frames=max(_numbers(path / "frames", FRAME_SUFFIX), default=0),
        app_version=__version__,
        damaged=["session.json (rebuilt: name, study, screens and duration were lost)"],
    )
    session = Session(path, meta)
    meta.events = sum(1 for _ in session.events(key, damaged=[]))
    session.save_meta()
    return Session.load(path)
