"""The Recording lifecycle: one recorder at a time, capture threads wired to the sealed store,
a content-free status file, and signals for stop / pause / resume.

Pipeline for input: the platform backend's input source (recorder/capture/backend.py: pynput on
X11, evdev on Wayland) -> the capture gate (recorder/capture/gate.py: pause hotkey, pause,
excluded windows under focus or pointer, capture policy), fed with what the backend's window
source reports -> move coalescing / frame-before-action -> SessionWriter. One lock orders everything
that is journaled, so a frame event always lands just before the action it shows.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from recorder import config as config_mod
from recorder.atomic import write_atomic
from recorder.capture import screen
from recorder.capture.backend import CaptureBackend, InputSource, WindowSource, choose, open_backend
from recorder.capture.coalesce import MoveCoalescer
from recorder.capture.exclusion import ExclusionRules
from recorder.capture.gate import POINTER_KINDS, CaptureGate, Verdict
from recorder.capture.hotkey import Hotkey
from recorder.capture.notify import Presence
from recorder.capture.policy import CapturePolicy
from recorder.errors import OwnTraceError
from recorder.store.records import Event, SessionMeta, State
from recorder.store.retention import Retention, run_retention
from recorder.store.session import SessionWriter

LOCK_FILE = "recorder.lock"
STATUS_FILE = "recorder.status.json"
LOG_FILE = "recorder.log"  # stderr of a detached recorder: status lines and errors only
TIMER_S = 0.25  # journal sealing, window polling, status file, --duration
DRAIN_QUIET_S, DRAIN_MAX_S = 0.3, 5.0  # at stop, input already sent by the X server is still taken in
SIGNAL_PAUSE, SIGNAL_RESUME = signal.SIGUSR1, signal.SIGUSR2


@dataclass
class Status:
    """recorder.status.json: what `owntrace status` shows. No recorded content."""

    pid: int
    session: str
    state: str  # recording | paused | stopping
    started_at: str
    elapsed_s: float = 0.0
    events: int = 0
    frames: int = 0

    def line(self) -> str:
        label = {"recording": "REC", "paused": "PAUSED"}.get(self.state, self.state.upper())
        m, s = divmod(int(self.elapsed_s), 60)
        return f"{label:<6} {m:02d}:{s:02d}  events {self.events}  frames {self.frames}  session {self.session}"


def read_status(root: Path) -> Status | None:
    try:
        return Status(**json.loads((root / STATUS_FILE).read_text()))
    except (OSError, ValueError, TypeError):
        return None


def already_running() -> OwnTraceError:
    return OwnTraceError("a recorder is already running", "see `owntrace status`; stop it with `owntrace stop`")


class RecorderLock:
    """An exclusive flock on OWNTRACE_HOME/recorder.lock; the kernel drops it if the process dies."""

    def __init__(self, root: Path) -> None:
        self.path = root / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise already_running() from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    @staticmethod
    def held(root: Path) -> bool:
        try:
            fd = os.open(root / LOCK_FILE, os.O_RDONLY)
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            return False
        except BlockingIOError:
            return True
        finally:
            os.close(fd)


@dataclass
class RecordOptions:
    name: str = ""
    task: str = ""
    study: str | None = None
    duration_s: float | None = None
    policy: CapturePolicy | None = None  # None: everything the user's rules allow; with `study`, its policy
    backend: str | None = None  # "x11" | "wayland"; None: the session's own
    window: bool = False  # record one window the person picks, nothing else (Wayland)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> RecordOptions:
        obj: dict[str, Any] = json.loads(text)
        policy: dict[str, Any] | None = obj.pop("policy")
        if policy is None:
            return cls(**obj)
        fields: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in policy.items()}  # JSON has no tuples
        return cls(**obj, policy=CapturePolicy(**fields))


def _limit_malloc_arenas() -> None:
    """glibc gives each capture thread its own malloc arena, which keeps freed frame buffers
    resident (~40 MB more peak RSS in bench/record_bench.py); two arenas are plenty."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").mallopt(-8, 2)  # M_ARENA_MAX
    except (OSError, AttributeError):
        pass  # not glibc


