"""Display servers: which one we are on, and a private virtual X display (Xvfb + openbox)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from recorder.childenv import scrubbed
from recorder.errors import OwnTraceError


def display_server(env: dict[str, str] | None = None) -> str:
    """'wayland', 'x11' or 'none', from the environment a desktop session sets."""
    env = dict(os.environ) if env is None else env
    if env.get("WAYLAND_DISPLAY") or env.get("XDG_SESSION_TYPE") == "wayland":
        return "wayland"
    if env.get("DISPLAY"):
        return "x11"
    return "none"


def require_x11() -> str:
    kind = display_server()
    if kind == "wayland":
        raise OwnTraceError(
            "this is a Wayland session: global input and screen capture are blocked for X11 clients",
            "log in with an 'Xorg'/'X11' session (choose it on the login screen), or run `owntrace demo` on a virtual display",
        )
    if kind == "none":
        raise OwnTraceError(
            "no display: DISPLAY is not set",
            "run on your desktop, or try `owntrace demo`, which brings its own virtual display",
        )
    return os.environ["DISPLAY"]


def _free_display_number(start: int = 90) -> int:
    for n in range(start, start + 400):
        if not Path(f"/tmp/.X11-unix/X{n}").exists() and not Path(f"/tmp/.X{n}-lock").exists():
            return n
    raise OwnTraceError("no free X display number", "stop stale Xvfb servers")


def stop_process(proc: subprocess.Popen, grace_s: float = 5.0) -> None:
    """Terminate, then kill if it does not exit within `grace_s`."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_window(title: str, env: dict[str, str], timeout: float = 30.0) -> str | None:
    """The id of the first visible window whose title matches `title` (a regex), or None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = subprocess.run(
            ["xdotool", "search", "--onlyvisible", "--name", title], env=env, capture_output=True, text=True
        ).stdout.split()
        if out:
            return out[0]
        time.sleep(0.1)
    return None


@dataclass
class VirtualDisplay:
    """Xvfb plus openbox on a free display number. Use as a context manager."""

    width: int = 1280
    height: int = 800
    window_manager: bool = True
    display: str = ""
    _procs: list[subprocess.Popen] = field(default_factory=list)

    def start(self) -> VirtualDisplay:
        for tool in ("Xvfb",) + (("openbox",) if self.window_manager else ()):
            if not shutil.which(tool):
                raise OwnTraceError(
                    f"{tool} is not installed",
                    "install it: sudo apt-get install xvfb openbox xdotool xterm",
                )
        last = ""
        for _ in range(5):
            n = _free_display_number()
            # -nolisten tcp: the display is reachable through its unix socket only
            proc = subprocess.Popen(
                ["Xvfb", f":{n}", "-screen", "0", f"{self.width}x{self.height}x24", "-nolisten", "tcp", "-noreset"],
                env=scrubbed(),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            sock = Path(f"/tmp/.X11-unix/X{n}")
            for _ in range(100):
                if sock.exists() or proc.poll() is not None:
                    break
                time.sleep(0.05)
            if proc.poll() is None and sock.exists():
                self.display = f":{n}"
                self._procs.append(proc)
                break
            last = proc.stderr.read().decode(errors="replace")[-200:] if proc.stderr else ""
            proc.kill()
        else:
            raise OwnTraceError(f"Xvfb did not start: {last.strip()}", "check that xvfb is installed and /tmp is writable")
        if self.window_manager:
            wm = subprocess.Popen(
                ["openbox", "--sm-disable"],
                env=self.env(),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            self._procs.append(wm)
            time.sleep(0.3)
        return self

    def env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        env = scrubbed(base)  # what runs on the display (openbox, demo apps) gets no secret
        env["DISPLAY"] = self.display
        env.pop("WAYLAND_DISPLAY", None)
        env["XDG_SESSION_TYPE"] = "x11"
        return env

    def stop(self) -> None:
        for p in reversed(self._procs):
            stop_process(p)
        self._procs.clear()

    def __enter__(self) -> VirtualDisplay:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
