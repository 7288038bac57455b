"""A private headless Wayland desktop for tests: sway, PipeWire, WirePlumber and the screen-cast
portal (xdg-desktop-portal + xdg-desktop-portal-wlr), on their own session bus and runtime dir.

sway refuses to run as root, and a session bus accepts its own uid only: when the tests run as
root, the whole desktop and everything a test runs on it (clients, portal calls, the recorder)
run as nobody (65534), through `desktop.popen` / `desktop.run`.

Readiness is polled for with deadlines, never guessed with a fixed sleep: the bus prints its
address once it listens, sway's IPC answers with its output, PipeWire's socket appears,
WirePlumber publishes its "default" metadata, and the portals own their names on the bus.

xdg-desktop-portal-wlr 0.7 on a software-rendered (pixman) compositor: xdpw refuses to start a
cast unless the compositor announces a DMA-BUF format for screencopy frames, which pixman never
does, so every Start fails ("unable to receive a valid format from wlr_screencopy", upstream
xdg-desktop-portal-wlr#289). A machine with a GPU has no such problem; this one has no /dev/dri.
There, xdpw alone connects through `DmabufAnnouncingProxy`, which forwards its Wayland
connection unchanged but for that one announcement: xdpw then starts, finds no GPU of its own,
and streams through shared memory. The portal, PipeWire, the stream and the pixels are all real.
"""

from __future__ import annotations

import array
import functools
import json
import os
import re
import selectors
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from recorder.capture.wayland import EVDEV_ROOT_ENV
from recorder.capture.wayland import sway as swayipc
from tests.support.cli import OWNTRACE
from tests.support.dbus import start_session_bus
from tests.support.evdev_feed import FakeInput
from tests.support.jsonlines import PIPES, JsonLinesChild

ROOT = Path(__file__).resolve().parents[2]
NOBODY = 65534
START_TIMEOUT_S = 60.0  # generous for a loaded 2-core machine; every wait ends as soon as ready
OUTPUT = "HEADLESS-1"
GET_INPUTS = 100  # sway's own IPC message: the seat's input devices
TOOLS = ("sway", "dbus-daemon", "pipewire", "wireplumber", "pw-cli", "foot", "wtype", "grim", "gst-launch-1.0")
LIBEXEC = Path("/usr/libexec")

# no bar, no wallpaper process, no XWayland (not installed); a fixed title font keeps title bars
# the same height everywhere
SWAY_CONFIG = """output {output} resolution {width}x{height} position 0 0
swaybg_command -
xwayland disable
default_border normal 2
font monospace 10
focus_follows_mouse no
"""

XDPW_CONFIG = """[screencast]
chooser_type=none
output_name={output}
max_fps=30
"""

# runs as the desktop's user (the bus takes no other uid): waits until every name has an owner
_WAIT_NAMES = r"""
import sys, time
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import open_dbus_connection
deadline = time.monotonic() + float(sys.argv[2])
names = sys.argv[3:]
with open_dbus_connection(sys.argv[1]) as conn:
    while names:
        names = [n for n in names if not conn.send_and_get_reply(message_bus.NameHasOwner(n), timeout=5).body[0]]
        if names and time.monotonic() > deadline:
            sys.exit("nobody owns " + ", ".join(names))
        if names:
            time.sleep(0.05)
"""


class DesktopError(RuntimeError):
    pass


def _deadline_poll(what: str, ready: Callable[[], Any], timeout: float,
                   alive: Callable[[], str | None] = lambda: None, interval: float = 0.05) -> Any:
    """Poll `ready` until it returns something truthy; `alive` names a process that died."""
    deadline = time.monotonic() + timeout
    while True:
        value = ready()
        if value:
            return value
        dead = alive()
        if dead:
            raise DesktopError(f"{what}: {dead}")
        if time.monotonic() > deadline:
            raise DesktopError(f"{what}: not ready after {timeout:.0f} s")
        time.sleep(interval)


class _Objects:
    """What the proxy tracks on one connection: the ids of registries, screencopy managers and
    frames (all ids the client picks), and the registry names of the screencopy global."""

    def __init__(self) -> None:
        self.registries: set[int] = set()
        self.screencopy_names: set[int] = set()
        self.managers: set[int] = set()
        self.frames: set[int] = set()


def _wl_string(msg: bytes | bytearray, at: int) -> tuple[bytes, int]:
    """A Wayland string argument at `at`: its bytes (without the NUL) and where the next argument starts."""
    (length,) = struct.unpack_from("=I", msg, at)
    return bytes(msg[at + 4 : at + 4 + max(length - 1, 0)]), at + 4 + (length + 3) // 4 * 4