class Recording:
    def __init__(
        self,
        root: Path,
        options: RecordOptions | None = None,
        on_status: Callable[[Status], None] | None = None,
        on_notice: Callable[[str], None] | None = None,
    ) -> None:
        self.root = root
        self.options = options or RecordOptions()
        self.on_status = on_status
        self.on_notice = on_notice or (lambda text: print(f"note: {text}", file=sys.stderr))
        self.writer: SessionWriter | None = None
        self.error: OwnTraceError | None = None
        self.retention: Retention | None = None  # sessions past `[retention] days`, deleted at start
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._gate: CaptureGate | None = None  # both set for the whole of run()
        self._input_closed = False
        self.last_input = 0.0  # monotonic time of the last input event seen
        self._requests: list[str] = []  # from signal handlers, applied by the main loop
        self._coalescer = MoveCoalescer()
        self._excluded_rects: list[tuple[int, int, int, int]] = []  # excluded windows, refreshed often
        self._threads: list[threading.Thread] = []
        self._input: InputSource | None = None
        self._presence: Presence | None = None  # the desktop notification and tray icon
        self.notices: list[str] = []  # one-line facts the person should know at start (screen-only, no frames)

    # --- lifecycle -------------------------------------------------------------------------
    def run(self) -> SessionMeta:
        """Record until stopped (stop(), SIGINT/SIGTERM, --duration, or an error); returns the
        session's metadata. Raises OwnTraceError after cleaning up if recording failed."""
        kind = choose(self.options.backend)
        if self.options.study and self.options.policy is None:
            raise OwnTraceError(f"recording for study {self.options.study} needs the study's capture policy",
                                "build the options with recorder.study.record_options, which resolves it")
        cfg = config_mod.load(self.root)
        self.policy = self.options.policy or CapturePolicy()
        rules = ExclusionRules.build(cfg, self.policy)
        self._gate = CaptureGate(rules, Hotkey.parse(cfg.pause_hotkey))
        lock = RecorderLock(self.root)
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        lock.acquire()
        try:
            # under the lock: no other recorder is writing a session this could delete
            self.retention = run_retention(self.root, cfg.retention_days)
            self.backend = open_backend(kind, window=self.options.window, home=self.root)
            try:
                return self._run_locked(cfg, rules)
            finally:
                self.backend.close()
        finally:
            try:
                (self.root / STATUS_FILE).unlink()
            except FileNotFoundError:
                pass
            lock.release()

    def _run_locked(self, cfg: config_mod.Config, rules: ExclusionRules) -> SessionMeta:
        backend: CaptureBackend = self.backend
        _limit_malloc_arenas()
        self._watcher: WindowSource = backend.windows(rules)
        with_frames = self.policy.screenshots and self._frames_allowed()
        try:
            screens = backend.screens(with_frames)
            o = self.options
            self.writer = SessionWriter.create(self.root, name=o.name, task=o.task, screens=screens, study=o.study)
        except OwnTraceError:
            self._watcher.close()
            raise
        self._sampler = None
        if with_frames:
            self._sampler = screen.ScreenSampler(
                self.writer, backend.frames, self._emit, self._refresh_excluded_rects, self._fail,
                max_fps=cfg.max_fps, keyframe_s=cfg.keyframe_s,
            )
        self._input = backend.input(self._on_input, self.writer.now)
        if self._input is None:
            self.notices.append("no access to keyboard and mouse here: this is a screen-only recording "
                                "(`owntrace doctor` says how to allow input)")
        for notice in self.notices:
            self.on_notice(notice)
        old_handlers = self._install_signals()
        try:
            self._check_window()
            self._refresh_excluded_rects()
            if self._input:
                self._input.start()  # input first: the first keys need no frame to be recorded
            if self._sampler:
                self._sampler.start()
            for notice in self.backend.notices:
                self.on_notice(notice)
            self._write_status()
            self._show_presence()
            timer = threading.Thread(target=self._timer_loop, name="owntrace-timer", daemon=True)
            timer.start()
            self._threads.append(timer)
            self._main_loop()
        finally:
            self._shutdown()
            self._restore_signals(old_handlers)
        if self.error:
            raise OwnTraceError(f"recording stopped: {self.error.message} (session {self.writer.meta.id})", self.error.hint)
        return self.writer.meta

    def _main_loop(self) -> None:
        while not self._stop.wait(0.2):
            while self._requests:
                request = self._requests.pop(0)
                if request == "stop":
                    self._stop.set()
                elif request == "pause":
                    self.pause()
                elif request == "resume":
                    self.resume()
                self._write_status()
            d = self.options.duration_s
            if d is not None and self._session.now() >= d * 1e9:
                self._stop.set()
            if self.on_status:
                self.on_status(self.status())

    def _shutdown(self) -> None:
        self._stop.set()
        deadline = time.monotonic() + DRAIN_MAX_S
        while not self.error and time.monotonic() < deadline and time.monotonic() - self.last_input < DRAIN_QUIET_S:
            time.sleep(0.05)
        with self._lock:
            self._input_closed = True
        if self._input:
            self._input.stop()
        if self._sampler:
            self._sampler.stop()
        for t in self._threads:
            t.join(5)
        with self._lock:
            if not self.error:
                self._append_moves(self._coalescer.flush())
            try:
                self._session.close(State.RECORDED if not self.error else State.INTERRUPTED)
            except OwnTraceError as e:
                self.error = self.error or e
        if self._presence:
            m = self._session.meta
            self._presence.state("stopped", f"{m.events} events, {m.frames} frames, session {m.id}")
            self._presence.close()
        self._watcher.close()

    def stop(self) -> None:
        self._stop.set()

    def pause(self) -> None:
        with self._lock:
            self._set_paused(True)

    def resume(self) -> None:
        with self._lock:
            self._set_paused(False)

    def status(self) -> Status:
        w = self.writer
        state = "stopping" if self._stop.is_set() else ("paused" if self._paused() else "recording")
        return Status(
            pid=os.getpid(),
            session=w.meta.id if w else "",
            state=state,
            started_at=w.meta.started_at if w else "",
            elapsed_s=round(w.now() / 1e9, 1) if w else 0.0,
            events=w.meta.events if w else 0,
            frames=w.meta.frames if w else 0,
        )

    def _show_presence(self) -> None:
        """Recording is never invisible: a notification and a tray icon (where the desktop has
        them) show the state, with pause and stop; the tray's clicks queue requests as signals do."""
        self._presence = Presence(lambda: self._requests.append("pause"), lambda: self._requests.append("resume"),
                                  lambda: self._requests.append("stop"), say=self.on_notice)
        self._presence.start()
        self._presence.state("recording", f"session {self._session.meta.id}")

    def _write_status(self) -> None:
        write_atomic(self.root / STATUS_FILE, json.dumps(asdict(self.status())).encode())

    def _install_signals(self) -> dict:
        if threading.current_thread() is not threading.main_thread():
            return {}
        wanted = {signal.SIGINT: "stop", signal.SIGTERM: "stop", SIGNAL_PAUSE: "pause", SIGNAL_RESUME: "resume"}
        return {sig: signal.signal(sig, lambda *_a, r=req: self._requests.append(r)) for sig, req in wanted.items()}

    @staticmethod
    def _restore_signals(old: dict) -> None:
        for sig, handler in old.items():
            signal.signal(sig, handler)

    def _fail(self, e: BaseException) -> None:
        """A capture thread failed (disk full, X server gone): stop, keeping what is sealed."""
        if not isinstance(e, OwnTraceError):
            what = self.backend.lost(e) or f"capture failed: {type(e).__name__}: {e}"
            e = OwnTraceError(what, "what was recorded so far is sealed and readable")
        self.error = self.error or e
        self._stop.set()

    def _timer_loop(self) -> None:
        last_status = 0.0
        while not self._stop.wait(TIMER_S):
            try:
                self._session.tick()
                if self._input and not self._input.alive():
                    raise OwnTraceError("keyboard and mouse capture stopped (the display server went away?)",
                                        "what was recorded so far is sealed and readable")
                with self._lock:
                    if not self._paused():
                        self._check_window()
                        if not self._sampler:  # else the sampler refreshes them for its blackout
                            self._refresh_excluded_rects()
                now = time.monotonic()
                if now - last_status >= 1.0:
                    last_status = now
                    self._session.save_meta()
                    self._write_status()
            except Exception as e:  # noqa: BLE001 - any failure ends the recording cleanly
                self._fail(e)

    # --- the journal -------------------------------------------------------------------------
    def _emit(self, event: Event) -> None:
        """Frame events from the screen sampler."""
        with self._lock:
            if not self._paused() and not self._stop.is_set():
                self._append(event)

    def _append(self, event: Event) -> None:
        self._session.append(event)

    def _append_moves(self, points: list[tuple[int, int, int]]) -> None:
        for t, x, y in points:
            self._append(Event(t, "move", {"x": x, "y": y}))

    @property
    def _session(self) -> SessionWriter:
        assert self.writer is not None, "only while run() records"
        return self.writer

    @property
    def _rules(self) -> CaptureGate:
        assert self._gate is not None, "only while run() records"
        return self._gate

    def _paused(self) -> bool:
        return self._gate is not None and self._gate.paused

    def _set_paused(self, paused: bool) -> None:
        if paused == self._paused() or self._stop.is_set():
            return
        if paused:
            self._append_moves(self._coalescer.flush())
            self._append(Event(self._session.now(), "pause"))
            if self._sampler:
                self._sampler.pause()
        else:
            self._append(Event(self._session.now(), "resume"))
            if self._sampler:
                self._sampler.resume()
        self._rules.set_paused(paused)
        if not paused:
            self._check_window()
        if self._presence:  # the hotkey, a signal and the tray all pass through here
            self._presence.state("paused" if paused else "recording")

    def _check_window(self, geometry: bool = True) -> None:
        """Journal what the gate makes of the focused window (a change of focus, title or geometry)."""
        events = self._rules.focus(self._session.now(), self._watcher.active(geometry))
        if events:
            self._append_moves(self._coalescer.flush())  # the moves before it come first in the journal
        for e in events:
            self._append(e)

    def _frames_allowed(self) -> bool:
        """Fail closed: where the platform cannot say which app has the focus, exclusion rules
        (the built-in ones for password managers included) and a study's allowed apps cannot be
        applied to the screen, so no frame is taken, unless only one chosen window is recorded."""
        if self._watcher.known() or self.options.window:
            return True
        self.notices.append("no frames: this desktop does not say which app has the focus, so exclusion rules cannot "
                            "be applied to the screen; record one window with `owntrace record --window`")
        return False

    def _refresh_excluded_rects(self) -> list[tuple[int, int, int, int]]:
        self._excluded_rects = self._watcher.excluded_rects()
        return self._excluded_rects

    def _frame_before(self, t: int) -> None:
        if self._sampler:
            frame = self._sampler.frame_for_action(t)
            if frame is not None:
                self._append(frame)

    def _on_input(self, event: Event) -> None:
        """Called on pynput's threads for every raw input event."""
        try:
            self.last_input = time.monotonic()
            with self._lock:
                if self._input_closed:
                    return
                passed, toggled = self._rules.hotkey(event)
                for e in passed:
                    self._record(e)
                if toggled:
                    self._set_paused(not self._rules.paused)
        except Exception as e:  # noqa: BLE001 - never let a listener thread die silently
            self._fail(e)

    def _record(self, e: Event) -> None:
        """Ask the X server what the gate needs to know about `e`, and journal what it decides."""
        gate = self._rules
        if gate.paused:
            return  # nothing to ask the X server: paused time records nothing
        rects: list[tuple[int, int, int, int]] = []
        if e.kind in POINTER_KINDS:
            rects = self._refresh_excluded_rects() if gate.needs_fresh_rects(e) else self._excluded_rects
        elif e.kind == "key_down":
            self._check_window(geometry=False)
        decision = gate.decide(e, rects)
        if decision.verdict is Verdict.DROP or decision.event is None:
            return
        out = decision.event
        if out.kind == "move":
            self._append_moves(self._coalescer.add(out.t, out.data["x"], out.data["y"]))
            return
        self._append_moves(self._coalescer.flush())  # the path ends where the action happens
        if decision.frame_before:
            self._frame_before(out.t)
        self._append(out)
