"""What the person decided in review (review.json.age): the decisions, and the approval once given."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from recorder.errors import CorruptFile, OwnTraceError
from recorder.hashing import canonical_json, sha256
from recorder.redact.view import RedactedView
from recorder.steps import Step
from recorder.store.records import State

REVIEW_FILE = "review.json.age"
OUTCOMES = ("success", "failure")


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
    outcome: str | None = None  # "success" | "failure", as the person said; None: not said

    def to_obj(self) -> dict[str, Any]:
        obj = asdict(self)
        obj["texts"] = {str(k): v for k, v in sorted(self.texts.items())}
        if self.outcome is None:  # absent, so decisions made before outcomes existed keep their hash
            del obj["outcome"]
        return obj

    def sha256(self) -> str:
        return sha256(canonical_json(self.to_obj()))

    def removes(self, step: Step) -> bool:
        return step.step_index in self.deleted_steps or any(a <= step.t_start <= b for a, b in self.deleted_ranges)

    @classmethod
    def from_obj(cls, obj: Any, view: RedactedView) -> Decisions:
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
        outcome = obj.get("outcome")
        if outcome not in (None, *OUTCOMES):
            raise bad("outcome must be success or failure")
        return cls(task, sorted(set(steps)), [[float(a), float(b)] for a, b in ranges], clean_boxes,
                   sorted(set(undone)), clean_texts, outcome)


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




def load_review(view: RedactedView) -> ReviewRecord:
    """The decisions so far (empty before the first save) and the approval, if any."""
    if not view.session.has(REVIEW_FILE):
        return ReviewRecord(Decisions())
    try:
        obj = json.loads(view.session.read_sealed(view.key, REVIEW_FILE))
        approval = Approval(**obj["approval"]) if obj.get("approval") else None
        return ReviewRecord(Decisions.from_obj(obj["decisions"], view), approval)
    except (ValueError, KeyError, TypeError):
        raise CorruptFile(f"session {view.session.id}: review.json.age is malformed",
                          "delete it to start the review over") from None


def save_review(view: RedactedView, record: ReviewRecord) -> None:
    view.session.write_sealed(REVIEW_FILE, record.to_bytes())


def save_decisions(view: RedactedView, decisions: Decisions) -> ReviewRecord:
    """Store a draft; any change after approval withdraws the approval."""
    old = load_review(view)
    approval = old.approval if old.approval and old.approval.decisions_sha256 == decisions.sha256() else None
    record = ReviewRecord(decisions, approval)
    save_review(view, record)
    if old.approval and approval is None and view.meta.state == State.APPROVED:
        view.session.set_state(State.REDACTED)
    return record
