"""The person decides: a false positive found all over a session is kept everywhere in one
action on the review page, and the page says which detector found each item."""

from __future__ import annotations

import io
from pathlib import Path

from playwright.sync_api import sync_playwright

from recorder.demo.apps import find_chromium
from recorder.redact import session as redact
from recorder.redact.view import RedactedView
from recorder.review.decisions import load_review
from recorder.review.server import ReviewServer
from recorder.store import session as store
from recorder.store.records import Event
from redaction.detect import Detector
from tests.support.browser import CHROMIUM_ARGS
from tests.support.screens import render

MS = 1_000_000


def make_session(root: Path) -> store.Session:
    """Three clicks in a chat; each frame shows "Sam Okafor" (and one an address)."""
    w = store.SessionWriter.create(root, name="keep")
    w.append(Event(0, "window", {"wid": 7, "app": "Chat", "title": "Chat - Sam Okafor", "pid": 1, "x": 0, "y": 0,
                                 "w": 640, "h": 80, "excluded": False}))
    t = MS
    for k in range(3):
        lines = [[("From: ", None), ("Sam Okafor", "PERSON")], [(f"message {k}: 14 Elm Street" if k == 1 else
                                                                 f"message {k} about the build", None)]]
        buf = io.BytesIO()
        render(lines, size=(640, 80), px=14).image.save(buf, format="PNG")
        n = w.add_frame(buf.getvalue())
        w.append(Event(t, "frame", {"n": n, "w": 640, "h": 80, "reason": "action", "dup": False}))
        w.append(Event(t + MS, "click", {"x": 100, "y": 30, "button": "left", "pressed": True}))
        w.append(Event(t + 50 * MS, "click", {"x": 100, "y": 30, "button": "left", "pressed": False}))
        t += 1000 * MS
    w.close()
    return store.Session.load(w.path)


def test_keep_a_value_everywhere_in_one_action(home: Path, user) -> None:
    session = make_session(home)
    report = redact.redact_session(home, session, user, detector=Detector())
    sam = [j for j, f in enumerate(report.findings) if f.entity == "PERSON"]
    assert len({report.findings[j].group for j in sam}) == 1 and len(sam) >= 4  # three frames and the titles
    address = [j for j, f in enumerate(report.findings) if f.entity == "ADDRESS"]
    assert address and report.findings[address[0]].group != report.findings[sam[0]].group

    server = ReviewServer(RedactedView(session, user))
    server.start()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=find_chromium(), args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                page.on("dialog", lambda d: d.accept())
                page.goto(server.url)
                page.wait_for_selector("body[data-ready='1']")
                assert "found by" in page.inner_text("#redactions")
                keep = page.locator("#redactions button[data-keep]").first
                assert "keep it everywhere" in keep.inner_text()
                keep.click()
                page.wait_for_function("document.querySelector('#message').textContent.includes('Warning')")
                assert page.locator("#redactions button[data-keep]").count() == 0  # all of them are kept now
            finally:
                browser.close()
        undone = load_review(server.view).decisions.undone
        group = report.findings[sam[0]].group
        assert undone == [j for j, f in enumerate(report.findings) if f.group == group]
        assert not set(undone) & set(address)  # another value stays redacted
    finally:
        server.finish("closed")
        server.wait(5)
