"""What the person decided in review, and exactly what that makes leave the machine.

The redacted view (written by recorder/redact.py) plus the review decisions (sealed in
review.json.age) determine a bundle plan: the steps kept, their text, and each frame rendered
from the redacted frame, the person's extra boxes and any redaction they undid. Approval
records the SHA-256 of every item of that plan; export recomputes the plan and refuses if one
byte differs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import struct
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from PIL import Image, ImageDraw

from . import __version__
from .errors import CorruptFile, NotFound, OwnTraceError
from .keys import UnlockedIdentity
from .records import Event
from .steps import Screen, Step, derive_steps, index_findings, pyautogui_call, step_redactions
from .store import Session

REVIEW_FILE = "review.json.age"
REDACTED_JOURNAL = "redacted/journal.jsonl.age"
REDACTED_REPORT = "redacted/report.json.age"
SCHEMA_VERSION = 1
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_KEEP = {b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND"}  # pixels only: no text, time or ICC chunks

Progress = Callable[[int, int], None]  # (done, total)


def utc_now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def canonical_json(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def png_pixels_only(data: bytes, what: str) -> tuple[bytes, int, int]:
    """The PNG with ancillary chunks dropped, and its width and height."""
    if not data.startswith(PNG_SIGNATURE):
        raise CorruptFile(f"{what} is not a PNG")
    out, pos = [PNG_SIGNATURE], len(PNG_SIGNATURE)
    w = h = 0
    while pos + 12 <= len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        end = pos + 12 + length
        if end > len(data):
            break
        if kind == b"IHDR":
            w, h = struct.unpack(">II", data[pos + 8:pos + 16])
        if kind in PNG_KEEP:
            out.append(data[pos:end])
        pos = end
        if kind == b"IEND":
            return b"".join(out), w, h
    raise CorruptFile(f"{what} is a truncated PNG")


@dataclass
class Decisions:
    """The person's review decisions. Step numbers and finding numbers refer to the steps
    derived from the redacted journal and to the report's findings list."""

    task: str | None = None  # None keeps the task recorded with the session
    deleted_steps: list[int] = field(default_factory=list)
    deleted_ranges: list[list[float]] = field(default_factory=list)  # [t0, t1] in s from start
    boxes: list[dict[str, Any]] = field(default_factory=list)  # {"frame": n, "bbox": [x, y, w, h]}
    undone: list[int] = field(default_factory=list)  # findings whose redaction is undone
    texts: dict[int, str] = field(default_factory=dict)  # step → edited typed text

    def to_obj(self) -> dict[str, Any]:
        obj = asdict(self)
        obj["texts"] = {str(k): v for k, v in sorted(self.texts.items())}
        return obj

    def sha256(self) -> str:
        return sha256(canonical_json(self.to_obj()))

    def removes(self, step: Step) -> bool:
        return step.step_index in self.deleted_steps or any(a <= step.t_start <= b for a, b in self.deleted_ranges)

    @classmethod
    def from_obj(cls, obj: Any, view: "RedactedView") -> "Decisions":
        """Validated decisions; anything out of range is refused with the reason."""

        def bad(why: str) -> OwnTraceError:
            return OwnTraceError(f"invalid review decisions: {why}", "reload the review page")

        if not isinstance(obj, dict):
            raise bad("not an object")
        n_steps, n_findings = len(view.steps), len(view.findings)
        task = obj.get("task")
        if task is not None and (not isinstance(task, str) or len(task) > 10_000):
            raise bad("task must be text")
        steps = obj.get("deleted_steps", [])
        if not isinstance(steps, list) or not all(isinstance(i, int) and 0 <= i < n_steps for i in steps):
            raise bad("deleted_steps must be step numbers")
        ranges = obj.get("deleted_ranges", [])
        if not isinstance(ranges, list) or not all(
            isinstance(r, list) and len(r) == 2 and all(isinstance(v, (int, float)) for v in r) and r[0] <= r[1]
            for r in ranges
        ):
            raise bad("deleted_ranges must be [start, end] pairs in seconds")
        boxes = obj.get("boxes", [])
        if not isinstance(boxes, list):
            raise bad("boxes must be a list")
        clean_boxes = []
        for b in boxes:
            n = b.get("frame") if isinstance(b, dict) else None
            bbox = b.get("bbox") if isinstance(b, dict) else None
            if not isinstance(n, int) or n not in view.frame_sizes or not (
                isinstance(bbox, list) and len(bbox) == 4 and all(isinstance(v, int) for v in bbox)
            ):
                raise bad("a box needs a frame of the session and an integer [x, y, w, h]")
            fw, fh = view.frame_sizes[n]
            x, y, w, h = bbox
            x0, y0, x1, y1 = max(0, x), max(0, y), min(fw, x + w), min(fh, y + h)
            if x1 > x0 and y1 > y0:
                clean_boxes.append({"frame": n, "bbox": [x0, y0, x1 - x0, y1 - y0]})
        undone = obj.get("undone", [])
        if not isinstance(undone, list) or not all(isinstance(i, int) and 0 <= i < n_findings for i in undone):
            raise bad("undone must be finding numbers")
        texts = obj.get("texts", {})
        if not isinstance(texts, dict):
            raise bad("texts must map step numbers to text")
        clean_texts = {}
        for k, v in texts.items():
            if not (str(k).isdigit() and len(str(k)) <= 9 and int(k) < n_steps and view.steps[int(k)].action.type == "type"
                    and isinstance(v, str) and len(v) <= 100_000):
                raise bad("texts may only edit the text of typing steps")
            clean_texts[int(k)] = v
        return cls(task, sorted(set(steps)), [[float(a), float(b)] for a, b in ranges], clean_boxes,
                   sorted(set(undone)), clean_texts)


