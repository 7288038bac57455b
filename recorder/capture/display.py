"""A private virtual X display (Xvfb + openbox) and the helpers that start and find its windows."""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import time
from dataclasses import dataclass, field

from recorder.capture.backend import BackendKind, session_kind
from recorder.childenv import scrubbed
from recorder.errors import OwnTraceError


def require_x11() -> str:
    """The X display, for what drives apps with xdotool (the demo's `--here`)."""
    kind = session_kind()
    if kind is BackendKind.WAYLAND:
        raise OwnTraceError(
            "this is a Wayland session: the demo drives its apps with xdotool, which needs X11",
            "run `owntrace demo` without --here: it brings its own virtual X display",
        )
    if kind is None:
        raise OwnTraceError(
            "no display: DISPLAY is not set",
            "run on your desktop, or try `owntrace demo`, which brings its own virtual display",
        )
    return os.environ["DISPLAY"]


XVFB_START_S = WM_START_S = 30.0  # generous for a loaded machine; both end as soon as ready


def _read_line(stream, timeout: float) -> str:
    """One line from a pipe, or "" when none comes within `timeout` s or the writer closed it."""
    if not select.select([stream], [], [], timeout)[0]:
        return ""
    return stream.readline().decode(errors="replace").strip()


def _wait_window_manager(display_name: str, wm: subprocess.Popen) -> None:
    """Until the window manager announces itself (EWMH _NET_SUPPORTING_WM_CHECK on the root):
    windows mapped before that would get no frame and no focus."""
    from Xlib import X, display

    d = display.Display(display_name)
    try:
        atom = d.intern_atom("_NET_SUPPORTING_WM_CHECK")
        root = d.screen().root
        root.change_attributes(event_mask=X.PropertyChangeMask)
        deadline = time.monotonic() + WM_START_S
        while root.get_full_property(atom, X.AnyPropertyType) is None:
            if wm.poll() is not None or time.monotonic() > deadline:
                raise OwnTraceError("the window manager (openbox) did not start on the virtual display",
                                    "check that openbox is installed: sudo apt-get install openbox")
            if select.select([d.fileno()], [], [], 0.5)[0]:  # woken by any property change
                while d.pending_events():
                    d.next_event()
    finally:
        d.close()


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
        # -displayfd: Xvfb takes the first display number whose socket it can bind (abstract
        # sockets included, which no file in /tmp shows) and writes it to the pipe once it
        # listens; -nolisten tcp: reachable through its unix socket only
        r, w = os.pipe()
        proc = subprocess.Popen(
            ["Xvfb", "-displayfd", str(w), "-screen", "0", f"{self.width}x{self.height}x24", "-nolisten", "tcp", "-noreset"],
            env=scrubbed(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, pass_fds=(w,),
        )
        os.close(w)
        with os.fdopen(r, "rb") as ready:
            number = _read_line(ready, XVFB_START_S)
        if not number.isdigit():
            proc.kill()
            err = proc.stderr.read().decode(errors="replace")[-200:].strip() if proc.stderr else ""
            raise OwnTraceError(f"Xvfb did not start: {err or 'no display number within the time'}",
                                "check that xvfb is installed and /tmp is writable")
        self.display = f":{number}"
        self._procs.append(proc)
        if self.window_manager:
            wm = subprocess.Popen(["openbox", "--sm-disable"], env=self.env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self._procs.append(wm)
            _wait_window_manager(self.display, wm)
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
