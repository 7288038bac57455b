"""The review page's success/failure choice in real headless Chromium, as it ends the
AgentNet and OSWorld exports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from recorder.demo.apps import find_chromium
from recorder.export.bundle import export_session
from recorder.redact.view import RedactedView
from recorder.review.decisions import load_review
from recorder.review.server import ReviewServer
from tests.support.browser import CHROMIUM_ARGS
from tests.support.review_kit import standard_session


def _review(home: Path, user, choose: str | None) -> ReviewServer:
    srv = ReviewServer(RedactedView(standard_session(home), user))
    srv.start()
    errors: list[str] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=find_chromium(), args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.on("dialog", lambda d: d.accept())
                page.goto(srv.url)
                page.wait_for_selector("body[data-ready='1']")
                assert page.is_checked("input[name='outcome'][value='success']")  # the default
                if choose:
                    page.check(f"input[name='outcome'][value='{choose}']")
                page.click("#approve")
                page.wait_for_selector("#done:not([hidden])")
            finally:
                browser.close()
    finally:
        if not srv.finished.is_set():
            srv.finish("closed")
    assert srv.wait(10) == "approved" and errors == []
    return srv


@pytest.mark.parametrize(("choose", "status", "done"), [(None, "success", "DONE"), ("failure", "failure", "FAIL")])
def test_outcome_chosen_on_the_page_ends_the_trajectories(home: Path, user, tmp_path: Path,
                                                          choose: str | None, status: str, done: str) -> None:
    srv = _review(home, user, choose)
    assert load_review(srv.view).decisions.outcome == status
    sid = srv.view.session.id
    export_session(home, sid, user, tmp_path / "an", trajectory="agentnet")
    traj = json.loads((tmp_path / "an/agentnet.jsonl").read_text())["traj"]
    assert traj[-1]["value"]["code"] == f"computer.terminate(status='{status}')"
    assert json.loads((tmp_path / "an/episode.json").read_text())["outcome"] == status
    export_session(home, sid, user, tmp_path / "ow", trajectory="osworld")
    assert json.loads((tmp_path / "ow/traj.jsonl").read_text().splitlines()[-1])["action"] == done
