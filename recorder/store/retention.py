"""Deleting sessions: on request (crypto-shredding) and by the retention setting."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from recorder import config
from recorder.errors import OwnTraceError
from recorder.store.records import State
from recorder.store.session import Session, list_sessions, resolve
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


@dataclass(frozen=True)
class Retention:
    """What one application of the `[retention] days` setting deleted."""

    days: int
    deleted: list[str]

    def message(self) -> str:
        return f"retention: deleted {len(self.deleted)} session(s) older than {self.days} days: {', '.join(self.deleted)}"


def run_retention(root: Path, days: int | None = None) -> Retention:
    """Apply the retention setting of config.toml (or `days`, already read from it)."""
    days = config.load(root).retention_days if days is None else days
    return Retention(days, apply_retention(root, days))


def resolve_kept(root: Path, ref: str = "latest", on_retention: Callable[[Retention], None] | None = None) -> Session:
    """The session `ref` names (as `store.session.resolve`) among those retention keeps. Expired
    sessions are deleted first and reported to `on_retention` before `ref` is looked up, so the
    caller hears of them even when `ref` names nothing. Every command that opens a session to
    review, approve, export or delete it goes through here; recording applies retention as it
    starts."""
    applied = run_retention(root)
    if applied.deleted and on_retention:
        on_retention(applied)
    return resolve(root, ref)
