"""Typed text: rebuild what was typed in each focus run from key events, find entities in it,
and map them back to the key events that produced them.

Events are journal records as plain dicts ({"t", "kind", ...}) or objects with `.t`, `.kind`
and `.get(field)` (recorder.records.Event): this package never imports `recorder`.

Each key_down's `char` is one unit of text ("a", or a placeholder such as "<EMAIL_ADDRESS>" in a
redacted journal); backspace removes the unit before the cursor, so the same code rebuilds raw
and redacted journals. Key events marked `redacted` with no char are skipped altogether.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import passwords
from .findings import Finding, merge, placeholder

PASTE = " "  # pasted content is unknown: a separator, so no entity is glued across it
# X keysyms that pynput cannot name arrive as vk<keysym>: Linefeed (what `xdotool type` sends
# for "\n"), Return, KP_Enter
_NEWLINE_KEYS = frozenset({"enter", "return", "kp_enter", "linefeed", "vk65290", "vk65293", "vk65421"})
_EDIT_KEYS = frozenset({"backspace", "delete", "left", "right", "home", "end", "up", "down"})
_SHIFTED = dict(zip("`1234567890-=[]\\;',./", "~!@#$%^&*()_+{}|:\"<>?"))
_NAMED_CHARS = {"space": " ", "tab": "\t"}
_MODIFIER_KEYS = frozenset({"shift", "shift_l", "shift_r", "ctrl", "ctrl_l", "ctrl_r", "alt", "alt_l", "alt_r",
                            "alt_gr", "super", "super_l", "super_r", "cmd", "caps_lock", "num_lock"})


def _kind(e: Any) -> str:
    return e["kind"] if isinstance(e, dict) else e.kind


def _t(e: Any) -> int:
    return e["t"] if isinstance(e, dict) else e.t


@dataclass
class Unit:
    text: str
    event: int  # journal index of the key_down that produced it
    title: str  # window title when it was typed


@dataclass
class TypedRun:
    """The text typed into one window between focus changes (and clicks, which move the caret)."""

    start: int  # journal index of the run's first event
    wid: Any
    units: list[Unit] = field(default_factory=list)
    typed: list[Unit] = field(default_factory=list)  # every unit in typing order, deleted ones too,
    # with a break (event -1) at each edit
    key_events: list[int] = field(default_factory=list)  # journal indices of all its key events
    context: str = ""  # the line typed before this run in the same window (a password prompt's command?)

    @property
    def text(self) -> str:
        return "".join(u.text for u in self.units)

    def offsets(self) -> list[int]:
        out, pos = [], 0
        for u in self.units:
            out.append(pos)
            pos += len(u.text)
        return out

    def span_events(self, start: int, end: int) -> list[int]:
        """Journal indices of the key_downs whose units overlap text[start:end]."""
        return [u.event for u, off in zip(self.units, self.offsets()) if off < end and off + len(u.text) > start]


class _Builder:
    def __init__(self) -> None:
        self.runs: list[TypedRun] = []
        self.run: TypedRun | None = None
        self.cursor = 0
        self.caps = False
        self.shift = False
        self.title = ""
        self.wid: Any = None

    def close(self) -> None:
        if self.run is not None and self.run.key_events:
            self.runs.append(self.run)
        self.run = None
        self.cursor = 0

    def window(self, e: Any) -> None:
        if e.get("wid") != self.wid or e.get("excluded"):
            self.close()
        self.wid = e.get("wid")
        self.title = str(e.get("title") or "")

    def key_down(self, i: int, e: Any) -> None:
        if self.run is None:
            self.run = TypedRun(start=i, wid=self.wid)
        run = self.run
        run.key_events.append(i)
        key = str(e.get("key") or "").lower()
        char = e.get("char") or ""
        mods = set(e.get("mods") or [])
        if e.get("redacted"):
            if char:
                self._insert(Unit(char, i, self.title))
            return
        if key in ("shift", "shift_l", "shift_r"):
            self.shift = True
        if key == "caps_lock":
            self.caps = not self.caps
        if key in _MODIFIER_KEYS:
            return
        command = mods & {"ctrl", "alt", "super"}
        if (command == {"ctrl"} and key in ("v", "\x16")) or (key == "insert" and "shift" in mods and not command):
            self._insert(Unit(PASTE, i, self.title))
            return
        if command:
            return
        units = run.units
        if key in _EDIT_KEYS and run.typed and run.typed[-1].event >= 0:
            run.typed.append(Unit("\n", -1, ""))  # what was typed before an edit ends there
        if key in _NEWLINE_KEYS:
            self._insert(Unit("\n", i, self.title))
        elif key == "backspace":
            if self.cursor > 0:
                del units[self.cursor - 1]
                self.cursor -= 1
        elif key == "delete":
            if self.cursor < len(units):
                del units[self.cursor]
        elif key == "left":
            self.cursor = max(0, self.cursor - 1)
        elif key == "right":
            self.cursor = min(len(units), self.cursor + 1)
        elif key == "home":
            while self.cursor > 0 and units[self.cursor - 1].text != "\n":
                self.cursor -= 1
        elif key in ("end", "up", "down"):
            # up/down recall history or move lines: unknown; the end of the text is the best guess
            self.cursor = len(units)
            if key == "end":
                while self.cursor < len(units) and units[self.cursor].text != "\n":
                    self.cursor += 1
        else:
            text = char or self._derive(key, "shift" in mods or self.shift)
            if text:
                self._insert(Unit(text, i, self.title))

    def key_up(self, i: int, e: Any) -> None:
        if self.run is not None:
            self.run.key_events.append(i)
        if str(e.get("key") or "").lower() in ("shift", "shift_l", "shift_r"):
            self.shift = False

    def _derive(self, key: str, shift: bool) -> str:
        """The character of a key whose event carries none (older journals): US layout."""
        if key in _NAMED_CHARS:
            return _NAMED_CHARS[key]
        if len(key) != 1:
            return ""
        if key.isalpha():
            return key.upper() if shift != self.caps else key.lower()
        return _SHIFTED.get(key, key) if shift else key

    def _insert(self, unit: Unit) -> None:
        assert self.run is not None
        self.run.units.insert(self.cursor, unit)
        self.run.typed.append(unit)
        self.cursor += 1


def rebuild(events: Sequence[Any]) -> list[TypedRun]:
    """The typed text of each focus run, from raw or redacted journal events."""
    b = _Builder()
    for i, e in enumerate(events):
        kind = _kind(e)
        if kind == "key_down":
            b.key_down(i, e)
        elif kind == "key_up":
            b.key_up(i, e)
        elif kind == "window":
            b.window(e)
        elif kind == "excluded" or (kind == "click" and e.get("pressed")):
            b.close()
    b.close()
    last: dict[Any, str] = {}  # per window: `sudo …` typed, a click, then the password is one flow
    for run in b.runs:
        run.context = last.get(run.wid, "")
        last[run.wid] = passwords.after(run.text, run.context)
    return b.runs


@dataclass
class TypedFinding:
    run: int  # journal index of the run's first event (the report's item "typed:I")
    finding: Finding  # span in the run's rebuilt text, or in what was typed when `deleted`
    events: list[int]  # journal indices of every key event to redact
    deleted: bool = False  # found in text that was typed and later deleted
    value: str = ""  # the text found (to recognise it on screen, where it may be half typed)


def _events_to_redact(run: TypedRun, events: Sequence[Any], units: list[int]) -> list[int]:
    """The units' key_downs, every key event typed in their time range (corrections, deleted
    characters, arrows) and the key_up of each redacted key."""
    if not units:
        return []
    times = [_t(events[i]) for i in units]
    t0, t1 = min(times), max(times)
    chosen = {i for i in run.key_events if t0 <= _t(events[i]) <= t1} | set(units)
    for i in sorted(chosen):
        if _kind(events[i]) != "key_down":
            continue
        key = str(events[i].get("key") or "").lower()
        # the release may come after a focus change, so look past the run
        up = next((j for j in range(i + 1, len(events)) if _kind(events[j]) == "key_up"
                   and str(events[j].get("key") or "").lower() == key), None)
        if up is not None:
            chosen.add(up)
    return sorted(chosen)


def _lines_prompted(run: TypedRun, prompted: Callable[[int], bool]) -> set[int]:
    """Line numbers of the run typed while the window title or the screen asked for a password."""
    out, line, first = set(), 0, True
    for u in run.units:
        if first and (passwords.title_asks(u.title) or prompted(u.event)):
            out.add(line)
        first = u.text == "\n"
        line += u.text.count("\n")
    return out


def find_in_run(
    run: TypedRun,
    events: Sequence[Any],
    detect: Callable[[str], list[Finding]],
    prompted: Callable[[int], bool] = lambda i: False,
) -> list[TypedFinding]:
    """Findings in one run's typed text, each with the key events that typed it.

    `detect` is e.g. `Detector.find`; `prompted(i)` says whether the screen showed a password
    prompt or a bullets-only field when key_down i was typed (the OCR side knows).
    """
    out: list[TypedFinding] = []
    text = run.text
    covered: set[int] = set()
    for f in merge(detect(text) + passwords.typed(text, _lines_prompted(run, prompted), run.context)):
        evs = _events_to_redact(run, events, run.span_events(f.start, f.end))
        covered.update(evs)
        out.append(TypedFinding(run.start, f, evs, value=text[f.start:f.end]))
    # what was typed and later deleted is still in the journal: look there too
    stream, starts = "", []
    for u in run.typed:
        starts.append(len(stream))
        stream += u.text
    for f in detect(stream):
        units = [u.event for u, s in zip(run.typed, starts)
                 if u.event >= 0 and s < f.end and s + len(u.text) > f.start]
        evs = _events_to_redact(run, events, units)
        if evs and not set(evs) <= covered:
            covered.update(evs)
            out.append(TypedFinding(run.start, f, evs, deleted=True, value=stream[f.start:f.end]))
    return out


def find(
    events: Sequence[Any],
    detect: Callable[[str], list[Finding]],
    prompted: Callable[[int], bool] = lambda i: False,
) -> list[TypedFinding]:
    """Findings in all typed text of a journal."""
    return [tf for run in rebuild(events) for tf in find_in_run(run, events, detect, prompted)]


def redactions(events: Sequence[Any], findings: Iterable[TypedFinding]) -> dict[int, dict[str, Any]]:
    """Field overrides per journal index for the redacted view: the first key_down of a finding
    carries `<ENTITY>`, every other key event of it an empty char; all lose key name and mods."""
    out: dict[int, dict[str, Any]] = {}
    for tf in sorted(findings, key=lambda tf: -tf.finding.score):
        fresh = [i for i in tf.events if i not in out]
        first = next((i for i in fresh if _kind(events[i]) == "key_down"), None)
        for i in fresh:
            fields: dict[str, Any] = {"key": "", "mods": [], "redacted": True}
            if _kind(events[i]) == "key_down":
                fields["char"] = placeholder(tf.finding.entity) if i == first else ""
            out[i] = fields
    return out
