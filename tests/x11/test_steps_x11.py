"""Steps from a real recording: xdotool input into an xterm on Xvfb, recorded, redacted, derived,
approved, exported and verified."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from recorder.export.bundle import export_session
from recorder.export.verify import verify_bundle
from recorder.redact import session as redact
from recorder.redact.view import RedactedView
from recorder.review import approval
from tests.support import xhelpers as xh
from tests.support.recording import read_back, recording, settle

pytestmark = pytest.mark.x11
EMAIL = "ann.lee@example.org"


def test_recorded_session_to_steps_and_bundle(home: Path, user, xenv, tmp_path: Path) -> None:
    (home / "config.toml").write_text("[capture]\nmax_fps = 0.5\n")  # few frames: OCR is the slow part
    with xh.xterm("OwnTrace Steps", xenv, geometry="80x24+40+40"), recording(home) as rec:
        xh.click(300, 200, xenv)
        settle(rec)
        xh.type_text(f"echo hi {EMAIL}", xenv)
        xh.key("Return", xenv)
        xh.key("ctrl+u", xenv)
        settle(rec)
        xh.click(100, 60, xenv, repeat=2)  # xdotool: two presses 100 ms apart
        settle(rec)
        xh.xdotool("mousemove", "--sync", "80", "100", "mousedown", "1", env=xenv)
        xh.xdotool("mousemove", "--sync", "160", "110", env=xenv)
        xh.xdotool("mousemove", "--sync", "300", "130", "mouseup", "1", env=xenv)
        settle(rec)
        xh.xdotool("mousemove", "--sync", "400", "300", "click", "--repeat", "3", "--delay", "50", "5", env=xenv)
    s, _, _ = read_back(home, user)
    redact.redact_session(home, s, user)
    view = RedactedView(s, user)
    steps = [st for st in view.steps if st.window.get("title") == "OwnTrace Steps"]
    kinds = [st.action.type for st in steps]
    assert kinds == ["click", "type", "key", "hotkey", "double_click", "drag", "scroll"], [
        (st.action.type, st.pyautogui) for st in view.steps]
    click, typing, enter, hotkey, double, drag, scroll = steps
    assert (click.action.x_px, click.action.y_px) == (300, 200) and click.action.x_norm == round(300 / 1280, 5)
    assert typing.action.text == "echo hi <EMAIL_ADDRESS>", typing.action.text
    assert enter.pyautogui == "pyautogui.press('enter')" and hotkey.pyautogui == "pyautogui.hotkey('ctrl', 'u')"
    assert double.pyautogui == "pyautogui.doubleClick(x=100, y=60)"
    assert (drag.action.x_px, drag.action.y_px, drag.action.end_x_px, drag.action.end_y_px) == (80, 100, 300, 130)
    assert scroll.pyautogui == "pyautogui.scroll(-3, x=400, y=300)"
    assert all(st.frame is not None and st.window["app"].lower() == "xterm" for st in steps)
    assert any(view.findings[j]["source"] == "typed" for j in view.step_findings(typing))
    approval.approve(view)
    export_session(home, s, user, tmp_path / "b")
    assert verify_bundle(tmp_path / "b").ok
    text = (tmp_path / "b/steps.jsonl").read_text()
    assert EMAIL not in text and len(text.splitlines()) == len(view.steps)
    assert json.loads(text.splitlines()[0])["screenshot"]["w"] == 1280
