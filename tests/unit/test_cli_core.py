"""The core commands as a user runs them: one-line errors, nothing lost, no network."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from recorder.store import session as store
from recorder.store.records import Event
from tests.support.cli import OWNTRACE
from tests.support.guards import traced


def run(args: list[str], env: dict[str, str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(OWNTRACE + args, env=env, capture_output=True, text=True, **kw)


def test_init_then_again_is_refused_and_keeps_identity(tmp_path: Path) -> None:
    env = dict(os.environ, OWNTRACE_HOME=str(tmp_path / "h"), OWNTRACE_PASSPHRASE="pw one")
    first = run(["init"], env)
    assert first.returncode == 0 and "public key: age1" in first.stdout
    pub = (tmp_path / "h" / "identity.pub").read_text()
    again = run(["init"], env)
    assert again.returncode == 2 and again.stderr.startswith("error: an identity already exists")
    assert "Traceback" not in again.stderr
    assert (tmp_path / "h" / "identity.pub").read_text() == pub


def test_init_without_passphrase_and_no_terminal(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "OWNTRACE_PASSPHRASE"}
    env["OWNTRACE_HOME"] = str(tmp_path / "h")
    r = run(["init"], env, stdin=subprocess.DEVNULL)
    assert r.returncode == 2
    assert r.stderr.splitlines()[0] == "error: a passphrase is needed and there is no terminal to ask on"
    assert not (tmp_path / "h" / "identity.pub").exists()


def test_sessions_lists_and_survives_a_corrupt_session(home: Path) -> None:
    w = store.SessionWriter.create(home, name="demo")
    w.append(Event(0, "click", {"x": 1, "y": 2, "button": "left", "pressed": True}))
    w.close()
    broken = store.SessionWriter.create(home)
    broken.close()
    (broken.path / "session.json").write_text("{not json")
    r = run(["sessions", "--json"], dict(os.environ))
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert [row["id"] for row in rows] == [w.meta.id, broken.meta.id]
    assert rows[0]["events"] == 1 and rows[0]["state"] == "recorded"
    assert rows[1]["state"] == "damaged" and "session.json is corrupt" in rows[1]["reason"]


def test_core_commands_open_no_network(home: Path, tmp_path: Path) -> None:
    env = dict(os.environ, OWNTRACE_HOME=str(tmp_path / "fresh"))
    for i, args in enumerate((["init"], ["sessions"])):
        proc, connects = traced(OWNTRACE + args, tmp_path / f"strace{i}.log", env=env, capture_output=True)
        assert proc.returncode == 0, proc.stderr
        assert not [c for c in connects if c.outbound]
