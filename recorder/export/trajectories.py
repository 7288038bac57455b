"""A bundle's steps as the trajectory files agent-training pipelines read (AgentNet, OSWorld).

Pure: the input is the bundle's own steps.jsonl and episode.json, exactly as approved and
hash-checked by the export, so a converted file can hold nothing the person did not approve.
The converted files refer to the bundle's frames/ instead of copying them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from recorder.errors import CorruptFile
from recorder.steps import Action, is_pyautogui_key

STATUSES = ("success", "failure")


@dataclass(frozen=True)
class TrajStep:
    action: Action
    wall_time: str  # UTC ISO 8601
    frame: str | None  # bundle path of the frame shown before the action (None: none exported)


@dataclass(frozen=True)
class Trajectory:
    episode_id: str
    task: str
    status: str  # success | failure: what the person said in review (success when not said)
    steps: list[TrajStep]
    skipped: int  # steps left out: keys pyautogui has no name for


def _replayable(a: Action) -> bool:
    return a.type not in ("key", "hotkey") or all(is_pyautogui_key(k) for k in a.keys or [])


def trajectory(steps_jsonl: bytes, episode_json: bytes) -> Trajectory:
    """The bundle's steps; a step without a frame of its own (withheld) keeps the last frame
    exported before it, the last distinct screen the person saw before acting."""
    try:
        episode = json.loads(episode_json)
        records = [json.loads(line) for line in steps_jsonl.decode().splitlines() if line.strip()]
        steps, frame, skipped = [], None, 0
        for r in records:
            frame = (r.get("screenshot") or {}).get("path") or frame
            action = Action(**r["action"])
            if not _replayable(action):
                skipped += 1
                continue
            steps.append(TrajStep(action, str(r["wall_time"]), frame))
    except (ValueError, TypeError, KeyError, AttributeError, UnicodeDecodeError):
        raise CorruptFile("the bundle's steps.jsonl or episode.json is malformed") from None
    outcome = episode.get("outcome")
    return Trajectory(str(episode.get("episode_id", "")), str(episode.get("task") or ""),
                      outcome if outcome in STATUSES else "success", steps, skipped)


def jsonl(rows: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()


def _converters() -> dict[str, Callable[[Trajectory], dict[str, bytes]]]:
    from recorder.export import agentnet, osworld

    return {"agentnet": agentnet.files, "osworld": osworld.files}


FORMATS = ("agentnet", "osworld")


def converted_files(fmt: str, steps_jsonl: bytes, episode_json: bytes) -> dict[str, bytes]:
    """The files `fmt` adds to the bundle (bundle path → bytes)."""
    return _converters()[fmt](trajectory(steps_jsonl, episode_json))
