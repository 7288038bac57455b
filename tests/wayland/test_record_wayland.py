"""`owntrace record` on a real Wayland desktop (headless sway): frames through the screen-cast
portal and PipeWire, the focused window from sway, keys and clicks through the evdev reader
(fed real input_event records: no /dev/uinput here) — then redact, review in headless Chromium,
export and verify, as on X11."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import sync_playwright

from recorder import keys
from recorder.capture.recording import STATUS_FILE
from recorder.demo.apps import find_chromium
from recorder.export.bundle import export_session
from recorder.export.verify import verify_bundle
from recorder.redact.session import redact_session
from recorder.redact.view import RedactedView
from recorder.review.server import ReviewServer
from recorder.store.session import resolve
from tests.conftest import PASSPHRASE
from tests.support.browser import CHROMIUM_ARGS
from tests.support.cli import OWNTRACE
from tests.support.guards import scan_plaintext
from tests.support.wayland import HeadlessSway

pytestmark = pytest.mark.wayland
EMAIL = "marguerite.okafor@example.org"


def _status(home: Path) -> dict:
    try:
        return json.loads((home / STATUS_FILE).read_text())
    except (OSError, ValueError):
        return {}


def test_record_on_wayland_then_redact_review_export_verify(desktop: HeadlessSway, tmp_path: Path) -> None:
    home, fake, env = desktop.owntrace_home(PASSPHRASE)
    _, notes = desktop.foot("notes")
    rec = desktop.popen([*OWNTRACE, "record", "--task", "note a contact", "--name", "wayland"], env=env,
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        desktop.wait_for(lambda: _status(home).get("frames", 0) >= 1 or rec.poll() is not None, "the first frame", 60)
        assert rec.poll() is None, rec.communicate()[1]
        fake.type("hello from wayland\n")
        desktop.wtype("hello from wayland\n")
        fake.type(f"mail {EMAIL}\n")
        desktop.wtype(f"mail {EMAIL}\n")
        desktop.wait_for(lambda: _status(home).get("events", 0) >= 40, "the typed keys in the journal")
        desktop.foot("second window")
        x, y, w, h = (notes["rect"][k] for k in ("x", "y", "width", "height"))
        fake.click_at(x + w // 2, y + h // 2)
        desktop.swaymsg(f"[con_id={notes['id']}] focus")
        desktop.wait_for(lambda: _status(home).get("frames", 0) >= 2, "a frame after the click")
    finally:
        if rec.poll() is None:
            rec.send_signal(signal.SIGINT)
        out, err = rec.communicate(timeout=60)
        fake.close()
    assert rec.returncode == 0, err
    assert "note: no access to keyboard" not in err  # the FIFOs were read as devices
    session = resolve(home, out.strip())
    assert session.meta.screens == [{"x": 0, "y": 0, "w": 1280, "h": 800, "scale": 1.0}]

    user = keys.unlock(home, PASSPHRASE)
    report = redact_session(home, session, user)
    view = RedactedView(session, user)
    kinds = {f["entity"] for f in view.findings}
    assert "EMAIL_ADDRESS" in kinds, report
    srv = ReviewServer(view)
    srv.start()
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=find_chromium(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("dialog", lambda d: d.accept())  # approving asks to confirm what leaves
            page.goto(srv.url)
            page.wait_for_selector("body[data-ready='1']")
            assert page.locator("#steps li").count() >= 3
            page.wait_for_function("document.querySelector('#frame').naturalWidth === 1280")
            page.click("#approve")
            page.wait_for_selector("#done:not([hidden])")
        finally:
            browser.close()
    assert srv.wait(10) == "approved" and errors == []

    bundle = tmp_path / "bundle"
    export_session(home, session.id, user, bundle)
    result = verify_bundle(bundle)
    assert result.ok, result
    steps = [json.loads(line) for line in (bundle / "steps.jsonl").read_text().splitlines()]
    typed = "".join(s["action"].get("text", "") for s in steps if s["action"]["type"] == "type")
    assert "hello from wayland" in typed and "<EMAIL_ADDRESS>" in typed and EMAIL not in typed
    clicks = [s for s in steps if s["action"]["type"] == "click"]
    assert clicks and clicks[0]["action"]["x_px"] == x + w // 2 and clicks[0]["action"]["y_px"] == y + h // 2
    assert {s["window"]["app"] for s in steps if s.get("window")} == {"foot"}
    assert "notes" in {s["window"]["title"] for s in steps if s.get("window")}
    from PIL import Image

    with Image.open(bundle / steps[0]["screenshot"]["path"]) as im:
        pixels = np.asarray(im.convert("L"))
    assert im.size == (1280, 800) and pixels.std() > 5  # the desktop as drawn, not a black frame
    assert scan_plaintext([home, desktop.home], [b"hello from wayland", EMAIL.encode()]) == []
