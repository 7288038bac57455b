"""Issue 22, item 6: the deny list is personal data (the README tells people to put their own
name, usernames and contacts there), so it is sealed to the identity like every other personal
datum; config.toml keeps settings, not people. An older config.toml's [redaction] deny is moved
on the first unlock, the person is told, and the clear file no longer holds it."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from recorder import config, deny
from recorder.errors import OwnTraceError
from recorder.redact.session import user_detector

OLD_CONFIG = """\
# my settings
[capture]
max_fps = 1.5  # slower

[redaction]
# people
deny = [
  "Jane Roe",   # me
  "jroe",
]
phone_regions = ["US"]

[retention]
days = 30
"""


def _clear_bytes(home: Path) -> bytes:
    """Every file of the home as it lies on disk (sealed files are ciphertext)."""
    return b"".join(p.read_bytes() for p in sorted(home.rglob("*")) if p.is_file())


def test_deny_commands_keep_the_terms_sealed(home: Path, cli) -> None:
    config.write_default(home)
    r = cli("deny", "add", "Jane Roe", "jroe", "JANE ROE")
    assert r.returncode == 0 and "added 2 term(s)" in r.stdout, r.stderr
    assert (home / deny.FILE).exists() and b"Jane Roe" not in _clear_bytes(home) and b"jroe" not in _clear_bytes(home)
    assert cli("deny", "list").stdout.splitlines() == ["Jane Roe", "jroe"]
    assert "removed 1 term(s)" in cli("deny", "remove", "JROE").stdout
    assert cli("deny", "list").stdout.splitlines() == ["Jane Roe"]
    assert "deny" not in tomllib.loads((home / "config.toml").read_text())["redaction"]


def test_first_unlock_moves_the_old_clear_deny_list_and_says_so(home: Path, user, cli) -> None:
    (home / "config.toml").write_text(OLD_CONFIG)
    r = cli("deny", "list")
    assert r.returncode == 0 and "moved 2 deny-list term(s) from config.toml into deny.json.age" in r.stderr
    assert r.stdout.splitlines() == ["Jane Roe", "jroe"]
    text = (home / "config.toml").read_text()
    assert "Jane Roe" not in text and "jroe" not in text and b"Jane Roe" not in _clear_bytes(home)
    # every other setting, and the person's comments, are as they were
    assert "# my settings" in text and "max_fps = 1.5  # slower" in text
    cfg = config.load(home)
    assert (cfg.max_fps, cfg.phone_regions, cfg.retention_days, cfg.legacy_deny) == (1.5, ["US"], 30, [])
    assert not (home / ".config.toml.old").exists()
    assert "moved" not in cli("deny", "list").stderr  # once


def test_redaction_applies_the_sealed_list_and_never_runs_without_it(home: Path, user, cli, monkeypatch,
                                                                     tmp_path: Path) -> None:
    deny.add(home, user, ["Jiminy Roe"])
    assert user_detector(home, user).redact("mail from Jiminy Roe")[0] == "mail from <DENY>"
    with pytest.raises(OwnTraceError, match="your deny list is sealed"):
        user_detector(home, None)  # failing open would leak the very names it lists
    (tmp_path / "t.txt").write_text("mail from Jiminy Roe\n")
    r = cli("redact-text", str(tmp_path / "t.txt"))  # the passphrase from the environment
    assert r.returncode == 0 and r.stdout == "mail from <DENY>\n", r.stderr
    monkeypatch.delenv("OWNTRACE_PASSPHRASE")
    r = cli("redact-text", str(tmp_path / "t.txt"))
    assert r.returncode == 2 and "a passphrase is needed" in r.stderr


def test_the_default_config_names_nobody(tmp_path: Path) -> None:
    config.write_default(tmp_path)
    assert "deny" not in tomllib.loads((tmp_path / "config.toml").read_text())["redaction"]
