"""delete (crypto-shredding), --raw-only, and retention."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyrage
import pytest
from typer.testing import CliRunner

from recorder.cli import app
from recorder.errors import NotFound, OwnTraceError
from recorder.export.bundle import export_session
from recorder.redact.view import RedactedView, delete_raw
from recorder.review import approval
from recorder.review.decisions import Decisions
from recorder.store import session as store
from recorder.store.retention import Retention, apply_retention, resolve_kept
from tests.support.review_kit import Builder, standard_session


def _decryptable(root: Path, user) -> list[str]:
    """Every file under root that the user's identity (or a key found under root) decrypts."""
    identities = [user.identity]
    for k in root.rglob("key.age"):
        identities.append(pyrage.x25519.Identity.from_str(
            pyrage.decrypt(k.read_bytes(), [user.identity]).decode().strip()))
    out = []
    for p in root.rglob("*"):
        if p.is_file() and p.read_bytes().startswith(b"age-encryption.org/v1"):
            try:
                pyrage.decrypt(p.read_bytes(), identities)
                out.append(p.relative_to(root).as_posix())
            except pyrage.DecryptError:
                pass
    return out


def test_delete_leaves_nothing_decryptable(home: Path, user) -> None:
    s = standard_session(home)
    kept_copy = (s.path / s.frame_rel(1)).read_bytes()  # e.g. an old backup of one file
    assert any(p.startswith("sessions/") for p in _decryptable(home, user))
    result = CliRunner().invoke(app, ["delete", s.id, "--yes"])
    assert result.exit_code == 0, result.output
    assert not s.path.exists() and store.list_sessions(home) == []
    assert _decryptable(home, user) == ["signing.key.age"]  # the user's own key, no recorded content
    with pytest.raises(pyrage.DecryptError):
        pyrage.decrypt(kept_copy, [user.identity])  # its session key is gone


def test_delete_asks_first(home: Path) -> None:
    s = standard_session(home)
    result = CliRunner().invoke(app, ["delete", s.id], input="n\n")
    assert result.exit_code != 0 and s.path.exists()


def test_raw_only_keeps_a_reviewable_exportable_redacted_view(home: Path, user, tmp_path: Path) -> None:
    s = standard_session(home)
    delete_raw(store.resolve(home, s.id))
    s = store.resolve(home, s.id)
    assert not (s.path / "journal").exists() and not (s.path / "frames").exists()
    view = RedactedView(s, user)
    approval.approve(view)
    export_session(home, s, user, tmp_path / "b")
    assert len(list((tmp_path / "b/frames").iterdir())) == 4
    # undoing a redaction needs the raw capture: refused with a clear message
    with pytest.raises(OwnTraceError, match="raw capture was deleted"):
        approval.approve(view, Decisions(undone=[1]))


def test_raw_only_refused_without_redacted_view(home: Path) -> None:
    b = Builder.create(home)
    b.click(1, 1)
    s = b.finish(redact=False)
    with pytest.raises(OwnTraceError, match="no redacted view"):
        delete_raw(s)
    assert (s.path / s.frame_rel(1)).exists()


def _age(s: store.Session, days: float) -> None:
    s.meta.started_at = (dt.datetime.now(dt.UTC) - dt.timedelta(days=days)).isoformat().replace("+00:00", "Z")
    s.save_meta()


def test_retention_removes_old_sessions_only(home: Path) -> None:
    old, new = standard_session(home), standard_session(home)
    _age(old, 40)
    _age(new, 2)
    assert apply_retention(home, 0) == []
    assert apply_retention(home, 30) == [old.id]
    assert [s.id for s in store.list_sessions(home)] == [new.id]


def test_retention_runs_from_the_commands(home: Path) -> None:
    old = standard_session(home)
    _age(old, 10)
    keep = standard_session(home)
    (home / "config.toml").write_text("[retention]\ndays = 7\n")
    result = CliRunner().invoke(app, ["delete", "nonexistent-ref", "--yes"])
    assert "retention: deleted 1 session(s) older than 7 days" in result.output
    assert [s.id for s in store.list_sessions(home)] == [keep.id]
    assert json.loads((keep.path / "session.json").read_text())["state"] == "redacted"


def test_opening_a_session_applies_retention_in_the_library(home: Path) -> None:
    old, keep = standard_session(home), standard_session(home)
    _age(old, 10)
    (home / "config.toml").write_text("[retention]\ndays = 7\n")
    heard: list[Retention] = []
    with pytest.raises(NotFound):
        resolve_kept(home, old.id, heard.append)  # deleted before it is looked up
    assert heard == [Retention(7, [old.id])]
    assert resolve_kept(home, "latest", heard.append).id == keep.id and len(heard) == 1  # nothing more to delete
