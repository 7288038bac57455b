"""The review page in real headless Chromium, and the server's refusals."""

from __future__ import annotations

import http.client
import io
import json
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect, sync_playwright

from recorder.demo.apps import find_chromium
from recorder.export.bundle import export_session
from recorder.redact.view import RedactedView
from recorder.review.decisions import load_review
from recorder.review.server import ReviewServer
from tests.support.browser import CHROMIUM_ARGS
from tests.support.review_kit import SECRET_BOX, Builder, standard_session


@pytest.fixture
def server(home: Path, user):
    s = standard_session(home)
    srv = ReviewServer(RedactedView(s, user))
    srv.start()
    yield srv
    if not srv.finished.is_set():
        srv.finish("closed")
        srv.wait(5)


def _request(srv: ReviewServer, method: str, path: str, headers: dict | None = None, body: bytes | None = None):
    """A request as the page makes it: with the session cookie unless `headers` drops it (None)."""
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    hdrs = {k: v for k, v in {"Host": srv.host, "Cookie": srv.gate.cookie_header(), **(headers or {})}.items()
            if v is not None}
    conn.request(method, path, body=body, headers=hdrs)
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, dict(r.getheaders()), data


def _post_headers(srv: ReviewServer) -> dict:
    return {"Origin": srv.origin, "X-CSRF-Token": srv.csrf, "Content-Type": "application/json"}


def test_refuses_missing_cookie_foreign_host_and_cross_origin(server: ReviewServer) -> None:
    assert server.httpd.server_address[0] == "127.0.0.1"
    status, headers, _ = _request(server, "GET", "/api/session")
    assert status == 200 and "Access-Control-Allow-Origin" not in headers
    assert "script-src 'self'" in headers["Content-Security-Policy"] and headers["Cache-Control"] == "no-store"
    assert _request(server, "GET", "/api/session", {"Cookie": None})[0] == 403
    assert _request(server, "GET", "/", {"Cookie": f"{server.gate.cookie_name}={server.gate.cookie[:-1]}x"})[0] == 403
    assert _request(server, "GET", "/frame/1", {"Cookie": None})[0] == 403
    # DNS rebinding: the browser would send the attacker's name as Host
    assert _request(server, "GET", "/api/session", {"Host": f"evil.example:{server.port}"})[0] == 421
    assert _request(server, "GET", "/api/session", {"Host": f"localhost:{server.port}"})[0] == 421
    body = json.dumps({"deleted_steps": [0]}).encode()
    for bad in ({"Origin": "http://evil.example"}, {"Origin": None}, {"X-CSRF-Token": "nope"}, {"X-CSRF-Token": None},
                {"Content-Type": "text/plain"}):
        headers = {k: v for k, v in {**_post_headers(server), **bad}.items() if v is not None}
        assert _request(server, "POST", "/api/decisions", headers, body)[0] in (403, 415), bad
    assert _request(server, "OPTIONS", "/api/decisions", _post_headers(server))[0] == 405
    assert load_review(server.view).decisions.deleted_steps == []  # nothing above changed anything
    status, _, data = _request(server, "POST", "/api/decisions", _post_headers(server), body)
    assert status == 200 and json.loads(data)["summary"]["steps_removed"] == 1
    bad = json.dumps({"deleted_steps": [1000]}).encode()
    status, _, data = _request(server, "POST", "/api/decisions", _post_headers(server), bad)
    assert status == 409 and "invalid review decisions" in json.loads(data)["error"]


