"""The redacted view of a session: the sole owner of its paths inside the session directory and
its reader. `recorder.redact.session` writes it; review and export read it through
`RedactedView`, decrypted in memory only (format: docs/internals.md, "Redacted view")."""

from __future__ import annotations

import json
from typing import Any

from PIL import Image

from recorder.errors import CorruptFile, NotFound, OwnTraceError
from recorder.keys import UnlockedIdentity
from recorder.steps import Screen, Step, derive_steps, index_findings, step_redactions
from recorder.store.records import Event, State
from recorder.store.session import Session

DIR = "redacted"
JOURNAL = f"{DIR}/journal.jsonl.age"
REPORT = f"{DIR}/report.json.age"
FRAMES = f"{DIR}/frames"


def frame_rel(n: int) -> str:
    return f"{FRAMES}/{n:06d}.png.age"


def exists(session: Session) -> bool:
    """True once a redaction pass has written the whole view (the journal and report are written last)."""
    return session.has(JOURNAL) and session.has(REPORT)


def delete_raw(session: Session) -> None:
    """Delete the raw capture and keep the redacted view (and the key that opens it)."""
    if session.meta.state == State.RECORDING:
        raise OwnTraceError(f"session {session.id} is still recording", "stop it first: `owntrace stop`")
    if not exists(session):
        raise OwnTraceError(
            f"session {session.id} has no redacted view: deleting the raw capture would leave nothing",
            f"run `owntrace redact {session.id}` first, or delete the whole session without --raw-only",
        )
    session.destroy(raw_only=True)


def _records(report: Any, key: str) -> list[dict[str, Any]]:
    """A list of objects from the redaction report, each naming its item ("frame:12")."""
    items = report.get(key) or [] if isinstance(report, dict) else None
    if not isinstance(items, list) or not all(
        isinstance(r, dict) and isinstance(r.get("item"), str) and _is_box(r.get("bbox", [0, 0, 0, 0])) for r in items
    ):
        raise ValueError(f"report: {key}")
    return items


def _is_box(b: Any) -> bool:
    return isinstance(b, list) and len(b) == 4 and all(isinstance(v, int) and v >= 0 for v in b)


class RedactedView:
    """A session's redacted view, decrypted in memory: journal, report, frames on demand."""

    def __init__(self, session: Session, user: UnlockedIdentity) -> None:
        if not exists(session):
            raise OwnTraceError(
                f"session {session.id} has no redacted view yet",
                f"run `owntrace redact {session.id}` first: only the redacted view can be reviewed and exported",
            )
        self.session = session
        self.key = session.key(user)
        self.meta = session.meta
        self.task = session.task(self.key)
        try:
            text = session.read_sealed(self.key, JOURNAL).decode()
            self.events = [Event.from_obj(json.loads(line)) for line in text.splitlines() if line]
            report = json.loads(session.read_sealed(self.key, REPORT))
            self.findings, self.withheld, self.flagged = (_records(report, k) for k in ("findings", "withheld", "flagged"))
            self.frame_sizes = {int(e.get("n")): (int(e.get("w", 0)), int(e.get("h", 0)))
                                for e in self.events if e.kind == "frame"}
        except (ValueError, TypeError, UnicodeDecodeError):
            raise CorruptFile(f"session {session.id}: the redacted view is malformed",
                              f"run `owntrace redact {session.id}` again") from None
        self._finding_index = index_findings(self.findings)
        first = next(iter(self.frame_sizes.values()), (1, 1))
        self.screen = Screen.union(self.meta.screens, fallback=first)
        self.steps = self._derive(self.events)
        self._raw_events: list[Event] | None = None

    def _derive(self, events: list[Event], text_from: list[Event] | None = None) -> list[Step]:
        return derive_steps(events, started_at=self.meta.started_at, screen=self.screen, text_from=text_from)

    def step_findings(self, step: Step) -> list[int]:
        return step_redactions(step, self._finding_index)

    def redacted_frame(self, n: int) -> bytes | None:
        """The redacted PNG of frame n, or None when the redaction withheld it."""
        rel = frame_rel(n)
        return self.session.read_sealed(self.key, rel) if self.session.has(rel) else None

    def _require_raw(self, rel: str) -> None:
        if not self.session.has(rel):
            raise NotFound(f"session {self.session.id}: the raw capture was deleted",
                           "an undone redaction needs it; keep the redaction instead")

    def raw_events(self) -> list[Event]:
        if self._raw_events is None:
            self._require_raw("journal")
            self._raw_events = list(self.session.events(self.key))
        return self._raw_events

    def raw_frame(self, n: int) -> Image.Image:
        self._require_raw(self.session.frame_rel(n))
        return self.session.frame_image(self.key, n)
