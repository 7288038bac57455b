"""Without access to input devices a Wayland recording is screen-only, and says so at start."""

from __future__ import annotations

import json

import pytest

from recorder.capture.wayland import EVDEV_ROOT_ENV
from recorder.store.session import resolve
from tests.conftest import PASSPHRASE
from tests.support.cli import OWNTRACE
from tests.support.wayland import HeadlessSway

pytestmark = pytest.mark.wayland


def test_no_readable_input_device_means_a_screen_only_recording_that_says_so(desktop: HeadlessSway) -> None:
    home, fake, env = desktop.owntrace_home(PASSPHRASE)
    fake.close()
    (fake.root / "proc/bus/input/devices").write_text("")  # the kernel lists none, as in a container
    desktop.foot("screen only")
    done = desktop.run([*OWNTRACE, "record", "--duration", "2"], env={**env, EVDEV_ROOT_ENV: str(fake.root)})
    notes = [ln for ln in done.stderr.splitlines() if ln.startswith("note: ")]
    assert any("no access to keyboard and mouse here: this is a screen-only recording" in n for n in notes), done.stderr
    session = resolve(home, done.stdout.strip())
    assert session.meta.frames >= 1 and session.meta.events >= 1  # frames and the window, no input
    assert json.loads((home / "sessions" / session.id / "session.json").read_text())["state"] == "recorded"
