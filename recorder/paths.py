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
