"""A private D-Bus session bus for tests: dbus-daemon on a config of its own, on which everyone
may own any name and send anything anywhere, eavesdropping included (a bus monitor may watch)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from recorder.capture.display import _read_line

BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>{listen}</listen>
  <auth>EXTERNAL</auth>
{service_dirs}  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


def start_session_bus(conf: Path, listen: str, *, activation: bool, timeout: float,
                      popen: Callable[..., subprocess.Popen[Any]] = subprocess.Popen,
                      **kw: Any) -> tuple[subprocess.Popen[Any], str]:
    """dbus-daemon on a config written to `conf`, listening on `listen` (unix:path=... or
    unix:dir=...); with `activation`, it starts the standard session services on demand, else
    nothing is D-Bus-activated behind the test's back. Started as `popen(args, pass_fds=..., **kw)`;
    returns the process and the address it prints once it listens ("" if none within `timeout` s)."""
    service_dirs = "  <standard_session_servicedirs/>\n" if activation else ""
    conf.write_text(BUS_CONFIG.format(listen=listen, service_dirs=service_dirs))
    os.chmod(conf, 0o644)  # the bus may run as another user
    r, w = os.pipe()
    with os.fdopen(r, "rb") as printed:
        try:
            proc = popen(["dbus-daemon", f"--config-file={conf}", "--nofork", f"--print-address={w}"],
                         pass_fds=(w,), **kw)
        finally:
            os.close(w)
        return proc, _read_line(printed, timeout)
