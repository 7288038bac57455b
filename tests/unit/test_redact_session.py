"""Applying redaction to a whole session: the sealed redacted view, its report, fail-closed
items, idempotent reruns, untouched raw data, and the commands around it."""

from __future__ import annotations

import io
import json
import os
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from recorder import deny
from recorder.errors import OwnTraceError
from recorder.redact import session as redact
from recorder.redact import view as redacted_view
from recorder.store import session as store
from recorder.store.records import Event, State
from redaction import typed
from redaction.detect import Detector
from redaction.ocr import Ocr
from redaction.report import Report
from tests.support.cli import OWNTRACE
from tests.support.guards import scan_plaintext, traced_sandboxed
from tests.support.screens import render

EMAIL = "maria.garcia@example.com"
CARD = "4111 1111 1111 1111"
TOKEN = "ghp_Qm7c1ZpL0aXv93RtYw2KsEe8Nn5BbUu4HhJj"
PASSWORD = "Tr0ub4dor&3"
NAME = "Jane Roe"


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector(deny=[NAME])


def keys(text: str, t: int) -> tuple[list[Event], int]:
    out = []
    for ch in text:
        t += 30_000_000
        key = "enter" if ch == "\n" else ch
        char = "\r" if ch == "\n" else ch
        out.append(Event(t, "key_down", {"key": key, "char": char, "mods": ["shift"] if ch.isupper() else []}))
        out.append(Event(t + 5_000_000, "key_up", {"key": key, "mods": []}))
    return out, t


def png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def make_session(root: Path, *, study: str | None = None) -> store.Session:
    """A recorded session: a mail window whose title holds an email, typing in a terminal with
    secrets and a password after a prompt, and two frames showing personal data."""
    w = store.SessionWriter.create(root, name="fixture", study=study)
    screen1 = render([[("From: ", None), (EMAIL, "EMAIL_ADDRESS")], [("Card: ", None), (CARD, "CREDIT_CARD")]],
                     size=(640, 80), px=14)
    screen2 = render([[("signed, ", None), (NAME, "DENY")], [("token ", None), (TOKEN, "SECRET")]],
                     size=(640, 80), px=14)
    t = 0
    w.append(Event(t, "window", {"wid": 7, "app": "Mail", "title": f"Inbox - {EMAIL}", "pid": 1, "x": 0, "y": 0,
                                 "w": 640, "h": 80, "excluded": False}))
    n1 = w.add_frame(png(screen1.image))
    w.append(Event(t + 1, "frame", {"n": n1, "w": 640, "h": 80, "reason": "action", "dup": False}))
    t = 100_000_000
    w.append(Event(t, "window", {"wid": 9, "app": "XTerm", "title": "terminal", "pid": 2, "x": 0, "y": 0,
                                 "w": 640, "h": 80, "excluded": False}))
    n2 = w.add_frame(png(screen2.image))
    w.append(Event(t + 1, "frame", {"n": n2, "w": 640, "h": 80, "reason": "action", "dup": False}))
    evs, t = keys(f"echo {EMAIL} {CARD}\nexport GH={TOKEN}\nread -s -p 'Password: ' pw\n{PASSWORD}\nls\n", t)
    for e in evs:
        w.append(e)
    w.close()
    return store.Session.load(w.path)


def read_view(session: store.Session, user) -> tuple[list[Event], Report, dict[int, Image.Image]]:
    key = session.key(user)
    lines = session.read_sealed(key, redacted_view.JOURNAL).decode().splitlines()
    events = [Event.from_obj(json.loads(line)) for line in lines]
    report = Report.from_json(session.read_sealed(key, redacted_view.REPORT))
    frames = {}
    for p in sorted((session.path / "redacted" / "frames").glob("*.png.age")):
        n = int(p.name.split(".")[0])
        frames[n] = Image.open(io.BytesIO(session.read_sealed(key, f"redacted/frames/{p.name}")))
    return events, report, frames


def view_text(events: list[Event]) -> str:
    """Everything of the redacted journal a reader could look at, as one string."""
    return "\n".join(e.to_json() for e in events) + "\n" + "\n".join(r.text for r in typed.rebuild(events))


SECRETS = (EMAIL, CARD, TOKEN, PASSWORD, "maria", "4111", "Qm7c1Z", "Tr0ub")