@dataclass
class Approval:
    approved_at: str
    decisions_sha256: str
    items: dict[str, str]  # bundle path → sha256, for every file the plan makes
    summary: dict[str, Any]


@dataclass
class ReviewRecord:
    """review.json.age: the decisions so far and, once approved, the approval."""

    decisions: Decisions
    approval: Approval | None = None

    def to_bytes(self) -> bytes:
        return json.dumps({"version": 1, "decisions": self.decisions.to_obj(),
                           "approval": asdict(self.approval) if self.approval else None}, indent=1).encode()


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
        if not session.has(REDACTED_JOURNAL) or not session.has(REDACTED_REPORT):
            raise OwnTraceError(
                f"session {session.id} has no redacted view yet",
                f"run `owntrace redact {session.id}` first: only the redacted view can be reviewed and exported",
            )
        self.session = session
        self.key = session.key(user)
        self.meta = session.meta
        self.task = session.task(self.key)
        try:
            text = session.read_sealed(self.key, REDACTED_JOURNAL).decode()
            self.events = [Event.from_obj(json.loads(line)) for line in text.splitlines() if line]
            report = json.loads(session.read_sealed(self.key, REDACTED_REPORT))
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
        rel = f"redacted/frames/{n:06d}.png.age"
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

    def load_review(self) -> ReviewRecord:
        if not self.session.has(REVIEW_FILE):
            return ReviewRecord(Decisions())
        try:
            obj = json.loads(self.session.read_sealed(self.key, REVIEW_FILE))
            approval = Approval(**obj["approval"]) if obj.get("approval") else None
            return ReviewRecord(Decisions.from_obj(obj["decisions"], self), approval)
        except (ValueError, KeyError, TypeError):
            raise CorruptFile(f"session {self.session.id}: review.json.age is malformed",
                              "delete it to start the review over") from None

    def save_review(self, record: ReviewRecord) -> None:
        self.session.write_sealed(REVIEW_FILE, record.to_bytes())


@dataclass
class FrameInfo:
    path: str
    sha256: str
    w: int
    h: int


