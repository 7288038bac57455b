"""The commands as a user runs them: the real `owntrace` executable, local only, one-line errors."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from pathlib import Path

from pyrage import x25519
from typer.testing import CliRunner

from recorder.cli import app
from tests.support.browser import open_link
from tests.support.cli import OWNTRACE
from tests.support.guards import traced
from tests.support.review_kit import standard_session


def test_approve_shows_what_leaves_and_needs_a_yes(home: Path, user) -> None:
    s = standard_session(home)
    runner = CliRunner()
    no = runner.invoke(app, ["approve", s.id], input="n\n")
    assert no.exit_code != 0 and "6 steps (0 removed), 4 redacted frames" in no.output
    assert "withheld frame:4: OCR failed on this frame" in no.output
    assert "pyautogui.write('to <EMAIL_ADDRESS>')" in no.output and "bob@" not in no.output
    refused = runner.invoke(app, ["export", s.id, "--out", str(home.parent / "b")])
    assert refused.exit_code != 0 and "is not approved" in str(refused.exception)
    yes = runner.invoke(app, ["approve", s.id, "--yes"])
    assert yes.exit_code == 0 and "approved 6 files" in yes.output


def test_export_age_and_verify_through_the_executable_with_no_network(home: Path, user, tmp_path: Path) -> None:
    s = standard_session(home)
    assert CliRunner().invoke(app, ["approve", s.id, "--yes"]).exit_code == 0
    ident = x25519.Identity.generate()
    (tmp_path / "id.txt").write_text(f"{ident}\n")
    out = tmp_path / "bundle.age"
    proc, connects = traced([*OWNTRACE, "export", s.id, "--out", str(out), "--format", "age",
                             "--to", str(ident.to_public())], tmp_path / "strace.log", capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert [c for c in connects if c.outbound] == []
    assert "exported 8 files" in proc.stdout
    ok = CliRunner().invoke(app, ["verify", str(out), "--identity", str(tmp_path / "id.txt"),
                                  "--signer", user.signing_public_hex()])
    assert ok.exit_code == 0 and "OK: signed by SHA256:" in ok.output
    bad = subprocess.run([*OWNTRACE, "export", s.id, "--out", str(out), "--format", "age", "--to", "age1nope"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.startswith("error: ") and "Traceback" not in bad.stderr


def test_review_command_serves_until_ctrl_c(home: Path, user) -> None:
    """(Ending by the page's approve or close request: test_review.py.)"""
    s = standard_session(home)
    proc = subprocess.Popen([*OWNTRACE, "review", s.id, "--no-browser"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    try:
        conn, cookie = open_link(proc.stdout.readline())  # the one-time link, exchanged for the cookie
        conn.request("GET", "/", headers={"Cookie": cookie})
        page = conn.getresponse().read().decode()
        conn.close()
        assert '<script src="app.js" defer></script>' in page and "<script>" not in page
        assert re.search(r'name="csrf" content="[\w-]{20,}"', page)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert "decisions so far are saved" in out and "Traceback" not in err
    finally:
        if proc.poll() is None:
            proc.kill()
