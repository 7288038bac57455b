"""The conformance suite's driver: one small adapter per capture backend, so that each check in
test_backends.py is written once and runs against every backend on its real display.

- x11: the session's Xvfb + openbox (`xdisplay`); xterm windows, xdotool for what is typed on
  screen and for the input the recorder sees; the backend probe runs as this test's user; a
  recording runs in-process (as tests/x11 does).
- wayland: the session's headless sway (`wayland_desktop`); foot windows, wtype for what is typed
  on screen, FakeInput (FIFOs standing in for /dev/input) for the input the recorder sees (sway
  itself never sees it); the probe and `owntrace record` run as the desktop's user, whose session
  bus is the only one the portal answers on (as tests/wayland does).

A probe (probe.py) is the real backend, opened with recorder.capture.backend.open_backend, in a
child process on that desktop, asked one JSON request at a time (tests/support/jsonlines.py).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from recorder import keys
from recorder.capture import display
from recorder.capture.backend import Rect
from recorder.capture.recording import Recording, RecordOptions, read_status
from recorder.capture.wayland import EVDEV_ROOT_ENV
from recorder.errors import OwnTraceError
from tests.support import xhelpers as xh
from tests.support.cli import OWNTRACE
from tests.support.evdev_feed import US_KEYS, US_SHIFTED, FakeInput
from tests.support.jsonlines import PIPES, JsonLinesChild
from tests.support.recording import wait_for
from tests.support.wayland import ROOT, HeadlessSway

SCREEN = (1280, 800)  # both session displays


def poll(ready: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
    """`ready()` once it is truthy, polled with a deadline (tests/support/recording.wait_for)."""
    return wait_for(ready, timeout, what)


class Probe(JsonLinesChild):
    """The backend in a child process (tests/conformance/probe.py); `call` sends one request."""

    def __init__(self, proc: subprocess.Popen[str], kind: str, stop: Callable[[subprocess.Popen[str]], None]) -> None:
        super().__init__("probe", proc, stop)
        self.kind = kind

    def open(self, exclude_titles: tuple[str, ...] = ()) -> Probe:
        self.call("open", kind=self.kind, exclude_titles=list(exclude_titles))
        return self


@dataclass
class Window:
    title: str
    handle: Any  # the X window id (str), or sway's con_id


@dataclass
class Recorded:
    """What a short recording left: its exit (0 or an error message) and its notice lines."""

    ok: bool
    error: str
    notices: list[str] = field(default_factory=list)


class Driver:
    """What each backend's adapter provides; the checks use nothing else."""

    kind: str
    user: keys.UnlockedIdentity  # whose sessions a recording writes: read them back with it
    app: str  # the terminal's app as WindowFacts.app gives it (the last WM_CLASS name, or the app_id)
    can_hide_focus: bool = False  # whether a real state of this desktop makes WindowSource.known() False

    def terminal(self, title: str, background: str = "ffffff") -> Window:
        """A terminal window titled `title` (fixed), with a solid background, mapped and focused."""
        raise NotImplementedError

    def rect(self, win: Window) -> Rect:
        """The window's client area on the desktop now, as the display server itself tells it."""
        raise NotImplementedError

    def focus(self, win: Window) -> None:
        raise NotImplementedError

    def type_on_screen(self, text: str) -> None:
        """Text typed into the focused window, as an app sees it."""
        raise NotImplementedError

    def keys(self, text: str) -> None:
        """Key presses the recorder sees: each character's key, Shift held around it where the US
        layout needs it (pressed, key down, key up, released), Enter for a newline."""
        raise NotImplementedError

    def click(self, x: int, y: int) -> None:
        """A left click at desktop pixel (x, y), as the recorder sees it."""
        raise NotImplementedError

    def probe(self) -> Probe:
        raise NotImplementedError

    def owntrace_home(self, config: str = "") -> Path:
        """An OWNTRACE_HOME with the test identity, owned by whoever records, with `config` as config.toml."""
        raise NotImplementedError

    def record(self, home: Path, duration: float, during: Callable[[], None] | None = None,
               hide_focus: bool = False) -> Recorded:
        """A real recording of `duration` s as a user starts one; `during` runs once it records.
        `hide_focus`: the desktop does not say which window has the focus."""
        raise NotImplementedError

    def close(self) -> None:
        pass