class BundlePlan:
    """Exactly what leaves: episode.json, steps.jsonl and frames/NNNNNN.png, computed from the
    redacted view and the decisions. Frames are rendered one at a time (`frame_items`)."""

    def __init__(self, view: RedactedView, decisions: Decisions) -> None:
        self.view = view
        self.decisions = decisions
        self.undone = set(decisions.undone)
        derived = self._derive_with_undone() if self._undone_of("typed", "title") else view.steps
        self.steps = [s for s in derived if not decisions.removes(s)]
        self.removed = len(derived) - len(self.steps)
        self.frames = sorted({s.frame for s in self.steps if s.frame is not None
                              and view.session.has(f"redacted/frames/{s.frame:06d}.png.age")})
        self.frame_info: dict[int, FrameInfo] = {}

    def _undone_of(self, *sources: str) -> list[dict[str, Any]]:
        return [self.view.findings[i] for i in sorted(self.undone) if self.view.findings[i].get("source") in sources]

    def _derive_with_undone(self) -> list[Step]:
        """Steps with undone title findings restored in titles and undone typed findings' key
        events taken from the raw journal for the text (the steps themselves stay the same)."""
        raw = self.view.raw_events()
        events = list(self.view.events)
        if len(raw) != len(events):
            raise CorruptFile(f"session {self.view.session.id}: raw and redacted journals differ in length",
                              "run `owntrace redact` again")
        for f in self._undone_of("title"):
            i = int(str(f["item"]).partition(":")[2])
            title = str(raw[i].get("title") or "")
            # findings still in force on this title stay redacted (spans are in the raw title)
            keep = sorted((g for j, g in enumerate(self.view.findings)
                           if g.get("item") == f["item"] and j not in self.undone and g.get("span")),
                          key=lambda g: g["span"][0], reverse=True)
            for g in keep:
                a, b = g["span"]
                title = f"{title[:a]}<{g['entity']}>{title[b:]}"
            events[i] = Event(events[i].t, events[i].kind, {**events[i].data, "title": title})
        text_from = list(events)
        for f in self._undone_of("typed"):
            for i in f.get("events") or []:
                text_from[i] = raw[i]
        return self.view._derive(events, text_from)

    def boxes_on(self, n: int) -> list[list[int]]:
        return [b["bbox"] for b in self.decisions.boxes if b["frame"] == n]

    def render_frame(self, n: int) -> bytes:
        what = f"session {self.view.session.id}: redacted frame {n}"
        data = self.view.redacted_frame(n)
        if data is None:
            raise NotFound(f"{what} is withheld")
        boxes = self.boxes_on(n)
        undone = [f["bbox"] for f in self._undone_of("screen") if f.get("item") == f"frame:{n}" and f.get("bbox")]
        if not boxes and not undone:
            return png_pixels_only(data, what)[0]
        with Image.open(io.BytesIO(data)) as im:
            img = im.convert("RGB")
        draw = ImageDraw.Draw(img)
        if undone:
            raw = self.view.raw_frame(n)
            for x, y, w, h in undone:  # the raw pixels come back only inside the undone box
                img.paste(raw.crop((x, y, x + w, y + h)), (x, y))
            for j, f in enumerate(self.view.findings):  # ...and never over a redaction still in force
                if f.get("item") == f"frame:{n}" and f.get("bbox") and j not in self.undone:
                    x, y, w, h = f["bbox"]
                    draw.rectangle([x, y, x + w - 1, y + h - 1], fill=(0, 0, 0))
        for x, y, w, h in boxes:
            draw.rectangle([x, y, x + w - 1, y + h - 1], fill=(0, 0, 0))
        img.save(png := io.BytesIO(), "PNG")  # in memory only
        return png.getvalue()

    def frame_items(self) -> Iterator[tuple[str, bytes, str]]:
        for n in self.frames:
            data = self.render_frame(n)
            _, w, h = png_pixels_only(data, f"frame {n}")
            path = f"frames/{n:06d}.png"
            self.frame_info[n] = FrameInfo(path, sha256(data), w, h)
            yield path, data, self.frame_info[n].sha256

    def step_records(self) -> list[dict[str, Any]]:
        """steps.jsonl records; needs frame_items() consumed first (screenshots carry hashes)."""
        out = []
        for k, s in enumerate(self.steps):
            action = s.action
            if s.step_index in self.decisions.texts:
                action = type(action)(**{**asdict(action), "text": self.decisions.texts[s.step_index]})
            fi = self.frame_info.get(s.frame) if s.frame is not None else None
            redactions = [
                {key: f[key] for key in ("bbox", "span", "entity", "source") if key in f}
                for j in self.view.step_findings(s) if j not in self.undone for f in [self.view.findings[j]]
            ] + [{"bbox": b, "entity": "MANUAL", "source": "manual"} for b in (self.boxes_on(s.frame) if fi else [])]
            out.append({
                "step_index": k, "t_start": s.t_start, "t_end": s.t_end, "wall_time": s.wall_time,
                "action": action.to_obj(), "pyautogui": pyautogui_call(action),
                "screenshot": asdict(fi) if fi else None,
                "window": s.window, "redactions": redactions,
            })
        return out

    def steps_jsonl(self) -> bytes:
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in self.step_records()).encode()

    def redaction_summary(self) -> dict[str, Any]:
        counts = Counter(f.get("entity", "?") for j, f in enumerate(self.view.findings) if j not in self.undone)
        return {
            "counts": dict(sorted(counts.items())),
            "manual_redactions": len(self.decisions.boxes),
            "undone_redactions": [{"item": self.view.findings[j].get("item"), "entity": self.view.findings[j].get("entity")}
                                  for j in sorted(self.undone)],
            "withheld": self.view.withheld,
            "flagged": [{k: v for k, v in f.items() if k in ("item", "reason")} for f in self.view.flagged],
        }

    def episode(self) -> dict[str, Any]:
        meta = self.view.meta
        return {
            "schema_version": SCHEMA_VERSION,
            "episode_id": meta.id,
            "task": self.decisions.task if self.decisions.task is not None else self.view.task,
            "outcome": "unspecified",
            "platform": {"os": "linux", "display": "x11"},
            "screens": [{"w": s.get("w"), "h": s.get("h"), "scale": s.get("scale", 1.0),
                         "origin": [s.get("x", 0), s.get("y", 0)]} for s in meta.screens],
            "recorder": {"name": "owntrace", "version": meta.app_version or __version__},
            "started_at": meta.started_at,
            "duration_s": meta.duration_s,
            "steps": len(self.steps),
            "frames": len(self.frames),
            "redaction": self.redaction_summary(),
        }

    def items(self) -> Iterator[tuple[str, bytes, str]]:
        """Every file of the plan with its SHA-256, frames first (the steps need their hashes)."""
        yield from self.frame_items()
        for path, data in (("steps.jsonl", self.steps_jsonl()),
                           ("episode.json", json.dumps(self.episode(), indent=2, ensure_ascii=False).encode())):
            yield path, data, sha256(data)

    def review_info(self, approval: Approval) -> dict[str, Any]:
        return {"approved_at": approval.approved_at, "steps_removed": self.removed,
                "manual_redactions": len(self.decisions.boxes), "undone_redactions": len(self.undone),
                "decisions_sha256": approval.decisions_sha256}


