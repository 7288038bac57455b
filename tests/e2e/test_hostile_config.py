"""Issue 14, item 6 (config and profiles): every value the probe put in config.toml, and a
profile nested 500 deep, is one `error:` line naming the setting; nothing is recorded."""

from __future__ import annotations

from pathlib import Path

import pytest

from recorder import config
from recorder.capture.recording import Recording
from recorder.errors import OwnTraceError
from recorder.store import session as store
from tests.support.study import identity_and_recipient

PROBE = [
    ("capture = 5", "config.toml: capture should be a table"),
    ("redaction = [1]", "config.toml: redaction should be a table"),
    ("[capture]\nkeyframe_s = nan", "config.toml: capture.keyframe_s should be a number in 0.5..3600"),
    ("[capture]\nkeyframe_s = inf", "config.toml: capture.keyframe_s should be a number in 0.5..3600"),
    ("[capture]\nmax_fps = 1e-300", "config.toml: capture.max_fps should be a number in 0.02..30"),
    ("[capture]\nmax_fps = -1", "config.toml: capture.max_fps should be a number in 0.02..30"),
    ("[capture]\nmax_fps = true", "config.toml: capture.max_fps should be a number in 0.02..30"),
    ("[retention]\ndays = 9999999999999", "config.toml: retention.days should be an integer in 0..36600"),
    ("[retention]\ndays = -1", "config.toml: retention.days should be an integer in 0..36600"),
    ("[exclude]\napps = [1]", "config.toml: exclude.apps[0] should be a string of at most 1000 characters"),
    ("[exclude]\nfoo = 1", "config.toml: exclude.foo is not a known setting"),
    ('[redaction]\ndeny = "Jane"', "config.toml: redaction.deny should be a list"),
    ("x = " + "[" * 500, "config.toml is not valid TOML: arrays or tables nested too deeply"),
    (b"\xff\xfe[".decode("latin-1"), "config.toml is not valid TOML"),
]


@pytest.mark.parametrize("text,message", PROBE)
def test_bad_config_values_are_one_line_errors(home: Path, cli, text: str, message: str) -> None:
    (home / "config.toml").write_text(text, encoding="latin-1")
    r = cli("approve", "--yes")  # every command that reads config.toml reads it the same way
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.startswith(f"error: {message}"), r.stderr
    assert r.stderr.splitlines()[1].startswith("hint: fix or delete")


def test_the_default_config_loads_and_is_private(tmp_path: Path) -> None:
    config.write_default(tmp_path)
    assert config.load(tmp_path) == config.Config()
    assert (tmp_path / "config.toml").stat().st_mode & 0o077 == 0


@pytest.mark.x11
def test_a_tiny_max_fps_records_no_empty_session(home: Path, xenv) -> None:
    (home / "config.toml").write_text("[capture]\nmax_fps = 1e-300\n")
    with pytest.raises(OwnTraceError) as e:
        Recording(home).run()
    assert "max_fps should be a number" in str(e.value)
    assert store.list_sessions(home) == []


def test_a_profile_nested_500_deep_is_one_line_in_join_and_ingest(home: Path, res, joined, tmp_path: Path, cli) -> None:
    deep = tmp_path / "deep.toml"
    deep.write_text("format = 1\nrecipients = " + "[" * 500 + "\n")
    r = cli("study", "join", str(deep), "--yes")
    assert r.returncode == 2 and r.stderr.startswith("error: study profile is not valid TOML: arrays or tables nested too deeply")
    ident, _ = identity_and_recipient(res)
    r = cli("study", "ingest", str(tmp_path / "none.age"), "--identity", str(ident), "--profile", str(deep),
            "--out", str(tmp_path / "ds"))
    assert r.returncode == 2 and "nested too deeply" in r.stderr and "Traceback" not in r.stderr
