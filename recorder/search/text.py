"""What a session's search index holds, derived from its raw journal and OCR: pure transforms.

A session becomes a list of `Doc`s: one per focus run of typed text (rebuilt by
redaction.typed, so backspaces and arrows are applied), one per window title as it changes,
and one per frame for the screen lines that frame brought in. A line that stays on screen is
indexed once, at the frame it first appeared in, so 100 frames of one terminal do not hold
its prompt 100 times and a hit points at when the text showed up. Nothing is redacted (the
index is the person's own), except typed passwords, which are recognised from their context.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from recorder.store.records import Event
from redaction import typed
from redaction.findings import apply, merge
from redaction.regions import Word, group_lines, line_views

SOURCES = ("typed", "screen", "title")


@dataclass(frozen=True)
class Doc:
    """One searchable unit of a session."""

    source: str  # typed | screen | title
    text: str
    t: int  # ns since the session start when it was typed / appeared
    t_end: int  # ns: last key of a typed run; t for the others
    frame: int | None  # the stored frame showing it (screen), or the last frame before it
    app: str  # WM_CLASS of the focused window at t
    title: str  # its title at t


@dataclass
class _Context:
    """Focused window and last frame, for each journal index."""

    app: list[str] = field(default_factory=list)
    title: list[str] = field(default_factory=list)
    frame: list[int | None] = field(default_factory=list)


def _context(events: Sequence[Event]) -> _Context:
    ctx, app, title, frame = _Context(), "", "", None
    for e in events:
        if e.kind == "window":
            app, title = str(e.get("app") or ""), str(e.get("title") or "")
        elif e.kind == "frame" and isinstance(e.get("n"), int):
            frame = e.get("n")
        ctx.app.append(app)
        ctx.title.append(title)
        ctx.frame.append(frame)
    return ctx


def frame_times(events: Iterable[Event]) -> dict[int, tuple[int, int]]:
    """For each stored frame: (time it was first journaled, its journal index)."""
    out: dict[int, tuple[int, int]] = {}
    for i, e in enumerate(events):
        n = e.get("n") if e.kind == "frame" else None
        if isinstance(n, int) and n not in out:
            out[n] = (e.t, i)
    return out


def journal_docs(events: Sequence[Event]) -> list[Doc]:
    """Typed runs and window titles of a raw journal."""
    ctx = _context(events)
    docs: list[Doc] = []
    last: tuple[str, str] | None = None
    for i, e in enumerate(events):
        if e.kind == "window" and not e.get("excluded"):
            here = (ctx.app[i], ctx.title[i])
            if here != last and here[1]:
                docs.append(Doc("title", here[1], e.t, e.t, ctx.frame[i], *here))
            last = here
    for run in typed.rebuild(events):
        if not run.text.strip():
            continue
        i = run.start
        docs.append(Doc("typed", _without_passwords(run, events), events[i].t, events[run.key_events[-1]].t,
                        ctx.frame[i], ctx.app[i], ctx.title[i]))
    return sorted(docs, key=lambda d: (d.t, SOURCES.index(d.source)))


def _without_passwords(run: typed.TypedRun, events: Sequence[Event]) -> str:
    """The run's text with what it typed at a password prompt as <PASSWORD>: the index is not
    redacted, but a search result should not put your sudo password on the screen."""
    found = [tf.finding for tf in typed.find_in_run(run, events, lambda text: []) if not tf.deleted]
    return apply(run.text, merge(found)) if found else run.text


def frame_lines(words: list[Word]) -> list[str]:
    """The text lines of one frame's OCR words, top to bottom."""
    return [v.text for v in line_views(words, group_lines(words)) if v.text.strip()]


class ScreenText:
    """Collects the screen lines of a session's frames, in frame order, keeping per frame only
    the lines the previous frame did not show. Fed by the indexer's own OCR or by the redact
    pass (which OCRs every frame anyway)."""

    def __init__(self) -> None:
        self.new_lines: dict[int, list[str]] = {}
        self._prev: set[str] = set()

    def add(self, n: int, words: list[Word]) -> None:
        lines = frame_lines(words)
        fresh = [ln for ln in dict.fromkeys(lines) if ln not in self._prev]
        self._prev = set(lines)
        if fresh:
            self.new_lines[n] = fresh

    def docs(self, events: Sequence[Event]) -> list[Doc]:
        ctx = _context(events)
        times = frame_times(events)
        out = []
        for n, lines in sorted(self.new_lines.items()):
            if n not in times:
                continue  # a frame the journal never names (a torn last segment): no time to give it
            t, i = times[n]
            out.append(Doc("screen", "\n".join(lines), t, t, n, ctx.app[i], ctx.title[i]))
        return out