def _template_home(template: Path, dest: Path, config: str) -> Path:
    shutil.copytree(template, dest)
    os.chmod(dest, 0o700)
    if config:
        (dest / "config.toml").write_text(config)
    return dest


class X11Driver(Driver):
    kind, app = "x11", "XTerm"
    # non-overlapping places for up to four 60x18 xterms (606x389 with openbox's frame) on 1280x800
    SLOTS = ("+40+40", "+660+380", "+660+40", "+40+400")

    def __init__(self, env: dict[str, str], home: Callable[[], Path], user: keys.UnlockedIdentity) -> None:
        self.env, self._home, self.user = env, home, user
        self._stack = ExitStack()
        self._count = 0

    def terminal(self, title: str, background: str = "ffffff") -> Window:
        geometry = "60x18" + self.SLOTS[self._count % len(self.SLOTS)]
        self._count += 1
        wid = self._stack.enter_context(xh.xterm(title, self.env, command=["cat"], geometry=geometry,
                                                 background=background))
        return Window(title, wid)

    def rect(self, win: Window) -> Rect:
        out = subprocess.run(["xwininfo", "-id", str(win.handle)], env=self.env, check=True, capture_output=True,
                             text=True).stdout
        field_ = {k: int(v) for k, v in re.findall(r"^\s*(Absolute upper-left X|Absolute upper-left Y|Width|Height):\s+(-?\d+)",
                                                   out, re.MULTILINE)}
        return (field_["Absolute upper-left X"], field_["Absolute upper-left Y"], field_["Width"], field_["Height"])

    def focus(self, win: Window) -> None:
        xh.xdotool("windowactivate", "--sync", str(win.handle), env=self.env)
        xh.xdotool("windowfocus", "--sync", str(win.handle), env=self.env)

    def type_on_screen(self, text: str) -> None:
        xh.type_text(text, self.env)

    def keys(self, text: str) -> None:
        # key by key, as FakeInput sends them: `xdotool type` releases Shift before the key it shifted
        args: list[str] = []
        for ch in text:
            if ch == "\n":
                args += ["keydown", "Return", "keyup", "Return"]
                continue
            base = US_SHIFTED.get(ch, ch.lower())
            shift = ch in US_SHIFTED or ch.isupper()
            name = "space" if base == " " else base
            assert base in US_KEYS, ch
            args += (["keydown", "Shift_L"] if shift else []) + ["keydown", name, "keyup", name] + \
                (["keyup", "Shift_L"] if shift else [])
        xh.xdotool(*args, env=self.env)

    def click(self, x: int, y: int) -> None:
        xh.click(x, y, self.env)

    def probe(self) -> Probe:
        proc = subprocess.Popen([sys.executable, "-m", "tests.conformance.probe"], env={**self.env, "PYTHONPATH": str(ROOT)},
                                cwd=str(ROOT), **PIPES)
        return Probe(proc, self.kind, lambda p: display.stop_process(p, 5))

    def owntrace_home(self, config: str = "") -> Path:
        home = self._home()  # the `home` fixture: a copy of the test identity, OWNTRACE_HOME set
        if config:
            (home / "config.toml").write_text(config)
        return home

    def record(self, home: Path, duration: float, during: Callable[[], None] | None = None,
               hide_focus: bool = False) -> Recorded:
        assert not hide_focus, "no real X11 state hides the focused window"
        notices: list[str] = []
        rec = Recording(home, RecordOptions(duration_s=duration, backend="x11"), on_notice=lambda t: notices.append(f"note: {t}"))
        errors: list[BaseException] = []

        def run() -> None:
            try:
                rec.run()
            except BaseException as e:  # noqa: BLE001 - reported to the test
                errors.append(e)

        thread = threading.Thread(target=run, name="conformance-recording", daemon=True)
        thread.start()
        poll(lambda: errors or read_status(home), "the recorder to start", 60)
        if during and not errors:
            during()
        thread.join(duration + 60)
        if thread.is_alive():
            rec.stop()
            thread.join(30)
            return Recorded(False, "the recording did not stop after its --duration", notices)
        error = "; ".join(e.message if isinstance(e, OwnTraceError) else repr(e) for e in errors)
        return Recorded(not errors, error, notices)

    def close(self) -> None:
        self._stack.close()


