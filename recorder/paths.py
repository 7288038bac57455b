"""Where OwnTrace keeps its data: $OWNTRACE_HOME or the platform's user data dir."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs


def home() -> Path:
    env = os.environ.get("OWNTRACE_HOME")
    return Path(env).expanduser() if env else Path(platformdirs.user_data_dir("owntrace"))


def sessions_dir(root: Path | None = None) -> Path:
    return (root or home()) / "sessions"


def private_dir(path: Path) -> Path:
    """mkdir -p where every folder it creates is 0700 (`parents=True` makes them 0755)."""
    missing = []
    while not path.exists():
        missing.append(path)
        path = path.parent
    for folder in reversed(missing):
        folder.mkdir(mode=0o700, exist_ok=True)
    return missing[0] if missing else path


PRIVATE_FILES = ("config.toml",)  # not sealed, but says whose names are redacted


def tighten(root: Path) -> None:
    """Make an existing OwnTrace home (and its sessions/, config.toml) private to its owner.
    Only a folder that holds an OwnTrace identity is touched: OWNTRACE_HOME may name any folder."""
    if not (root / "identity.pub").is_file():
        return
    for p, mode in ((root, 0o700), (sessions_dir(root), 0o700), *((root / f, 0o600) for f in PRIVATE_FILES)):
        try:
            if p.exists() and p.stat().st_mode & 0o077:
                p.chmod(mode)
        except OSError:  # not ours to change: leave it
            pass
