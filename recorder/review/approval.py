"""Approval: the person's consent to exactly one bundle plan, sealed with the hash of every item."""

from __future__ import annotations

from collections import Counter
from typing import Any

from recorder.errors import OwnTraceError
from recorder.progress import Progress
from recorder.redact.view import RedactedView
from recorder.review.decisions import Approval, Decisions, ReviewRecord, load_review, save_review
from recorder.review.plan import BundlePlan
from recorder.store.records import State
from recorder.timestamps import utc_now


def summary(plan: BundlePlan) -> dict[str, Any]:
    """What approving `plan` would send, without rendering frames."""
    return {
        "session": plan.view.meta.id,
        "task": plan.episode()["task"],
        "steps": len(plan.steps),
        "steps_removed": plan.removed,
        "frames": len(plan.frames),
        "actions": dict(Counter(s.action.type for s in plan.steps)),
        **plan.redaction_summary(),
    }


def approve(view: RedactedView, decisions: Decisions | None = None, progress: Progress | None = None) -> Approval:
    """Approve the plan of `decisions` (default: the ones saved by the review)."""
    decisions = decisions if decisions is not None else load_review(view).decisions
    return approve_plan(BundlePlan(view, decisions), progress)


def approve_plan(plan: BundlePlan, progress: Progress | None = None) -> Approval:
    """Record the plan's decisions and the hash of every item the export will contain (sealed):
    exactly the plan the person was shown."""
    items: dict[str, str] = {}
    total = len(plan.frames) + 2
    for path, _, digest in plan.items():
        items[path] = digest
        if progress:
            progress(len(items), total)
    approval = Approval(utc_now(), plan.decisions.sha256(), items, summary(plan))
    save_review(plan.view, ReviewRecord(plan.decisions, approval))
    plan.view.session.set_state(State.APPROVED)
    return approval


def approved_plan(view: RedactedView) -> tuple[BundlePlan, Approval]:
    """The plan of an approved session; refuses a session that was never approved."""
    record = load_review(view)
    if record.approval is None:
        raise OwnTraceError(f"session {view.meta.id} is not approved",
                            f"review it with `owntrace review {view.meta.id}` or `owntrace approve {view.meta.id}` first")
    if record.approval.decisions_sha256 != record.decisions.sha256():
        raise OwnTraceError(f"session {view.meta.id}: the review decisions changed after approval",
                            "approve it again")
    return BundlePlan(view, record.decisions), record.approval