def test_redacted_view_has_no_personal_data(home: Path, user, detector: Detector) -> None:
    session = make_session(home)
    raw_before = {p: p.read_bytes() for p in session.path.rglob("*.age")}
    progress: list[tuple[int, int]] = []
    report = redact.redact_session(home, session, user, progress=lambda d, t: progress.append((d, t)),
                                   detector=detector)

    events, stored, frames = read_view(session, user)
    text = view_text(events)
    for s in SECRETS:
        assert s not in text, s
    assert "Inbox - <EMAIL_ADDRESS>" in text
    typed_text = [r.text for r in typed.rebuild(events)]
    assert typed_text == ["echo <EMAIL_ADDRESS> <CREDIT_CARD>\nexport GH=<SECRET>\n"
                          "read -s -p 'Password: ' pw\n<PASSWORD>\nls\n"]
    assert len(events) == session.meta.events, "every event is kept, in order"

    reader = Ocr()
    try:
        for n, image in frames.items():
            seen = " ".join(w.text for w in reader.read(reader.prepare(image.convert("RGB"))))
            for s in (EMAIL, TOKEN, "Roe", "4111"):
                assert s not in seen, (n, s, seen)
    finally:
        reader.close()
    assert sorted(frames) == [1, 2], stored.withheld

    assert stored.to_obj() == report.to_obj()
    assert stored.counts["EMAIL_ADDRESS"] >= 3  # typed, title, screen
    for entity in ("CREDIT_CARD", "SECRET", "PASSWORD", "DENY"):
        assert stored.counts.get(entity), entity
    sources = {f.source for f in stored.findings}
    assert sources == {"typed", "title", "screen"}
    typed_findings = [f for f in stored.findings if f.source == "typed"]
    assert all(f.events and f.span and f.item.startswith("typed:") for f in typed_findings)
    assert stored.withheld == []
    assert progress[-1] == (3, 3)
    assert store.Session.load(session.path).meta.state == "redacted"
    # raw untouched, and nothing in clear on disk
    assert {p: p.read_bytes() for p in raw_before} == raw_before
    assert scan_plaintext([home], [s.encode() for s in SECRETS]) == []


def test_rerun_is_idempotent(home: Path, user, detector: Detector) -> None:
    session = make_session(home)
    first = redact.redact_session(home, session, user, detector=detector)
    events1, _, frames1 = read_view(session, user)
    second = redact.redact_session(home, store.Session.load(session.path), user, detector=detector)
    events2, _, frames2 = read_view(session, user)
    assert events1 == events2
    assert {n: im.tobytes() for n, im in frames1.items()} == {n: im.tobytes() for n, im in frames2.items()}
    assert first.to_obj() | {"created_at": ""} == second.to_obj() | {"created_at": ""}


class FailsOn(Detector):
    """A detector that crashes on any text holding `trigger`: that item must be withheld."""

    def __init__(self, trigger: str) -> None:
        super().__init__(deny=[NAME])
        self.trigger = trigger

    def find(self, text: str):
        if self.trigger in text:
            raise RuntimeError("detector crashed")
        return super().find(text)


def test_failing_detector_withholds_the_item(home: Path, user) -> None:
    session = make_session(home)
    (session.path / "redacted" / "frames").mkdir(parents=True)
    (session.path / redacted_view.frame_rel(2)).write_bytes(b"stale file from an earlier run")
    report = redact.redact_session(home, session, user, detector=FailsOn("signed"))
    _, stored, frames = read_view(session, user)
    assert sorted(frames) == [1]
    assert [w["item"] for w in stored.withheld] == ["frame:2"]
    assert "detector crashed" in stored.withheld[0]["reason"]
    assert report.withheld == stored.withheld


def test_failing_text_detection_removes_the_whole_run(home: Path, user) -> None:
    session = make_session(home)
    redact.redact_session(home, session, user, detector=FailsOn("export"))
    events, stored, _ = read_view(session, user)
    assert [w["item"].split(":")[0] for w in stored.withheld] == ["typed"]
    assert [r.text for r in typed.rebuild(events)] == ["<WITHHELD>"]
    assert all(e.get("redacted") for e in events if e.kind in ("key_down", "key_up"))


def test_states_that_cannot_be_redacted(home: Path, user, detector: Detector) -> None:
    session = make_session(home)
    session.set_state(State.APPROVED)
    with pytest.raises(OwnTraceError, match="approved"):
        redact.redact_session(home, session, user, detector=detector)
    assert not session.has(redacted_view.JOURNAL)


