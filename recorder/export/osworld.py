"""OSWorld: traj.jsonl as xlang-ai/OSWorld's lib_run_single.py writes it, one line per action.

{"step_num", "action_timestamp" (%Y%m%d@%H%M%S), "action" (pyautogui code in pixels),
"reward", "done", "info", "screenshot_file"}; the episode ends with the special action DONE
or FAIL (done true, info {"done": true} or {"fail": true}, as desktop_env's step() returns).
OSWorld's screenshot_file is the screen after the action: here the frame the next step was
shown with, relative to the bundle directory. After the last action no reviewed frame exists,
so the last action and DONE/FAIL have null.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from recorder.export.trajectories import Trajectory, jsonl
from recorder.steps import pyautogui_call

FILE = "traj.jsonl"
TIMESTAMP = "%Y%m%d@%H%M%S"


def action_timestamp(wall_time: str) -> str:
    return dt.datetime.fromisoformat(wall_time.replace("Z", "+00:00")).strftime(TIMESTAMP)


def lines(t: Trajectory) -> list[dict[str, Any]]:
    out = []
    for i, s in enumerate(t.steps):
        after = t.steps[i + 1].frame if i + 1 < len(t.steps) else None
        out.append({"step_num": i + 1, "action_timestamp": action_timestamp(s.wall_time),
                    "action": pyautogui_call(s.action), "reward": 0, "done": False, "info": {},
                    "screenshot_file": after})
    end = t.steps[-1].wall_time if t.steps else None
    done = "DONE" if t.status == "success" else "FAIL"
    out.append({"step_num": len(out) + 1, "action_timestamp": action_timestamp(end) if end else None,
                "action": done, "reward": 0, "done": True, "info": {done.lower(): True},
                "screenshot_file": None})
    return out


def files(t: Trajectory) -> dict[str, bytes]:
    return {FILE: jsonl(lines(t))}
