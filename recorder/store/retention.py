"""Deleting sessions: on request (crypto-shredding) and by the retention setting."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from recorder.errors import OwnTraceError
from recorder.store.records import State
from recorder.store.session import Session, list_sessions
from recorder.timestamps import parse_utc


def delete_session(session: Session) -> None:
    """Destroy a session, its sealed key first (crypto-shredding). To keep the redacted view and
    remove only the raw capture, see `recorder.redact.view.delete_raw`."""
    if session.meta.state == State.RECORDING:
        raise OwnTraceError(f"session {session.id} is still recording", "stop it first: `owntrace stop`")
    session.destroy()


def _started(session: Session) -> dt.datetime | None:
    try:
        return parse_utc(session.meta.started_at)
    except ValueError:
        return None


def expired(root: Path, days: int, now: dt.datetime | None = None) -> list[Session]:
    """Sessions that started more than `days` days ago (none when days is 0), except one still recording."""
    if days <= 0:
        return []
    cutoff = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(days=days)
    return [s for s in list_sessions(root)
            if s.meta.state != State.RECORDING and (t := _started(s)) is not None and t < cutoff]


def apply_retention(root: Path, days: int, now: dt.datetime | None = None) -> list[str]:
    """Delete every expired session; returns their ids."""
    gone = []
    for s in expired(root, days, now):
        s.destroy()
        gone.append(s.id)
    return gone