class WaylandDriver(Driver):
    kind, app = "wayland", "foot"
    can_hide_focus = True  # without SWAYSOCK (as on GNOME without an accessibility bridge)

    def __init__(self, desktop: HeadlessSway, identity: Path, user: keys.UnlockedIdentity) -> None:
        self.desktop, self._identity, self.user = desktop, identity, user
        desktop.close_clients()
        self._fake = FakeInput(desktop.home / f"input-{uuid.uuid4().hex[:8]}", owner=desktop.uid)
        self._paths = [self._fake.root]
        self.env = {"XKB_DEFAULT_LAYOUT": "us", EVDEV_ROOT_ENV: str(self._fake.root)}

    def terminal(self, title: str, background: str = "ffffff") -> Window:
        _, node = self.desktop.foot(title, background=background)
        return Window(title, node["id"])

    def _node(self, win: Window) -> Any:
        return next(n for n in self.desktop.views() if n["id"] == win.handle)

    def rect(self, win: Window) -> Rect:
        node = self._node(win)
        r, content = node["rect"], node["window_rect"]  # window_rect: the client's surface, inside `rect`
        return (r["x"] + content["x"], r["y"] + content["y"], content["width"], content["height"])

    def focus(self, win: Window) -> None:
        self.desktop.swaymsg(f"[con_id={win.handle}] focus")
        self.desktop.wait_for(lambda: self._node(win).get("focused"), f"{win.title!r} to have the focus")

    def type_on_screen(self, text: str) -> None:
        self.desktop.wtype(text)

    def keys(self, text: str) -> None:
        self._fake.type(text)

    def click(self, x: int, y: int) -> None:
        self._fake.click_at(x, y)

    def probe(self) -> Probe:
        proc = self.desktop.popen([sys.executable, "-m", "tests.conformance.probe"],
                                  env={"PYTHONPATH": str(ROOT), **self.env}, cwd=str(ROOT), **PIPES)
        return Probe(proc, self.kind, self.desktop.stop_client)

    def owntrace_home(self, config: str = "") -> Path:
        home = _template_home(self._identity, self.desktop.home / f"owntrace-{uuid.uuid4().hex[:8]}", config)
        self._paths.append(home)
        if self.desktop.uid is not None:
            for p in (home, *home.rglob("*")):
                os.chown(p, self.desktop.uid, self.desktop.uid)
        return home

    def record(self, home: Path, duration: float, during: Callable[[], None] | None = None,
               hide_focus: bool = False) -> Recorded:
        unset = ["env", "-u", "SWAYSOCK"] if hide_focus else []
        rec = self.desktop.popen([*unset, *OWNTRACE, "record", "--duration", str(duration), "--name", "conformance"],
                                 env={"OWNTRACE_HOME": str(home), **self.env}, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
        try:
            poll(lambda: rec.poll() is not None or read_status(home), "the recorder to start", 60)
            if during and rec.poll() is None:
                during()
            _out, err = rec.communicate(timeout=duration + 60)
        finally:
            self.desktop.stop_client(rec)
        notices = [line for line in err.splitlines() if line.startswith("note: ")]
        errors = [line for line in err.splitlines() if line.startswith(("error: ", "hint: "))]
        return Recorded(rec.returncode == 0, " ".join(errors) or (err[-1000:] if rec.returncode else ""), notices)

    def close(self) -> None:
        self.desktop.close_clients()
        self._fake.close()
        for p in self._paths:
            shutil.rmtree(p, ignore_errors=True)


@pytest.fixture(params=[pytest.param("x11", marks=pytest.mark.x11), pytest.param("wayland", marks=pytest.mark.wayland)])
def driver(request: pytest.FixtureRequest, _identity_template: tuple[Path, keys.UnlockedIdentity]) -> Iterator[Driver]:
    """The backend under test on its session display, with nothing of an earlier test left on it."""
    d: Driver
    if request.param == "x11":
        env = request.getfixturevalue("xenv")
        d = X11Driver(env, lambda: request.getfixturevalue("home"), _identity_template[1])
    else:
        d = WaylandDriver(request.getfixturevalue("wayland_desktop"), *_identity_template)
    try:
        yield d
    finally:
        d.close()
