"""End to end on Xvfb: Chromium showing a mail client and a chat, and `git log` in an xterm,
full of people, companies and addresses that are on no deny-list; recorded, redacted,
approved, exported. An OCR of the exported frames finds none of them."""

from __future__ import annotations

import html
import re
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from recorder import deny
from recorder.capture.display import stop_process
from recorder.demo import offline
from recorder.demo.apps import CHROMIUM_FLAGS, find_chromium
from recorder.demo.flow import export_unattended, recording, session_of
from recorder.redact.session import redact_session
from tests.support.ocr import ocr_frames
from tests.support.xhelpers import click, focus, key, type_text, wait_window, xterm

pytestmark = pytest.mark.x11

PEOPLE = ["Ingrid Halvorsen", "Mateo Fernández", "Kwame Mensah", "Aiko Tanaka", "Tomasz Zieliński", "Olivia Bennett"]
COMPANIES = ["Brightwater Analytics Ltd", "Halvorsen Logistik GmbH"]
ADDRESSES = ["27 Willow Crescent", "Lindenstraße 14"]
AUTHORS = [("Oluwaseun Adeyemi", "o.adeyemi@example.net"), ("Freya Lindqvist", "freya.lindqvist@example.org")]

MAIL = f"""<!doctype html><meta charset=utf-8><title>Mail - Inbox</title>
<style>body{{font:15px 'Liberation Sans';margin:10px}} td{{padding:5px 16px 5px 0}} .pane{{margin-top:14px}}</style>
<table>{''.join(f'<tr><td>{html.escape(p)}</td><td>Quarterly planning notes</td><td>9:{10 + i}</td></tr>'
                for i, p in enumerate(PEOPLE[:4]))}</table>
<div class=pane><p>From: {PEOPLE[0]} &lt;i.halvorsen@example.com&gt;</p><p>Hi Kwame,</p>
<p>the samples from {COMPANIES[0]} arrive on Monday at {ADDRESSES[0]}.</p>
<p>Best regards,<br>{PEOPLE[0]}<br>{COMPANIES[1]}<br>{ADDRESSES[1]}</p></div>"""

CHAT = f"""<!doctype html><meta charset=utf-8><title>Chat - general</title>
<style>body{{font:15px 'DejaVu Sans';margin:10px}} p{{margin:4px 0 12px}}</style>
<p><b>{PEOPLE[4]}</b> 10:42<br>is the build green again?</p>
<p><b>{PEOPLE[5]}</b> 10:44<br>yes, and {PEOPLE[3]} moved the release notes</p>
<p><b>{PEOPLE[2]}</b> 10:45<br>thanks, I will tell {COMPANIES[0]}</p>"""


@contextmanager
def chromium_app(page: Path, title: str, geometry: tuple[int, int, int, int], env: dict[str, str]):
    x, y, w, h = geometry
    with tempfile.TemporaryDirectory(prefix="owntrace-test-chromium-") as profile:
        proc = subprocess.Popen(
            [*offline.prefix(), find_chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
             f"--window-position={x},{y}", f"--window-size={w},{h}", f"--app={page.as_uri()}"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            yield wait_window(title, env, timeout=60)
        finally:
            stop_process(proc)


def git_repo(path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    for n, (name, mail) in enumerate(AUTHORS):
        (path / f"f{n}").write_text(str(n))
        subprocess.run(["git", "-C", str(path), "add", "."], check=True)
        subprocess.run(["git", "-C", str(path), "-c", f"user.name={name}", "-c", f"user.email={mail}",
                        "commit", "-q", "-m", f"change {n}"], check=True)


def test_names_companies_and_addresses_leave_no_trace_in_the_export(home, user, xenv, tmp_path) -> None:
    assert not deny.exists(home)  # nothing below is on a deny-list
    (tmp_path / "mail.html").write_text(MAIL)
    (tmp_path / "chat.html").write_text(CHAT)
    git_repo(tmp_path / "repo")
    with chromium_app(tmp_path / "mail.html", "Mail - Inbox", (0, 0, 760, 520), xenv) as mail, \
            chromium_app(tmp_path / "chat.html", "Chat - general", (770, 0, 500, 520), xenv) as chat, \
            xterm("gitlog", xenv, geometry="100x14+0+540") as term, \
            recording(home, "read mail and chat, look at the log") as rec:
        for wid, (x, y) in ((mail, (300, 300)), (chat, (1000, 300))):
            focus(wid, xenv)
            click(x, y, xenv)
            time.sleep(1.5)
        focus(term, xenv)
        type_text(f"cd {tmp_path / 'repo'} && git --no-pager log\n", xenv)
        time.sleep(3)
        key("ctrl+l", xenv)  # a last frame change, so the log is captured before the clear too
        time.sleep(1)
    session = session_of(rec)
    report = redact_session(home, session, user)
    assert not report.withheld
    detectors = {f.detector for f in report.findings if f.entity in ("PERSON", "ORGANIZATION", "ADDRESS")}
    assert detectors and "deny" not in detectors
    bundle = tmp_path / "bundle"
    assert export_unattended(home, session, user, bundle, lambda _m: None).ok

    frames = sorted((bundle / "frames").glob("*.png"))
    assert frames
    ocr = ocr_frames(frames)
    assert "planning" in ocr or "build" in ocr  # the OCR reads these frames: a black frame would not pass
    flat = re.sub(r"\s+", " ", ocr).lower()
    values = PEOPLE + COMPANIES + ADDRESSES + [name for name, _ in AUTHORS] + [m for _, m in AUTHORS]
    for value in values:
        assert value.lower() not in flat, value
        for word in value.split():  # a surname alone, a street name alone
            if len(word) > 5 and word[0].isupper():
                assert word.lower() not in flat, (value, word)
