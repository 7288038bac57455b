"""Deleting sessions: on request (crypto-shredding) and by the retention setting."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from .approval import REDACTED_JOURNAL
from .errors import OwnTraceError
from .store import Session, list_sessions


def delete_session(session: Session, raw_only: bool = False) -> None:
    """Destroy a session, its sealed key first. `raw_only` keeps the redacted view (and the key
    that opens it) and removes the raw capture."""
    if session.meta.state == "recording":
        raise OwnTraceError(f"session {session.id} is still recording", "stop it first: `owntrace stop`")
    if raw_only and not session.has(REDACTED_JOURNAL):
        raise OwnTraceError(
            f"session {session.id} has no redacted view: deleting the raw capture would leave nothing",
            f"run `owntrace redact {session.id}` first, or delete the whole session without --raw-only",
        )
    session.destroy(raw_only=raw_only)


def _started(session: Session) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(session.meta.started_at.replace("Z", "+00:00"))
    except ValueError:
        return None


def expired(root: Path, days: int, now: dt.datetime | None = None) -> list[Session]:
    """Sessions that started more than `days` days ago (none when days is 0), except one still recording."""
    if days <= 0:
        return []
    cutoff = (now or dt.datetime.now(dt.timezone.utc)) - dt.timedelta(days=days)
    return [s for s in list_sessions(root)
            if s.meta.state != "recording" and (t := _started(s)) is not None and t < cutoff]


def apply_retention(root: Path, days: int, now: dt.datetime | None = None) -> list[str]:
    """Delete every expired session; returns their ids."""
    gone = []
    for s in expired(root, days, now):
        s.destroy()
        gone.append(s.id)
    return gone
