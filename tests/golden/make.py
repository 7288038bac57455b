"""Regenerate the frozen format vectors in tests/golden/, knowingly: `.venv/bin/python tests/golden/make.py`.

tests/unit/test_golden.py reads these files with today's readers and, where a writer is
deterministic given fixed inputs, checks that it reproduces them byte for byte. A change that
makes those tests fail is a format change: make it on purpose, regenerate, and say so in the
commit (as age keeps its test vectors). The fixed inputs (keys, clock, ids, events) live here.

  user.key           the test user's age identity (a test key: it protects nothing)
  session/           a redacted session: session.json, key.age (the session key, sealed to
                     user.key), task.txt.age, journal/000001.jsonl.age (one raw segment),
                     redacted/journal.jsonl.age and redacted/report.json.age
  bundle/            its export: episode.json, steps.jsonl, manifest.json, manifest.sig
  bundle.pub         the Ed25519 public key (hex) that signed the bundle
  study/profile.toml a study profile with its signature embedded, signer.pub beside it

Age encryption is randomised: regenerating changes every .age file and the user key, never
their plaintext. Ed25519 signatures are deterministic (RFC 8032), so those are reproduced.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pyrage import x25519

from recorder.keys import UnlockedIdentity, parse_identity, public_hex, seal
from recorder.store.records import Event, SessionMeta, State
from recorder.store.session import Session, SessionWriter
from recorder.study import profile as prof

GOLDEN = Path(__file__).resolve().parent

SESSION_ID = "20260101-120000-0a1b"
STARTED_AT = "2026-01-01T12:00:00.000Z"
CLOCK = "2026-01-01T12:05:00Z"  # what utc_now() says while the vectors are written
CLOCKED = ("recorder.redact.session", "recorder.review.approval", "recorder.export.bundle")
TASK = "write a note about the project"
DENY = ("Nightjar",)  # the one term redacted: deny-list matching is exact, no model involved
MS = 1_000_000


def _keys(text: str) -> list[Event]:
    out, t = [], 400 * MS
    for ch in text:
        name = "enter" if ch == "\n" else "space" if ch == " " else ch
        out.append(Event(t, "key_down", {"key": name, "char": ch, "mods": ["shift"] if ch.isupper() else []}))
        out.append(Event(t + 40 * MS, "key_up", {"key": name, "mods": []}))
        t += 120 * MS
    return out


EVENTS = [
    Event(0, "window", {"wid": 4194316, "app": "XTerm", "title": "Nightjar notes - xterm", "pid": 4242,
                        "x": 10, "y": 10, "w": 640, "h": 400, "excluded": False}),
    Event(100 * MS, "move", {"x": 200, "y": 150}),
    Event(200 * MS, "click", {"x": 200, "y": 150, "button": "left", "pressed": True}),
    Event(260 * MS, "click", {"x": 200, "y": 150, "button": "left", "pressed": False}),
    *_keys("Nightjar ok\n"),
]


def meta(recipient: str) -> SessionMeta:
    return SessionMeta(id=SESSION_ID, started_at=STARTED_AT, state=State.RECORDED, recipient=recipient,
                       name="golden", ended_at="2026-01-01T12:00:02.500Z", duration_s=2.5,
                       screens=[{"x": 0, "y": 0, "w": 1280, "h": 800, "scale": 1.0}], app_version="0.1.0")


def signing_key(name: str) -> Ed25519PrivateKey:
    """A fixed Ed25519 key per role, so signatures can be reproduced."""
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(f"owntrace golden vectors: {name}".encode()).digest())


def user() -> UnlockedIdentity:
    return UnlockedIdentity(parse_identity((GOLDEN / "user.key").read_text()), signing_key("user"))


def detector():
    from redaction.detect import Detector

    return Detector(deny=list(DENY), ner_model=None)


def study_profile() -> prof.StudyProfile:
    return prof.StudyProfile(
        id="golden-study", version=2, title="Golden study", researcher="Dr Vector <vector@uni.example>",
        consent="I agree that my recordings are used for research.\nI can withdraw at any time.",
        recipients=("age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p",),
        collect=prof.Collect(key_text=False, screenshots=True, window_titles=False, apps_allowed=("XTerm",),
                             apps_excluded=("Signal",)),
        extra_deny=("Nightjar",), retention_days=90, withdrawal_contact="withdraw@uni.example",
    )


@contextlib.contextmanager
def fixed_clock() -> Iterator[None]:
    modules = [importlib.import_module(m) for m in CLOCKED]
    saved = [m.utc_now for m in modules]
    for m in modules:
        m.utc_now = lambda timespec="seconds": CLOCK
    try:
        yield
    finally:
        for m, f in zip(modules, saved):
            m.utc_now = f


def write_raw_session(folder: Path, key: x25519.Identity, user_recipient: x25519.Recipient) -> Session:
    """The raw session as the recorder's writer leaves it, with fixed meta and events: journal
    segments of at most a second each, the task, session.json."""
    (folder / "journal").mkdir(parents=True)
    (folder / "key.age").write_bytes(seal(f"{key}\n".encode(), [user_recipient]))
    writer = SessionWriter(folder, meta(str(key.to_public())), key.to_public())
    for e in EVENTS:
        writer.append(e)
    writer.flush()
    writer.write_sealed("task.txt.age", TASK.encode())
    session = Session(folder, writer.meta)
    session.save_meta()  # not writer.close(): that stamps the wall clock
    return session


def main() -> None:
    from recorder.export.bundle import export_session
    from recorder.redact.session import redact_session
    from recorder.redact.view import RedactedView
    from recorder.review.approval import approve

    ident = x25519.Identity.generate()
    (GOLDEN / "user.key").write_text(f"# the golden vectors' test identity (protects nothing)\n{ident}\n")
    u = user()
    for name in ("session", "bundle", "study"):
        shutil.rmtree(GOLDEN / name, ignore_errors=True)
    session = write_raw_session(GOLDEN / "session", x25519.Identity.generate(), ident.to_public())
    with fixed_clock():
        redact_session(GOLDEN, session, u, detector=detector())
        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(tmp) / "session"
            shutil.copytree(GOLDEN / "session", copy)
            approve(RedactedView(Session.load(copy), u))
            export_session(Path(tmp), Session.load(copy), u, GOLDEN / "bundle", signing_key=signing_key("user"))
    (GOLDEN / "bundle.pub").write_text(public_hex(signing_key("user")) + "\n")
    (GOLDEN / "study").mkdir()
    profile = study_profile().signed(signing_key("study"))
    (GOLDEN / "study" / "profile.toml").write_text(prof.to_toml(profile))
    (GOLDEN / "study" / "signer.pub").write_text(public_hex(signing_key("study")) + "\n")
    size = sum(p.stat().st_size for p in GOLDEN.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    print(f"golden vectors written to {GOLDEN} ({size} bytes)")


if __name__ == "__main__":
    main()