def test_study_session_needs_its_study(home: Path, user) -> None:
    session = make_session(home, study="no-such-study")
    with pytest.raises(OwnTraceError):
        redact.redact_session(home, session, user)
    assert not session.has(redacted_view.JOURNAL)


def test_bad_config_is_a_one_line_error(home: Path, user) -> None:
    (home / "config.toml").write_text('[redaction]\nphone_regions = ["USA"]\n')
    session = make_session(home)
    with pytest.raises(OwnTraceError, match="unknown phone regions"):
        redact.redact_session(home, session, user)
    assert not session.has(redacted_view.JOURNAL) and session.meta.state == "recorded"


def test_deny_list_is_the_sealed_one_and_an_old_config_one_still_counts(home: Path, user) -> None:
    deny.add(home, user, ["Jane Roe"])
    (home / "config.toml").write_text('[redaction]\ndeny = ["terminal"]\n')  # not migrated yet: applied too
    session = make_session(home)
    redact.redact_session(home, session, user)
    events, stored, _ = read_view(session, user)
    titles = [e.get("title") for e in events if e.kind == "window"]
    assert titles == ["Inbox - <EMAIL_ADDRESS>", "<DENY>"]


def run(args: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(OWNTRACE + args, env=dict(os.environ), capture_output=True, text=True, **kw)


def test_cli_redact_offline_and_no_plaintext_temp_files(home: Path, tmp_path: Path) -> None:
    session = make_session(home)
    proc, connects, (tmp, userhome) = traced_sandboxed(OWNTRACE + ["redact", session.id[:12]], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert f"session {session.id} redacted:" in proc.stdout and "EMAIL_ADDRESS" in proc.stdout
    assert [c for c in connects if c.outbound] == []
    assert scan_plaintext([home, tmp, userhome], [s.encode() for s in SECRETS]) == []
    assert list(tmp.iterdir()) == []


def test_cli_redact_errors_are_one_line(home: Path) -> None:
    r = run(["redact"])
    assert r.returncode == 2 and r.stderr.startswith("error: there are no recorded sessions yet"), r.stderr
    session = make_session(home)
    r = run(["redact", "nope"])
    assert r.returncode == 2 and r.stderr.startswith("error: no session matches 'nope'"), r.stderr
    session.set_state(State.APPROVED)
    r = run(["redact", session.id])
    assert r.returncode == 2 and r.stderr.startswith(f"error: session {session.id} is approved"), r.stderr
    assert "Traceback" not in r.stderr and not session.has(redacted_view.JOURNAL)


def test_cli_redact_image(home: Path, tmp_path: Path) -> None:
    screen = render([[("mail ", None), (EMAIL, "EMAIL_ADDRESS")], [("card ", None), (CARD, "CREDIT_CARD")]],
                    size=(560, 70), px=15)
    src = tmp_path / "shot.jpg"
    screen.image.save(src, quality=95)
    out = tmp_path / "out.png"
    r = run(["redact-image", str(src), "-o", str(out)])
    assert r.returncode == 0, r.stderr
    assert "EMAIL_ADDRESS" in r.stderr
    reader = Ocr()
    try:
        with Image.open(out) as im:
            assert im.format == "PNG"
            seen = " ".join(w.text for w in reader.read(reader.prepare(im.convert("RGB"))))
    finally:
        reader.close()
    assert "mail" in seen and EMAIL not in seen and "4111" not in seen


def test_redact_image_file_refuses_bad_input_before_building_a_detector(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.png"
    Image.new("RGB", (20, 20)).save(out)
    before = out.read_bytes()
    with pytest.raises(OwnTraceError, match="overwrite"):
        redact.redact_image_file(out, out, home)
    assert out.read_bytes() == before
    with pytest.raises(OwnTraceError, match="does not exist"):
        redact.redact_image_file(tmp_path / "missing.png", tmp_path / "x.png", home)
    gif = tmp_path / "a.gif"
    Image.new("RGB", (4, 4)).save(gif)
    with pytest.raises(OwnTraceError, match="not PNG or JPEG"):
        redact.redact_image_file(gif, tmp_path / "x.png", home)
    (tmp_path / "junk.png").write_bytes(b"not an image")
    with pytest.raises(OwnTraceError, match="not a readable image"):
        redact.redact_image_file(tmp_path / "junk.png", tmp_path / "x.png", home)
    assert not (tmp_path / "x.png").exists()