# wl_shm's two own codes; every other wl_shm format is already a DRM fourcc
_SHM_TO_DRM = {0: 0x34325241, 1: 0x34325258}  # ARGB8888 'AR24', XRGB8888 'XR24'


class DmabufAnnouncingProxy:
    """A Wayland connection forwarder for one client (xdpw): bytes and fds pass unchanged, except
    that after each screencopy frame's `buffer` event (the shared-memory format) it adds the
    `linux_dmabuf` event a GPU-backed compositor would send, with the same format and size.
    xdpw 0.7 then starts the cast; having no GPU device itself, it negotiates shared memory with
    PipeWire, which is the only buffer type it ever uses here. Listens on `path`; runs in daemon threads."""

    INTERFACE = b"zwlr_screencopy_manager_v1"
    MAX_FDS = 28  # libwayland's own limit per message batch

    def __init__(self, path: Path, upstream: Path, uid: int | None) -> None:
        self.path = path
        self.upstream = upstream
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(str(path))
        if uid is not None:
            os.chown(path, uid, uid)
        self._listener.listen(4)
        self._stop = threading.Event()
        self._socks: list[socket.socket] = [self._listener]
        threading.Thread(target=self._accept, name="wl-proxy", daemon=True).start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            server.connect(str(self.upstream))
            self._socks += [client, server]
            threading.Thread(target=self._pump, args=(client, server), name="wl-proxy-conn", daemon=True).start()

    def _pump(self, client: socket.socket, server: socket.socket) -> None:
        objects = _Objects()
        pending: dict[socket.socket, tuple[bytearray, list[int]]] = {client: (bytearray(), []), server: (bytearray(), [])}
        sel = selectors.DefaultSelector()
        sel.register(client, selectors.EVENT_READ)
        sel.register(server, selectors.EVENT_READ)
        try:
            while not self._stop.is_set():
                for key, _ in sel.select(0.5):
                    src: socket.socket = key.fileobj  # type: ignore[assignment]
                    dst = server if src is client else client
                    data, anc, _flags, _addr = src.recvmsg(65536, socket.CMSG_SPACE(self.MAX_FDS * 4))
                    if not data:
                        return
                    buf, fds = pending[src]
                    buf += data
                    for level, kind, payload in anc:
                        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                            fds += array.array("i", payload[: len(payload) - len(payload) % 4])
                    out = self._complete_messages(buf, objects, from_client=src is client)
                    if out:
                        self._send(dst, out, fds)
                        fds.clear()
        except OSError:
            return
        finally:
            sel.close()
            client.close()
            server.close()

    def _complete_messages(self, buf: bytearray, o: _Objects, *, from_client: bool) -> bytes:
        """Whole messages taken off the front of `buf` (a partial one waits for its rest), with
        the added events after those they follow."""
        out = bytearray()
        while len(buf) >= 8:
            obj, word = struct.unpack_from("=II", buf)
            size, opcode = word >> 16, word & 0xFFFF
            if size < 8 or len(buf) < size:
                break
            msg = bytes(buf[:size])
            del buf[:size]
            out += msg
            if from_client:
                if obj == 1 and opcode == 1:  # wl_display.get_registry(new_id)
                    o.registries.add(struct.unpack_from("=I", msg, 8)[0])
                elif obj in o.registries and opcode == 0:  # wl_registry.bind(name, interface, version, new_id)
                    (name,) = struct.unpack_from("=I", msg, 8)
                    if name in o.screencopy_names:
                        _iface, at = _wl_string(msg, 12)
                        o.managers.add(struct.unpack_from("=I", msg, at + 4)[0])
                elif obj in o.managers and opcode in (0, 1):  # capture_output(_region)(new_id frame, ...)
                    o.frames.add(struct.unpack_from("=I", msg, 8)[0])
                elif obj in o.frames and opcode == 1:  # frame.destroy: its id may be reused for anything
                    o.frames.discard(obj)
            elif obj in o.registries and opcode == 0:  # wl_registry.global(name, interface, version)
                (name,) = struct.unpack_from("=I", msg, 8)
                if _wl_string(msg, 12)[0] == self.INTERFACE:
                    o.screencopy_names.add(name)
            elif obj in o.frames and opcode == 0:  # frame.buffer(format, width, height, stride)
                shm_format, width, height = struct.unpack_from("=III", msg, 8)
                out += struct.pack("=IIIII", obj, (20 << 16) | 5, _SHM_TO_DRM.get(shm_format, shm_format), width, height)
        return bytes(out)

    @staticmethod
    def _send(dst: socket.socket, data: bytes, fds: list[int]) -> None:
        anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))] if fds else []
        sent = dst.sendmsg([data], anc)
        for fd in fds:
            os.close(fd)  # the receiver has its own copies now
        while sent < len(data):
            sent += dst.send(data[sent:])

    def close(self) -> None:
        self._stop.set()
        for s in self._socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


