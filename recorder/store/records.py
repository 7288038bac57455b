"""Typed records of the session store.

Journal events are one JSON object per line: {"t": ns since session start (monotonic),
"kind": ..., **fields}. Kinds and their fields:

  key_down / key_up  key: key name ("a", "A", "1", "shift", "ctrl", "alt", "super", "enter",
                     "backspace", "delete", "tab", "space", "left", "esc", "f1", ...);
                     char: the text the key produced ("" or absent for none; key_down only);
                     mods: held modifiers ["shift","ctrl","alt","super"] at the time
  move               x, y (coalesced at capture; the path's shape is kept)
  click              x, y, button ("left"|"right"|"middle"), pressed (bool)
  scroll             x, y, dx, dy (wheel notches; dy > 0 is up, as pynput reports)
  window             wid, app (WM_CLASS), title, pid, x, y, w, h, excluded (bool)
  excluded           input went to an excluded window (no count, no timing)
  frame              n (stored frame number), w, h, reason ("action"|"change"|"keyframe"),
                     dup (true when n repeats an identical earlier frame),
                     base (only on a delta frame: the keyframe it is composed on; read frames
                     with Session.frame_image, which composes deltas into full pictures).
                     Files: frames/NNNNNN.webp.age (lossless WebP)
  pause / resume     paused time records nothing
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from recorder.schema import Bool, Int, ListOf, Obj, Str, check

EVENT_KINDS = frozenset(
    "key_down key_up move click scroll window excluded frame pause resume".split()
)

# The fields of each kind, type- and range-checked when a journal is read (a segment sealed to
# the session's public key by anyone must not reach the step builder with a list for an x)
_COORD, _TEXT = Int(-(2**31), 2**31), Str(100_000)
_KEY = Obj({"key": Str(100), "char": _TEXT, "mods": ListOf(Str(20), 8), "redacted": Bool()})
_POINT = {"x": _COORD, "y": _COORD}
EVENT_FIELDS: dict[str, Obj] = {
    "key_down": _KEY, "key_up": _KEY,
    "move": Obj(_POINT),
    "click": Obj({**_POINT, "button": Str(20), "pressed": Bool()}),
    "scroll": Obj({**_POINT, "dx": _COORD, "dy": _COORD}),
    "window": Obj({**_POINT, "wid": Int(0, 2**63), "app": _TEXT, "title": _TEXT, "w": _COORD, "h": _COORD,
                   "excluded": Bool()}),
    "frame": Obj({"n": Int(0, 2**31), "w": Int(0, 2**16), "h": Int(0, 2**16), "reason": Str(20), "dup": Bool(),
                  "base": Int(0, 2**31)}),
    "excluded": Obj({}), "pause": Obj({}), "resume": Obj({}),
}


@dataclass(frozen=True)
class Event:
    t: int
    kind: str
    data: dict[str, Any] = field(default_factory=dict)

    def get(self, name: str, default: Any = None) -> Any:
        return self.data.get(name, default)

    def to_json(self) -> str:
        return json.dumps({"t": self.t, "kind": self.kind, **self.data}, separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_obj(cls, obj: dict[str, Any]) -> Event:
        if not isinstance(obj, dict) or not isinstance(obj.get("t"), int) or obj.get("kind") not in EVENT_KINDS:
            raise ValueError(f"not an event record: {str(obj)[:80]}")
        rest = {k: v for k, v in obj.items() if k not in ("t", "kind")}
        check(rest, EVENT_FIELDS[obj["kind"]], f"{obj['kind']} event")  # SchemaError is a ValueError
        return cls(obj["t"], obj["kind"], rest)


class State(StrEnum):
    """A session's state in session.json (the value is the string stored there).

    recording -> recorded | interrupted -> redacted -> approved -> exported; any state but
    recording -> raw-deleted (the raw capture removed, the redacted view kept)."""

    RECORDING = "recording"
    RECORDED = "recorded"
    INTERRUPTED = "interrupted"  # the recorder died or failed; what it sealed is readable
    REDACTED = "redacted"
    APPROVED = "approved"
    EXPORTED = "exported"
    RAW_DELETED = "raw-deleted"


@dataclass
class SessionMeta:
    """session.json: public facts only, never recorded content (no titles, no keys, no pixels)."""

    id: str
    started_at: str  # UTC ISO 8601, the wall clock at t=0
    state: State
    recipient: str  # the session's own age public key
    name: str = ""
    ended_at: str | None = None
    duration_s: float = 0.0
    pid: int | None = None
    screens: list[dict[str, Any]] = field(default_factory=list)
    events: int = 0
    frames: int = 0
    segments: int = 0
    study: str | None = None
    app_version: str = ""
    damaged: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> SessionMeta:
        obj = json.loads(text)
        known = {f for f in cls.__dataclass_fields__}
        meta = cls(**{k: v for k, v in obj.items() if k in known})
        meta.state = State(meta.state)  # ValueError for a state no version wrote
        return meta
