"""A session's frames on two worker processes: the same redacted view as one process, and a
name shown only on the last frame is filled on the first frames too (session-wide, across
workers)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from recorder.redact import session as redact
from recorder.store import session as store
from recorder.store.records import Event
from redaction.detect import Detector, SessionDetector
from redaction.ocr import Ocr
from redaction.pool import redact_frames, workers_for
from tests.support.cli import OWNTRACE
from tests.support.guards import scan_plaintext, traced_sandboxed
from tests.support.screens import render

FRAMES = 16
NAME = "Kwame Mensah"
LINE = "status: Mensah"  # nothing here says Mensah is a name


def make_session(root: Path) -> store.Session:
    """16 frames of a chat; only the last one says who "Mensah" is."""
    w = store.SessionWriter.create(root, name="pool")
    w.append(Event(0, "window", {"wid": 7, "app": "Chat", "title": "Chat", "pid": 1, "x": 0, "y": 0, "w": 640,
                                 "h": 80, "excluded": False}))
    for k in range(FRAMES):
        lines = [[(LINE, None)], [(f"message {k} about the build", None)]]
        if k == FRAMES - 1:
            lines.append([("From: ", None), (NAME, "PERSON")])
        buf = io.BytesIO()
        render(lines, size=(640, 80), px=14).image.save(buf, format="PNG")
        n = w.add_frame(buf.getvalue())
        w.append(Event(1_000_000 * (k + 1), "frame", {"n": n, "w": 640, "h": 80, "reason": "action", "dup": False}))
    w.close()
    return store.Session.load(w.path)


def test_two_workers_and_propagation_across_them(home: Path, user) -> None:
    assert workers_for(FRAMES) == min(2, workers_for(10 ** 6))
    session = make_session(home)
    detector = Detector()
    assert detector.find(LINE) == []
    redact.redact_session(home, session, user, detector=detector)
    key = session.key(user)
    ocr = Ocr()
    for n in session.frame_numbers():
        image = Image.open(io.BytesIO(session.read_sealed(key, redact.frame_rel(n)))).convert("RGB")
        text = " ".join(w.text for w in ocr.read(ocr.prepare(image)))
        assert "Mensah" not in text and "Kwame" not in text, (n, text)
        assert "build" in text  # the rest of the frame is still readable
    # the same outcomes, frame by frame, with one process
    load = lambda n: session.frame_image(key, n)  # noqa: E731
    one = {o.n: o.result for o in redact_frames(session.frame_numbers(), load, SessionDetector(detector, []), 1)}
    two = {o.n: o.result for o in redact_frames(session.frame_numbers(), load, SessionDetector(detector, []), 2)}
    assert sorted(one) == sorted(two) == session.frame_numbers()
    for n in one:
        assert [w.text for w in one[n].words] == [w.text for w in two[n].words]


def test_a_frame_that_cannot_be_read_is_withheld_not_lost(home: Path, user) -> None:
    session = make_session(home)
    key = session.key(user)

    def load(n: int) -> Image.Image:
        if n == 3:
            raise OSError("damaged frame")
        return session.frame_image(key, n)

    outcomes = {o.n: o for o in redact_frames(session.frame_numbers(), load, SessionDetector(Detector(), []), 2)}
    assert sorted(outcomes) == session.frame_numbers()
    assert outcomes[3].result is None and "damaged frame" in outcomes[3].error
    assert all(o.result is not None and np.asarray(Image.open(io.BytesIO(o.png))).size
               for n, o in outcomes.items() if n != 3)


def test_cli_redact_on_two_workers_opens_no_network_and_leaves_nothing_in_clear(home: Path, tmp_path: Path) -> None:
    session = make_session(home)
    proc, connects, (tmp, userhome) = traced_sandboxed(OWNTRACE + ["redact", session.id[:12]], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "PERSON" in proc.stdout and "0 withheld" in proc.stdout, proc.stdout
    assert [c for c in connects if c.outbound] == [] and list(tmp.iterdir()) == []
    assert scan_plaintext([home, tmp, userhome], [b"Mensah", b"Kwame", b"status: "]) == []