def test_frames_come_from_memory_and_withheld_ones_are_not_served(server: ReviewServer) -> None:
    status, headers, data = _request(server, "GET", "/frame/1")
    assert status == 200 and headers["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(data)).size == (640, 400)
    assert _request(server, "GET", "/frame/4")[0] == 404  # withheld by the redaction
    assert _request(server, "GET", "/frame/999")[0] == 404
    steps = json.loads(_request(server, "GET", "/api/steps?offset=4&limit=1")[2])
    assert steps["total"] == 6 and steps["steps"][0]["withheld"] and steps["steps"][0]["frame"] is None


def test_close_ends_the_server(server: ReviewServer) -> None:
    status, _, _ = _request(server, "POST", "/api/close", _post_headers(server), b"{}")
    assert status == 200 and server.wait(10) == "closed"
    with pytest.raises(OSError):
        _request(server, "GET", "/")


def test_review_in_chromium_delete_draw_approve_then_export(server: ReviewServer, home: Path, user, tmp_path) -> None:
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=find_chromium(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("dialog", lambda d: d.accept())
            page.goto(server.url)
            page.wait_for_selector("body[data-ready='1']")
            assert page.locator("#steps li").count() == 6
            assert page.locator("#steps li.sel").get_attribute("data-index") == "0"
            # every redaction is drawn on the frame with its entity type
            expect(page.locator("#frame")).to_have_js_property("naturalWidth", 640)
            assert page.locator("#overlay .box.finding span").all_inner_texts() == ["EMAIL_ADDRESS"]
            # keyboard: down to step 1 (typing), delete it with d
            page.keyboard.press("j")
            assert page.locator("#steps li.sel").get_attribute("data-index") == "1"
            page.keyboard.press("d")
            assert "deleted" in page.locator("#steps li[data-index='1']").get_attribute("class")
            page.keyboard.press("ArrowUp")
            # draw a box on step 0's frame
            page.click("#draw")
            box = page.locator("#frame").bounding_box()
            page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.5)
            page.mouse.down()
            page.mouse.move(box["x"] + box["width"] * 0.8, box["y"] + box["height"] * 0.7, steps=5)
            page.mouse.up()
            assert page.locator("#overlay .box.manual").count() == 1
            # undo step 0's screen redaction: a confirmation, then a standing warning
            fid = next(j for j, f in enumerate(server.view.findings) if f["item"] == "frame:1")
            page.click(f"#redactions button[data-finding='{fid}']")
            assert "Warning" in page.inner_text("#message")
            assert "UNDONE" in page.inner_text("#overlay .box.undone span")
            page.fill("#task", "reply to the team")
            page.locator("#task").dispatch_event("change")
            # the withheld list says what and why
            page.click("#withheld-box summary")
            assert "withheld frame:4: OCR failed on this frame" in page.inner_text("#withheld")
            page.click("#approve")
            page.wait_for_selector("#done:not([hidden])")
        finally:
            browser.close()
    assert server.wait(10) == "approved"
    assert errors == []
    record = load_review(server.view)
    assert record.decisions.deleted_steps == [1] and len(record.decisions.boxes) == 1
    assert record.decisions.task == "reply to the team"
    assert [server.view.findings[j]["item"] for j in record.decisions.undone] == ["frame:1"]
    x, y, w, h = record.decisions.boxes[0]["bbox"]
    assert abs(x - 384) <= 3 and abs(y - 200) <= 3 and abs(w - 128) <= 4 and abs(h - 80) <= 4
    export_session(home, server.view.session.id, user, tmp_path / "b")
    steps = [json.loads(line) for line in (tmp_path / "b/steps.jsonl").read_text().splitlines()]
    assert [s["action"]["type"] for s in steps] == ["click", "key", "right_click", "hotkey", "scroll"]
    with Image.open(tmp_path / "b/frames/000001.png") as im:
        region = im.convert("RGB").crop((x, y, x + w, y + h))
        assert set(region.get_flattened_data()) == {(0, 0, 0)}
        sx, sy, sw, sh = SECRET_BOX  # undone: the raw pixels are back inside that box only
        assert set(im.convert("RGB").crop((sx, sy, sx + sw, sy + sh)).get_flattened_data()) == {(200, 30, 30)}
    assert json.loads((tmp_path / "b/episode.json").read_text())["task"] == "reply to the team"
    shown = {s["screenshot"]["path"] for s in steps if s["screenshot"]}
    assert shown == {f"frames/{p.name}" for p in (tmp_path / "b/frames").iterdir()}


def test_long_session_pages_steps_and_loads_only_the_shown_frame(home: Path, user) -> None:
    b = Builder.create(home)
    b.window(1, "XTerm", "shell")
    b.frame()
    for k in range(450):  # one frame, many clicks: a list longer than two pages
        b.event("click", 500, x=k, y=10, button="left", pressed=True)
        b.event("click", 50, x=k, y=10, button="left", pressed=False)
    srv = ReviewServer(RedactedView(b.finish(), user))
    srv.start()
    frames: list[str] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=find_chromium(), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.on("request", lambda r: frames.append(r.url) if "/frame/" in r.url else None)
            page.goto(srv.url)
            page.wait_for_selector("body[data-ready='1']")
            assert page.locator("#steps li").count() == 200
            page.locator("#more").scroll_into_view_if_needed()
            expect(page.locator("#steps li")).to_have_count(400)
            page.locator("#more").scroll_into_view_if_needed()
            expect(page.locator("#steps li")).to_have_count(450)
            # delete a time range from the side panel: steps starting in [10 s, 20 s]
            page.click("#range-box summary")
            page.fill("#range-from", "10")
            page.fill("#range-to", "20")
            page.click("#range-delete")
            expected = sum(1 for s in srv.view.steps if 10 <= s.t_start <= 20)
            expect(page.locator("#steps li.deleted")).to_have_count(expected)
            page.click("#close")
            page.wait_for_selector("#done:not([hidden])")
            browser.close()
    finally:
        srv.wait(10)
    assert frames == [f"{srv.origin}/frame/1"]  # only the selected step's frame, once
    assert load_review(srv.view).decisions.deleted_ranges == [[10.0, 20.0]] and expected > 10