class HeadlessSway:
    """sway on a headless output plus the screen-cast stack. Use as a context manager."""

    def __init__(self, width: int = 1280, height: int = 800, timeout: float = START_TIMEOUT_S) -> None:
        self.width, self.height, self.timeout = width, height, timeout
        self.uid: int | None = NOBODY if os.geteuid() == 0 else None
        self.base: Path | None = None
        self.home = self.runtime = Path()
        self.env: dict[str, str] = {}
        self._procs: list[tuple[str, subprocess.Popen[bytes]]] = []
        self._clients: list[subprocess.Popen[Any]] = []
        self._proxy: DmabufAnnouncingProxy | None = None
        self._logs: dict[str, Path] = {}

    # --- running things as the desktop's user ------------------------------------------------
    def _as_user(self, kw: dict[str, Any]) -> dict[str, Any]:
        if self.uid is not None:
            kw.update(user=self.uid, group=self.uid, extra_groups=[])
        return kw

    def _env(self, extra: Mapping[str, str] | None) -> dict[str, str]:
        env = dict(self.env)
        if extra:
            env.update(extra)
        return env

    def popen(self, args: Sequence[str], *, env: Mapping[str, str] | None = None, **kw: Any) -> subprocess.Popen[Any]:
        """Start a client on the desktop as its user, in its own process group; stopped with the
        desktop if the test does not stop it first."""
        kw.setdefault("stdin", subprocess.DEVNULL)
        kw.setdefault("cwd", str(self.home))
        proc = subprocess.Popen(list(args), env=self._env(env), start_new_session=True, **self._as_user(kw))
        self._clients.append(proc)
        return proc

    def run(self, args: Sequence[str], *, env: Mapping[str, str] | None = None, timeout: float = 120,
            check: bool = True, **kw: Any) -> subprocess.CompletedProcess[str]:
        """Run a command on the desktop as its user; output captured as text."""
        kw.setdefault("capture_output", True)
        kw.setdefault("text", True)
        kw.setdefault("stdin", subprocess.DEVNULL)
        kw.setdefault("cwd", str(self.home))
        done = subprocess.run(list(args), env=self._env(env), timeout=timeout, **self._as_user(kw))
        if check and done.returncode != 0:
            raise DesktopError(f"{args[0]} exited {done.returncode}: {(done.stderr or '')[-2000:]}")
        return done

    def python(self, code: str, *args: str, env: Mapping[str, str] | None = None, timeout: float = 120,
               check: bool = True) -> subprocess.CompletedProcess[str]:
        """Python code run on the desktop as its user, with the project importable."""
        return self.run([sys.executable, "-c", code, *args], env={"PYTHONPATH": str(ROOT), **(env or {})},
                        timeout=timeout, check=check, cwd=str(ROOT))

    # --- start and stop ------------------------------------------------------------------------
    def _spawn(self, name: str, args: Sequence[str], env: Mapping[str, str] | None = None, **kw: Any) -> subprocess.Popen[bytes]:
        log = self._logs[name] = self.base / f"{name}.log"  # type: ignore[operator]
        with open(log, "wb") as out:
            proc = subprocess.Popen(list(args), env=self._env(env), stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True, cwd=str(self.home),
                                    **self._as_user(kw))
        self._procs.append((name, proc))
        return proc

    def _dead(self) -> str | None:
        for name, proc in self._procs:
            if proc.poll() is not None:
                return f"{name} exited {proc.returncode}: {self.log_tail(name)}"
        return None

    def log_tail(self, name: str, chars: int = 1500) -> str:
        try:
            return self._logs[name].read_text(errors="replace")[-chars:].strip()
        except (KeyError, OSError):
            return ""

    def _check_access(self) -> None:
        """The unprivileged user must be able to run the project's Python and read the checkout."""
        if self.uid is None:
            return
        code = ("import os, sys, jeepney, numpy\n"
                "sys.exit(0 if os.access(sys.argv[1], os.R_OK | os.X_OK) else 1)")
        try:
            done = subprocess.run([sys.executable, "-c", code, str(ROOT / "recorder")], capture_output=True, text=True,
                                  timeout=60, env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")}, cwd="/",
                                  user=self.uid, group=self.uid, extra_groups=[])
            ok = done.returncode == 0
        except OSError:
            ok = False
        if not ok:
            raise DesktopError(
                f"the Wayland tests run the desktop as uid {self.uid} (sway refuses root), and that user cannot read "
                f"{ROOT} or run {sys.executable} with its packages: make the checkout and its venv world-readable "
                f"(chmod -R o+rX, including every parent directory) or run the tests as a normal user")

    def start(self) -> HeadlessSway:
        missing = [t for t in TOOLS if not shutil.which(t)]
        missing += [p.name for p in (LIBEXEC / "xdg-desktop-portal", LIBEXEC / "xdg-desktop-portal-wlr") if not p.exists()]
        if missing:
            raise DesktopError(f"missing for the Wayland desktop: {', '.join(missing)}: run .ci/run, which installs "
                               "sway, foot, wtype, grim, pipewire, wireplumber, xdg-desktop-portal(-wlr), gstreamer1.0-pipewire")
        self._check_access()
        self.base = Path(tempfile.mkdtemp(prefix="owntrace-wl-"))  # 0700, ours
        self.home, self.runtime = self.base / "home", self.base / "run"
        self.home.mkdir()
        self.runtime.mkdir(mode=0o700)
        if self.uid is not None:
            os.chmod(self.base, 0o711)  # the user may pass through to its own dirs, not list ours
            for p in (self.home, self.runtime):
                os.chown(p, self.uid, self.uid)
        try:
            self._start_stack()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_stack(self) -> None:
        assert self.base is not None
        bus_socket = self.runtime / "bus"
        swaysock = self.runtime / "sway-ipc.sock"
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "HOME": str(self.home),
            "USER": "nobody" if self.uid is not None else os.environ.get("USER", ""),
            "XDG_RUNTIME_DIR": str(self.runtime),
            "XDG_SESSION_TYPE": "wayland",
            "XDG_CURRENT_DESKTOP": "sway",
            "DBUS_SESSION_BUS_ADDRESS": f"unix:path={bus_socket}",
            "SWAYSOCK": str(swaysock),
            "NO_AT_BRIDGE": "1",  # GTK apps would start an accessibility bus of their own
        }
        configs = {"sway.conf": SWAY_CONFIG.format(output=OUTPUT, width=self.width, height=self.height),
                   "xdpw.conf": XDPW_CONFIG.format(output=OUTPUT)}
        for name, text in configs.items():
            (self.base / name).write_text(text)
            os.chmod(self.base / name, 0o644)

        _, address = start_session_bus(self.base / "bus.conf", f"unix:path={bus_socket}", activation=True,
                                       timeout=self.timeout, popen=functools.partial(self._spawn, "dbus"))
        if not address:
            raise DesktopError(f"dbus-daemon did not start: {self._dead() or 'no address printed'}")

        # sway: SWAYSOCK set to a path that does not exist yet is the one sway binds
        self._spawn("sway", ["sway", "-c", str(self.base / "sway.conf")],
                    env={"WLR_BACKENDS": "headless", "WLR_RENDERER": "pixman", "LIBSEAT_BACKEND": "noop",
                         "WLR_LIBINPUT_NO_DEVICES": "1", "WLR_HEADLESS_OUTPUTS": "1"})
        _deadline_poll("sway's IPC socket", self._output_ready, self.timeout, self._dead)
        display = _deadline_poll("sway's Wayland socket", self._wayland_socket, self.timeout, self._dead)
        self.env["WAYLAND_DISPLAY"] = display
        # a virtual keyboard held for the desktop's life: without it the seat has no keyboard until
        # each wtype makes one, and a client binds it too late for wtype's first key
        # wtype sleeps with usleep(ms * 1000) in 32 bits: over ~71 min it wraps (a day became ~8 min)
        self._spawn("keyboard", ["wtype", "-s", "4000000"])
        _deadline_poll("the held virtual keyboard", self._keyboard_ready, self.timeout, self._dead)
        # services the bus starts on demand (the permission store) see the desktop too
        self.run(["dbus-update-activation-environment", "WAYLAND_DISPLAY", "XDG_CURRENT_DESKTOP", "SWAYSOCK",
                  "XDG_SESSION_TYPE"])

        self._spawn("pipewire", ["pipewire"])
        _deadline_poll("PipeWire's socket", lambda: (self.runtime / "pipewire-0").exists(), self.timeout, self._dead)
        self._spawn("wireplumber", ["wireplumber"])
        _deadline_poll("WirePlumber", self._wireplumber_ready, self.timeout, self._dead, interval=0.2)

        xdpw_display = display
        if not any(Path("/dev/dri").glob("renderD*")):  # see the module's docstring
            self._proxy = DmabufAnnouncingProxy(self.runtime / "wayland-xdpw", self.runtime / display, self.uid)
            xdpw_display = self._proxy.path.name
        self._spawn("xdpw", [str(LIBEXEC / "xdg-desktop-portal-wlr"), "-l", "DEBUG", "-c", str(self.base / "xdpw.conf")],
                    env={"WAYLAND_DISPLAY": xdpw_display})
        self.wait_names(["org.freedesktop.impl.portal.desktop.wlr"])
        self._spawn("portal", [str(LIBEXEC / "xdg-desktop-portal"), "-v"])
        self.wait_names(["org.freedesktop.portal.Desktop"])

    def wait_names(self, names: Sequence[str], timeout: float | None = None) -> None:
        done = self.python(_WAIT_NAMES, self.env["DBUS_SESSION_BUS_ADDRESS"], str(timeout or self.timeout), *names,
                           check=False, timeout=(timeout or self.timeout) + 30)
        if done.returncode != 0:
            raise DesktopError(f"{', '.join(names)} not on the bus: {done.stderr.strip()[-500:]} {self._dead() or ''}")

    def _output_ready(self) -> bool:
        try:
            outputs = swayipc.ipc_call(self.env["SWAYSOCK"], swayipc.GET_OUTPUTS)
        except (OSError, ConnectionError, ValueError):
            return False
        return any(o.get("name") == OUTPUT and o.get("active") and o["rect"]["width"] == self.width for o in outputs)

    def _keyboard_ready(self) -> bool:
        return any(i.get("type") == "keyboard" for i in self.ipc(GET_INPUTS))

    def _wayland_socket(self) -> str | None:
        names = [p.name for p in self.runtime.iterdir() if re.fullmatch(r"wayland-\d+", p.name) and p.is_socket()]
        return sorted(names)[0] if names else None

    def _wireplumber_ready(self) -> bool:
        # WirePlumber publishes the "default" metadata once its policy runs: streams get linked from then on
        done = self.run(["pw-cli", "ls", "Metadata"], check=False, timeout=30)
        return 'metadata.name = "default"' in done.stdout

    def _ours(self) -> list[int]:
        """Processes that belong to this desktop: any whose environment names our runtime dir
        (the bus's activated services and whatever clients started, however they were reparented)."""
        if self.base is None:
            return []
        marker = f"XDG_RUNTIME_DIR={self.runtime}".encode()
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                if marker in (entry / "environ").read_bytes().split(b"\0"):
                    pids.append(int(entry.name))
            except OSError:
                continue
        return pids

    def stop(self) -> None:
        procs = [*self._clients, *(p for _, p in reversed(self._procs))]
        for proc in procs:
            _terminate_group(proc)
        leftover = self._ours()
        for pid in leftover:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for proc in procs:
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        if self._proxy is not None:
            self._proxy.close()
            self._proxy = None
        self._clients.clear()
        self._procs.clear()
        if self.base is not None:
            shutil.rmtree(self.base, ignore_errors=True)
            self.base = None

    def __enter__(self) -> HeadlessSway:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- driving the desktop ---------------------------------------------------------------------
    def ipc(self, kind: int, payload: str = "") -> Any:
        return swayipc.ipc_call(self.env["SWAYSOCK"], kind, payload)

    def swaymsg(self, command: str) -> None:
        """Run sway commands (e.g. '[app_id="foot"] focus'); raises when one fails."""
        results = self.ipc(swayipc.RUN_COMMAND, command)
        failed = [r.get("error", "failed") for r in results if not r.get("success")]
        if failed:
            raise DesktopError(f"swaymsg {command!r}: {'; '.join(failed)}")

    def tree(self) -> Any:
        return self.ipc(swayipc.GET_TREE)

    def views(self) -> list[Any]:
        return [n for n in swayipc.walk(self.tree()) if swayipc.is_view(n)]

    def wait_window(self, title: str | None = None, app_id: str | None = None, *, focused: bool = False,
                    timeout: float = 30.0) -> Any:
        """The first view whose title matches `title` (a regex) and whose app_id is `app_id`,
        waiting for it to map (and, with `focused`, to have the focus)."""
        def find() -> Any:
            for n in self.views():
                if title is not None and not re.search(title, str(n.get("name") or "")):
                    continue
                if app_id is not None and n.get("app_id") != app_id:
                    continue
                if focused and not n.get("focused"):
                    continue
                return n
            return None

        return _deadline_poll(f"window title={title!r} app_id={app_id!r}", find, timeout)

    def foot(self, title: str, *command: str, background: str = "ffffff", foreground: str = "000000",
             font_size: int = 14) -> tuple[subprocess.Popen[Any], Any]:
        """A foot terminal with a fixed title (`-T`; the shell may not rename it) and colours;
        returns the process and its sway node once mapped and focused."""
        args = ["foot", "-T", title, "-a", "foot", "-o", f"colors.background={background}",
                "-o", f"colors.foreground={foreground}", "-o", f"font=monospace:size={font_size}",
                "-o", "colors.alpha=1.0"]
        proc = self.popen([*args, *(command or ["sh", "-c", "cat"])], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
        return proc, self.wait_window(f"^{re.escape(title)}$", "foot", focused=True)

    def gtk_app(self, program: str = "gtk3-widget-factory") -> tuple[subprocess.Popen[Any], Any]:
        """A real GTK 3 app on Wayland; returns the process and its sway node once mapped."""
        proc = self.popen([program], env={"GDK_BACKEND": "wayland"}, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
        return proc, self.wait_window(app_id=program, timeout=60)

    def owntrace_home(self, passphrase: str) -> tuple[Path, FakeInput, dict[str, str]]:
        """An OwnTrace home of the desktop's user with an identity, input devices as FIFOs
        (tests/support/evdev_feed.py), and the environment `owntrace` runs with there."""
        base = Path(tempfile.mkdtemp(prefix="test-", dir=self.home))  # the desktop outlives one test
        if self.uid is not None:
            os.chown(base, self.uid, self.uid)
        home = base / "owntrace"
        self.run(["mkdir", "-m", "700", str(home)])
        fake = FakeInput(base / "input", owner=self.uid)
        env = {"OWNTRACE_HOME": str(home), "OWNTRACE_PASSPHRASE": passphrase, "XKB_DEFAULT_LAYOUT": "us",
               EVDEV_ROOT_ENV: str(fake.root)}
        self.run([*OWNTRACE, "init"], env=env)
        return home, fake, env

    def wtype(self, text: str) -> None:
        """Type `text` into the focused window through the virtual-keyboard protocol."""
        self.run(["wtype", text])

    def stop_client(self, proc: subprocess.Popen[Any]) -> None:
        _terminate_group(proc)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            pass
        if proc in self._clients:
            self._clients.remove(proc)

    def close_clients(self) -> None:
        """Stop every client started so far, and wait until their windows are gone."""
        for proc in list(self._clients):
            self.stop_client(proc)
        self.wait_for(lambda: not self.views(), "every window to close")

    def wait_for(self, ready: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
        """Poll `ready` until it returns something truthy (then that), failing after `timeout`."""
        return _deadline_poll(what, ready, timeout, self._dead)


def _terminate_group(proc: subprocess.Popen[Any], grace_s: float = 3.0) -> None:
    """SIGTERM the process group the process leads, then SIGKILL what is left of it."""
    if proc.poll() is not None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # anything it left behind in its group
        except (ProcessLookupError, PermissionError):
            pass
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(grace_s)
    except (ProcessLookupError, PermissionError):
        pass
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def dump_json(value: Any) -> str:
    return json.dumps(value, indent=1, sort_keys=True)


def iter_files(*roots: Path) -> Iterator[Path]:
    """Every file (not socket, not directory) under `roots`, for before/after comparisons."""
    for root in roots:
        for dirpath, _dirs, files in os.walk(root):
            for f in files:
                p = Path(dirpath) / f
                try:
                    if not p.is_socket():
                        yield p
                except OSError:
                    continue


class FramesClient(JsonLinesChild):
    """A frame source (tests/support/wayland_frames.py) in a child on the desktop, as its user."""

    def __init__(self, desktop: HeadlessSway, env: Mapping[str, str] | None = None) -> None:
        proc = desktop.popen([sys.executable, "-m", "tests.support.wayland_frames"],
                             env={"PYTHONPATH": str(ROOT), **(env or {})}, cwd=str(ROOT), **PIPES)
        super().__init__("frames", proc, desktop.stop_client)
