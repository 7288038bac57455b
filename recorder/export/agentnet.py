"""OpenCUA / AgentNet: one JSON line per task, actions as pyautogui code in 0-1 coordinates.

The format of xlang-ai/OpenCUA data/cot-generate/README.md ("Input Structure") and
gen_cot_example/raw_example.jsonl: {"task_id", "instruction", "traj": [{"index", "image",
"value": {"code"}}]}, several calls joined by newlines, the last step
computer.terminate(status='success'|'failure'). `image` is relative to the bundle directory
(pass the bundle as gen_cot.py's --image_folder).
"""

from __future__ import annotations

from typing import Any

from recorder.export.trajectories import Trajectory, jsonl
from recorder.steps import pyautogui_calls

FILE = "agentnet.jsonl"


def task_line(t: Trajectory) -> dict[str, Any]:
    traj = [{"index": i, "image": s.frame, "value": {"code": "\n".join(pyautogui_calls(s.action, "norm"))}}
            for i, s in enumerate(t.steps)]
    last = t.steps[-1].frame if t.steps else None
    traj.append({"index": len(traj), "image": last, "value": {"code": f"computer.terminate(status={t.status!r})"}})
    return {"task_id": t.episode_id, "instruction": t.task, "traj": traj}


def files(t: Trajectory) -> dict[str, bytes]:
    return {FILE: jsonl([task_line(t)])}
