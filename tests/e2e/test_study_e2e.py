"""The whole study loop on a real X display: a researcher publishes two signed studies, a
participant joins both, records real xterm input under each, redacts, approves, donates;
the researcher ingests into Parquet and reads it back. Capture limits and bad donations are
checked on what actually arrives."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image

from recorder.capture import control
from recorder.redact import session as redact
from recorder.redact.view import RedactedView
from recorder.review.approval import approve
from recorder.store import session as store
from recorder.study import consent, ingest, record_options
from recorder.study import profile as prof
from recorder.study.donate import donate
from tests.support.cli import OWNTRACE
from tests.support.guards import scan_plaintext
from tests.support.study import identity_and_recipient, researcher, rewrite
from tests.support.xhelpers import click, focus, key, type_text, wait_window, xdotool, xterm

pytestmark = pytest.mark.x11


def owntrace(*args: str, env: dict[str, str]) -> str:
    r = subprocess.run([*OWNTRACE, *args], env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, f"owntrace {' '.join(args)}: {r.stderr}"
    return r.stdout


def frame_rect(wid: str, env: dict[str, str]) -> tuple[int, int, int, int]:
    geo = dict(line.split("=") for line in xdotool("getwindowgeometry", "--shell", wid, env=env).splitlines())
    return int(geo["X"]), int(geo["Y"]), int(geo["WIDTH"]), int(geo["HEIGHT"])


def record(home: Path, study: str, actions) -> store.Session:
    """A real background recorder process (`owntrace record --study`), driven by xdotool."""
    control.start(home, record_options(home, task=f"work for {study}", study=study))
    try:
        actions()
    finally:
        control.stop(home)
    s = store.resolve(home, "latest")
    assert s.meta.study == study and s.meta.state == "recorded"
    return s


def redact_approve_donate(home: Path, user, s: store.Session, study: str, out: Path) -> None:
    redact.redact_session(home, s, user)
    s = store.resolve(home, s.id)
    approve(RedactedView(s, user))
    donate(home, store.resolve(home, s.id), user, study, out)


def test_full_study_loop(home: Path, user, xenv: dict[str, str], tmp_path: Path) -> None:
    env = xenv
    res = researcher(tmp_path / "researcher")
    # study "one-app": key text allowed, XTerm only; study "no-keys": every app, no key text
    one_app, no_keys = res.signed("one-app", key_text=True, apps_allowed=("XTerm",)), res.signed("no-keys")
    profiles = {p.id: res.write(tmp_path / f"{p.id}.toml", p) for p in (one_app, no_keys)}
    for p in (one_app, no_keys):
        consent.join(home, prof.load(profiles[p.id]))

    other_title = "scratch-other-app"
    # "*allowTitleOps", not "XTerm*...": this xterm's class is Scratch, and a normal user's
    # Debian .bashrc retitles any xterm it is allowed to (root's does not)
    other = subprocess.Popen(["xterm", "-name", "scratch", "-class", "Scratch", "-T", other_title, "-xrm", "*allowTitleOps: false",
                              "-fa", "DejaVu Sans Mono", "-fs", "12", "-geometry", "50x12+700+420"],
                             env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        other_wid = wait_window(f"^{other_title}$", env)
        with xterm("study-term", env, geometry="70x16+20+20") as term:
            def one_app_actions() -> None:
                focus(term, env)
                type_text("echo hello allowed Project Nightjar", env)
                key("Return", env)
                focus(other_wid, env)
                type_text("echo zebra other", env)
                key("Return", env)
                x, y, w, h = frame_rect(other_wid, env)
                click(x + w // 2, y + h // 2, env)
                focus(term, env)
                type_text("echo back", env)
                key("Return", env)

            s1 = record(home, "one-app", one_app_actions)
            d1 = tmp_path / "one-app.age"
            # this one as a participant types it: redact, approve and donate on the command line
            owntrace("redact", s1.id, env=env)
            owntrace("approve", s1.id, "--yes", env=env)
            out = owntrace("export", s1.id, "--study", "one-app", "--out", str(d1), env=env)
            assert "[age]" in out

            def no_keys_actions() -> None:
                focus(term, env)
                type_text("echo quiet words", env)
                key("Return", env)
                click(200, 120, env)

            s2 = record(home, "no-keys", no_keys_actions)
            d2 = tmp_path / "no-keys.age"
            redact_approve_donate(home, user, s2, "no-keys", d2)
        other_rect = frame_rect(other_wid, env)
    finally:
        other.terminate()
        other.wait(5)

    def tamper(files):
        files["episode.json"] = files["episode.json"].replace(b"work for one-app", b"work for 0ne-app")

    # the participant's side holds nothing in clear: study state, consent, keys, sessions
    assert not scan_plaintext([home], [b"hello allowed", b"zebra other", b"quiet words", b"echo back"])

    tampered = rewrite(d1, tmp_path / "tampered.age", *identity_and_recipient(res), tamper)
    out = owntrace("study", "ingest", str(d1), str(d1), str(tampered), str(d2), "--identity", str(res.keys.identity_path),
                   "--profile", str(profiles["one-app"]), "--out", str(tmp_path / "ds1"), env=env)
    assert "1 donation(s) accepted" in out
    assert f"rejected {d1}: duplicate of {d1}" in out
    assert f"rejected {tampered}: tampered or damaged: modified: episode.json" in out
    assert f"rejected {d2}: belongs to another study ('no-keys', not one-app)" in out

    steps = pq.read_table(tmp_path / "ds1" / "steps.parquet").to_pylist()
    episodes = pq.read_table(tmp_path / "ds1" / "episodes.parquet").to_pylist()
    assert [e["task"] for e in episodes] == ["work for one-app"] and episodes[0]["study_id"] == "one-app"
    texts = " ".join(r["text"] or "" for r in steps)
    assert "hello allowed" in texts and "echo back" in texts  # key text allowed in XTerm
    assert "zebra" not in texts and "Nightjar" not in texts  # other app's keys never captured; deny term redacted
    assert all(r["window_app"] == "XTerm" for r in steps if r["action_type"] in ingest.KEY_ACTIONS)
    x, y, w, h = other_rect
    frames = [r for r in steps if r["frame_png"]]
    assert frames
    for r in frames:  # the other app's pixels are blacked out in every donated frame
        with Image.open(io.BytesIO(r["frame_png"]["bytes"])) as im:
            px = np.asarray(im.convert("RGB"))[y + 2: y + h - 2, x + 2: x + w - 2]
        assert px.size and not px.any(), f"step {r['step_index']} shows the excluded app"

    report = ingest.ingest([d2], ingest.read_identity(res.keys.identity_path), [no_keys], tmp_path / "ds2")
    assert report.accepted == 1
    steps2 = pq.read_table(tmp_path / "ds2" / "steps.parquet").to_pylist()
    assert steps2 and not any(r["text"] for r in steps2)
    assert not any(r["action_type"] == "type" for r in steps2)
    # only named keys (enter, tab...) may remain, never a character key
    assert all(len(k) > 1 for r in steps2 if r["action_type"] == "key" for k in r["keys"] or [])
    assert all("quiet" not in r["action_json"] and "quiet" not in (r["pyautogui"] or "") for r in steps2)
