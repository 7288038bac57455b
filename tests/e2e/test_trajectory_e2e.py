"""What a person does: record real typing in an xterm on Xvfb, redact, approve as failed, export
as OSWorld and AgentNet with the CLI (traced: no network) — then replay the OSWorld actions with
xdotool into a fresh xterm and read back what the replayed typing wrote."""

from __future__ import annotations

import ast
import json
import os
from pathlib import Path

import pytest

from recorder.redact import session as redact
from tests.support import xhelpers as xh
from tests.support.cli import OWNTRACE
from tests.support.guards import scan_plaintext, traced
from tests.support.recording import read_back, recording, settle, wait_for

pytestmark = pytest.mark.x11

EMAIL = "ann.lee@example.org"
TYPED = f'echo "it\'s" {EMAIL}'
XDOTOOL_KEYS = {"enter": "Return", "tab": "Tab", "esc": "Escape", "backspace": "BackSpace"}


def replay(action: str, env: dict[str, str]) -> None:
    """OSWorld's pyautogui code, done with xdotool (pyautogui itself cannot be installed here)."""
    for stmt in ast.parse(action).body:
        call = stmt.value
        name = call.func.attr
        args = [ast.literal_eval(a) for a in call.args]
        kw = {k.arg: ast.literal_eval(k.value) for k in call.keywords}
        if name == "click":
            xh.click(kw["x"], kw["y"], env)
        elif name == "write":
            xh.type_text(args[0], env)
        elif name == "press":
            xh.key(XDOTOOL_KEYS.get(args[0], args[0]), env)
        elif name == "hotkey":
            xh.key("+".join(XDOTOOL_KEYS.get(k, k) for k in args), env)
        else:
            raise AssertionError(f"this recording has no {name}")


def test_record_export_osworld_and_replay(home: Path, user, xenv, tmp_path: Path) -> None:
    (home / "config.toml").write_text("[capture]\nmax_fps = 0.5\n")  # few frames: OCR is the slow part
    with xh.xterm("OwnTrace Traj", xenv, geometry="80x24+40+40"), recording(home) as rec:
        xh.click(300, 200, xenv)
        settle(rec)
        xh.type_text(TYPED, xenv)
        xh.key("Return", xenv)
        settle(rec)
    s, _, _ = read_back(home, user)
    redact.redact_session(home, s, user)
    env = {**xenv, "OWNTRACE_HOME": str(home)}
    cmds = [["approve", s.id, "--yes", "--outcome", "failure"],
            ["export", s.id, "--format", "osworld", "--out", str(tmp_path / "ow")],
            ["export", s.id, "--format", "agentnet", "--out", str(tmp_path / "an")]]
    for i, args in enumerate(cmds):
        proc, connects = traced(OWNTRACE + args, tmp_path / f"strace{i}.log", env=env, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        assert not [c for c in connects if c.outbound], connects
    assert not scan_plaintext([home], [EMAIL.encode()])  # nothing in clear at rest
    for bundle in ("ow", "an"):
        assert EMAIL not in "".join(p.read_text() for p in (tmp_path / bundle).glob("*.json*"))
    lines = [json.loads(x) for x in (tmp_path / "ow/traj.jsonl").read_text().splitlines()]
    mine = [x for x in lines if x["action"] not in ("DONE", "FAIL")]
    assert lines[-1]["action"] == "FAIL" and lines[-1]["info"] == {"fail": True}
    assert mine[0]["action"] == "pyautogui.click(x=300, y=200)"
    task = json.loads((tmp_path / "an/agentnet.jsonl").read_text())
    assert task["traj"][-1]["value"]["code"] == "computer.terminate(status='failure')"
    assert task["traj"][0]["value"]["code"] == f"pyautogui.click(x={round(300 / 1280, 4)}, y={round(200 / 800, 4)})"

    # the replay: a fresh xterm at the same place, whose shell is `cat` into a file
    out = tmp_path / "replayed.txt"
    with xh.xterm("OwnTrace Replay", xenv, command=["sh", "-c", f"cat > {out}"], geometry="80x24+40+40"):
        for line in mine:
            replay(line["action"], xenv)
        wait_for(lambda: out.exists() and out.read_text().endswith("\n"), 20, "the replayed line")
    assert out.read_text() == TYPED.replace(EMAIL, "<EMAIL_ADDRESS>") + "\n"
    os.remove(out)
