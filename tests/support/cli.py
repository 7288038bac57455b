"""The one way tests run OwnTrace as a user does: the `owntrace` executable installed beside the
interpreter running the tests (a venv's or pipx's bin/), never whatever PATH happens to hold."""

from __future__ import annotations

import sys
from pathlib import Path

# not resolved: a venv's python is a link to the base interpreter, its scripts sit beside the link
OWNTRACE_EXE = Path(sys.executable).with_name("owntrace")
OWNTRACE = [str(OWNTRACE_EXE)]
