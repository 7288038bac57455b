"""The timeline page in real headless Chromium, and its server's refusals (the review
server's rules: 127.0.0.1, exact Host, token, strict CSP, read-only)."""

from __future__ import annotations

import http.client
import io
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect, sync_playwright

from recorder.demo.apps import find_chromium
from recorder.search import indexer
from recorder.search.searcher import Library
from recorder.search.timeline import TimelineServer
from tests.support.browser import CHROMIUM_ARGS
from tests.support.review_kit import standard_session
from tests.support.search import Writer


@pytest.fixture
def timeline(home: Path, user):
    w = Writer.create(home, name="notes")
    w.window("XTerm", "notes shell")
    w.frame(["Meeting with the otterbay team", "moved to Friday"])
    w.type("vim otterbay.md\n")
    w.frame(["Meeting with the otterbay team", "moved to Friday", "saved"])
    notes = w.close()
    reviewed = standard_session(home)  # has a redacted view: the page links into its review
    for s in (notes, reviewed):
        indexer.index_session(s, user)
    library = Library(home, user)
    srv = TimelineServer(library, user)
    srv.start()
    srv.sessions = (notes, reviewed)  # type: ignore[attr-defined]
    yield srv
    srv.stop()
    library.close()


def _get(srv: TimelineServer, path: str, host: str | None = None, method: str = "GET", cookie: bool = True):
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    headers = {"Host": host or srv.host, **({"Cookie": srv.gate.cookie_header()} if cookie else {})}
    conn.request(method, path, headers=headers)
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, dict(r.getheaders()), data


def test_refuses_no_cookie_foreign_host_and_writes(timeline: TimelineServer) -> None:
    assert timeline.httpd.server_address[0] == "127.0.0.1"
    status, headers, _ = _get(timeline, "/api/days")
    assert status == 200 and "Access-Control-Allow-Origin" not in headers
    assert "script-src 'self'" in headers["Content-Security-Policy"] and headers["Cache-Control"] == "no-store"
    assert headers["X-Frame-Options"] == "DENY" and headers["Referrer-Policy"] == "no-referrer"
    assert _get(timeline, "/api/days", cookie=False)[0] == 403
    assert _get(timeline, "/api/days", host=f"localhost:{timeline.port}")[0] == 421
    assert _get(timeline, "/api/days", method="POST")[0] == 405
    assert _get(timeline, "/api/days", method="DELETE")[0] == 405
    notes = timeline.sessions[0]  # type: ignore[attr-defined]
    status, headers, data = _get(timeline, f"/frame/{notes.id}/2")
    assert status == 200 and headers["Content-Type"] == "image/png" and Image.open(io.BytesIO(data)).size == (800, 300)
    status, _, data = _get(timeline, "/api/search?q=%22unclosed")
    assert status == 409 and b"unclosed quote" in data
    # a session with no redacted view has no review to link to: a clear answer, no server
    status, _, data = _get(timeline, f"/review/{notes.id}")
    assert status == 409 and b"has no redacted view yet" in data and timeline.reviews == {}
    # a review opened from the timeline sets a cookie of its own name: the timeline's stays valid
    reviewed = timeline.sessions[1]  # type: ignore[attr-defined]
    status, headers, _ = _get(timeline, f"/review/{reviewed.id}")
    review = timeline.reviews[reviewed.id]
    first = headers["Location"]
    assert status == 303 and first.startswith(f"{review.origin}/open/") and first != review.url
    assert review.gate.cookie_name != timeline.gate.cookie_name
    # issue 22: each click gets a fresh link (the second click got the first, spent code)
    conn = http.client.HTTPConnection("127.0.0.1", review.port, timeout=10)
    conn.request("GET", first.removeprefix(review.origin), headers={"Host": review.host})
    assert conn.getresponse().status == 303
    conn.close()
    status, headers, _ = _get(timeline, f"/review/{reviewed.id}")
    assert status == 303 and headers["Location"] != first
    conn = http.client.HTTPConnection("127.0.0.1", review.port, timeout=10)
    conn.request("GET", headers["Location"].removeprefix(review.origin), headers={"Host": review.host})
    assert conn.getresponse().status == 303
    conn.close()


def test_timeline_in_chromium_days_sessions_steps_search_and_review_link(timeline: TimelineServer) -> None:
    notes, reviewed = timeline.sessions  # type: ignore[attr-defined]
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=find_chromium(), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            page = context.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(timeline.url)
            page.wait_for_selector("body[data-ready='1']")
            assert page.locator(".day h2").count() == 1
            assert page.locator(".session").count() == 2
            # a session opens into its steps, and the first step's frame
            page.click(f".session[data-session='{notes.id}'] button")
            expect(page.locator("#steps li").first).to_be_visible()
            assert "pyautogui.write('vim otterbay.md')" in page.inner_text("#steps")
            expect(page.locator("#frame")).to_have_js_property("naturalWidth", 800)
            # search: the on-screen and typed word, highlighted, best first
            page.fill("#q", "otterbay")
            page.click("#go")
            expect(page.locator("#results li").first).to_be_visible()
            marks = page.locator("#results mark").all_inner_texts()
            assert marks and {m.lower() for m in marks} == {"otterbay"}
            assert {page.locator("#results li").nth(k).get_attribute("data-session")
                    for k in range(page.locator("#results li").count())} == {notes.id}
            page.locator("#results li").first.click()
            expect(page.locator("#detail-head")).to_contain_text(notes.id)
            expect(page.locator("#frame")).to_have_js_property("naturalWidth", 800)
            expect(page.locator("#steps li.selected")).to_have_count(1)  # the step at the hit's frame
            # a bad query is one clear line on the page
            page.fill("#q", "app:")
            page.click("#go")
            expect(page.locator("#note")).to_contain_text("the filter app: has no word after it")
            # the link into review (and from there export) of a redacted session
            with context.expect_page() as review_page:
                page.click(f".session[data-session='{reviewed.id}'] a")
            review = review_page.value
            review.wait_for_selector("body[data-ready='1']")
            assert review.url.startswith("http://127.0.0.1:") and review.url != timeline.url
            assert review.locator("#steps li").count() == 6
        finally:
            browser.close()
    # the one console error is the bad query's answer (409), shown on the page above
    assert len(errors) == 1 and "409" in errors[0], errors
    assert list(timeline.reviews) == [reviewed.id]