def summary(view: RedactedView, decisions: Decisions) -> dict[str, Any]:
    """What approval would send, without rendering frames."""
    plan = BundlePlan(view, decisions)
    return {
        "session": view.meta.id,
        "task": plan.episode()["task"],
        "steps": len(plan.steps),
        "steps_removed": plan.removed,
        "frames": len(plan.frames),
        "actions": dict(Counter(s.action.type for s in plan.steps)),
        **plan.redaction_summary(),
    }


def approve(view: RedactedView, decisions: Decisions | None = None, progress: Progress | None = None) -> Approval:
    """Record the decisions and the hash of every item the export will contain (sealed)."""
    record = view.load_review()
    decisions = decisions if decisions is not None else record.decisions
    plan = BundlePlan(view, decisions)
    items: dict[str, str] = {}
    total = len(plan.frames) + 2
    for path, _, digest in plan.items():
        items[path] = digest
        if progress:
            progress(len(items), total)
    approval = Approval(utc_now(), decisions.sha256(), items, summary(view, decisions))
    view.save_review(ReviewRecord(decisions, approval))
    view.session.set_state("approved")
    return approval


def save_decisions(view: RedactedView, decisions: Decisions) -> ReviewRecord:
    """Store a draft; any change after approval withdraws the approval."""
    old = view.load_review()
    approval = old.approval if old.approval and old.approval.decisions_sha256 == decisions.sha256() else None
    record = ReviewRecord(decisions, approval)
    view.save_review(record)
    if old.approval and approval is None and view.meta.state == "approved":
        view.session.set_state("redacted")
    return record


def approved_plan(view: RedactedView) -> tuple[BundlePlan, Approval]:
    """The plan of an approved session; refuses a session that was never approved."""
    record = view.load_review()
    if record.approval is None:
        raise OwnTraceError(f"session {view.meta.id} is not approved",
                            f"review it with `owntrace review {view.meta.id}` or `owntrace approve {view.meta.id}` first")
    if record.approval.decisions_sha256 != record.decisions.sha256():
        raise OwnTraceError(f"session {view.meta.id}: the review decisions changed after approval",
                            "approve it again")
    return BundlePlan(view, record.decisions), record.approval
