"""End to end on a real X display: type personal data, secrets and a password into a real xterm
while another xterm shows a file full of personal data, record with the real recorder, redact,
and read the redacted view back: nothing of it remains in typed text, titles, or an OCR of the
redacted frames. Covers the typed/title side and the screen side in one recording."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

from recorder.redact import session as redact
from recorder.redact import view as redacted_view
from recorder.store.records import Event
from redaction import typed
from redaction.ocr import Ocr
from redaction.report import Report
from tests.support import xhelpers as xh
from tests.support.guards import scan_plaintext
from tests.support.recording import read_back, recording

pytestmark = pytest.mark.x11

EMAIL = "maria.garcia@example.com"
CARD = "4111 1111 1111 1111"
TOKEN = "ghp_Qm7c1ZpL0aXv93RtYw2KsEe8Nn5BbUu4HhJj"
PASSWORD = "Tr0ub4dor3x"
FILE_LINES = [
    "Name: Jane Roe",
    "Email: jane.roe@example.org",
    "Phone: +1 415 555 0134",
    "IBAN: DE89 3704 0044 0532 0130 00",
    "Key: AKIAQ7RZ3M5T2XW4YB6N",
]
# what must not be read back anywhere (parts too, where OCR could return a piece)
GONE = [EMAIL, "maria.garcia", CARD, "4111", TOKEN, "Qm7c1Zp", PASSWORD, "Tr0ub4",
        "Jane Roe", "jane.roe@example.org", "555 0134", "DE89", "AKIAQ7RZ3M5T2XW4YB6N"]


def test_recorded_session_redacts_typed_text_titles_and_frames(home, user, xenv, tmp_path) -> None:
    (home / "config.toml").write_text('[redaction]\ndeny = ["Jane Roe"]\n')
    data = tmp_path / "contacts.txt"
    data.write_text("\n".join(FILE_LINES) + "\n")
    with xh.xterm("OwnTrace Data", xenv, command=["sh", "-c", f"cat {data}; exec sleep 600"],
                  geometry="60x8+40+480"), \
            xh.xterm("OwnTrace Shell", xenv, geometry="90x12+40+40") as shell, recording(home):
        xh.focus(shell, xenv)
        xh.type_text(f"echo {EMAIL} {CARD}\n", xenv)
        xh.type_text(f"export GH={TOKEN}\n", xenv)
        xh.type_text("read -s -p 'Password: ' pw\n", xenv)
        xh.type_text(f"{PASSWORD}\n", xenv)
        xh.type_text("clear\n", xenv)

    session, key, raw = read_back(home, user)
    raw_typed = "".join(r.text for r in typed.rebuild(raw))
    assert EMAIL in raw_typed and PASSWORD in raw_typed, "the recording must hold what the test typed"
    reader = Ocr()
    try:
        raw_seen = " ".join(w.text for w in reader.read(reader.prepare(session.frame_image(key, session.meta.frames))))
        assert "Phone" in raw_seen, "the data window must be on the recorded screen"

        report = redact.redact_session(home, session, user)

        lines = session.read_sealed(key, redacted_view.JOURNAL).decode().splitlines()
        events = [Event.from_obj(json.loads(line)) for line in lines]
        assert len(events) == len(raw)
        fields = [str(e.get(k)) for e in events for k in ("key", "char", "title", "app") if e.get(k)]
        view = "\n".join(fields + [r.text for r in typed.rebuild(events)])
        for s in GONE:
            assert s not in view, s
        shell_text = [r.text for r in typed.rebuild(events)]
        assert any("<PASSWORD>" in t and "<SECRET>" in t and "<EMAIL_ADDRESS>" in t and "<CREDIT_CARD>" in t
                   for t in shell_text), shell_text
        assert {e.get("title") for e in events if e.kind == "window"} >= {"OwnTrace Shell"}

        stored = Report.from_json(session.read_sealed(key, redacted_view.REPORT))
        assert stored.to_obj() == report.to_obj()
        assert stored.withheld == [], stored.withheld
        frames = sorted(int(p.name[:6]) for p in (session.path / "redacted" / "frames").glob("*.png.age"))
        assert frames == list(range(1, session.meta.frames + 1))
        screen_entities = {f.entity for f in stored.findings if f.source == "screen"}
        assert {"EMAIL_ADDRESS", "DENY", "PHONE_NUMBER"} <= screen_entities, screen_entities
        for n in frames:
            image = Image.open(io.BytesIO(session.read_sealed(key, redacted_view.frame_rel(n)))).convert("RGB")
            seen = " ".join(w.text for w in reader.read(reader.prepare(image)))
            for s in GONE:
                assert s not in seen, (n, s)
    finally:
        reader.close()
    assert scan_plaintext([home / "sessions"], [s.encode() for s in GONE]) == []
