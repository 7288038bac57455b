"""Recorder benchmark: `python bench/record_bench.py [--seconds 60]`.

On a private 1920x1080 Xvfb + openbox, with a scripted workload (typing 7.5 keys/s into one
xterm, mouse paths ending in clicks, a second xterm scrolling a log), it measures side by side:
  - OwnTrace's recorder: CPU (% of one core), peak RSS, disk per active minute;
  - a naive baseline as the prior art records (every raw event, no move coalescing, a full
    PNG of the whole screen on every change at the same 2 fps cap, sealed the same way);
  - events lost when 500 key/click events per second are injected (both recorders);
  - time from launching `owntrace record` to its first captured key (CLI), and the same for
    the detached recorder `owntrace start` launches (which skips the CLI's imports).
Input is injected with XTest from this process, so the workload itself costs the recorders
nothing. Prints a Markdown table; figures on a busy shared machine are noisy.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

PASSPHRASE = "bench passphrase"
SCROLLER = 'i=0; while :; do i=$((i+1)); echo "build step $i: compiling module_$i.c ... $(date +%T.%N) ok"; sleep 0.05; done'
TYPED = "the quick brown fox jumps over the lazy dog "


# --- the naive baseline recorder (runs as a child process of this script) -------------------
def naive_recorder(out: Path, recipient: str) -> None:
    import mss
    import numpy as np
    import pyrage
    from PIL import Image
    from pynput import keyboard, mouse
    from pyrage import x25519

    rcpt = [x25519.Recipient.from_str(recipient)]
    lock = threading.Lock()
    events: list[str] = []
    stop = threading.Event()
    counters = {"segments": 0, "frames": 0}

    def add(kind: str, **data) -> None:
        with lock:
            events.append(json.dumps({"t": time.monotonic_ns(), "kind": kind, **data}))

    kl = keyboard.Listener(on_press=lambda k: add("key_down", key=str(k)), on_release=lambda k: add("key_up", key=str(k)))
    ml = mouse.Listener(
        on_move=lambda x, y: add("move", x=x, y=y),
        on_click=lambda x, y, b, p: add("click", x=x, y=y, button=b.name, pressed=p),
        on_scroll=lambda x, y, dx, dy: add("scroll", x=x, y=y, dx=dx, dy=dy),
    )
    kl.start()
    ml.start()
    kl.wait()
    ml.wait()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    (out / "ready").write_text("1")

    def flush() -> None:
        with lock:
            data, events[:] = "\n".join(events), []
        if data:
            counters["segments"] += 1
            (out / f"{counters['segments']:06d}.jsonl.age").write_bytes(pyrage.encrypt(data.encode(), rcpt))

    factory = getattr(mss, "MSS", None) or mss.mss
    last = None
    next_flush = time.monotonic() + 1
    with factory() as sct:
        while not stop.wait(0.5):  # the same 2 fps cap as OwnTrace's default
            shot = sct.grab(sct.monitors[0])
            if shot.raw != last:
                last = bytes(shot.raw)
                rgb = np.frombuffer(last, np.uint8).reshape(shot.height, shot.width, 4)[..., 2::-1]
                buf = io.BytesIO()
                Image.fromarray(np.ascontiguousarray(rgb)).save(buf, "PNG")
                counters["frames"] += 1
                (out / f"{counters['frames']:06d}.png.age").write_bytes(pyrage.encrypt(buf.getvalue(), rcpt))
            if time.monotonic() >= next_flush:
                flush()
                next_flush += 1
    flush()


# --- measurement helpers -------------------------------------------------------------------------
def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


class Injector:
    """XTest input from this process: keys into the focused window, mouse paths and clicks."""

    def __init__(self) -> None:
        from Xlib import XK, X, display
        from Xlib.ext import xtest

        self.X, self.xtest = X, xtest
        self.d = display.Display()
        self.codes = {c: self.d.keysym_to_keycode(XK.string_to_keysym("space" if c == " " else c)) for c in set(TYPED + "abcdefghijklmnopqrstuvwxyz")}

    def key(self, ch: str) -> None:
        code = self.codes[ch]
        self.xtest.fake_input(self.d, self.X.KeyPress, code)
        self.xtest.fake_input(self.d, self.X.KeyRelease, code)
        self.d.flush()

    def move(self, x: int, y: int) -> None:
        self.xtest.fake_input(self.d, self.X.MotionNotify, x=x, y=y)
        self.d.flush()

    def click(self, button: int = 1) -> None:
        self.xtest.fake_input(self.d, self.X.ButtonPress, button)
        self.xtest.fake_input(self.d, self.X.ButtonRelease, button)
        self.d.flush()

    def workload(self, seconds: float) -> dict[str, int]:
        """7.5 keys/s typing throughout; in the first second of every three a mouse path (60 Hz)
        that ends in a click, inside the typing xterm."""
        counts = {"keys": 0, "moves": 0, "clicks": 0}
        t0 = time.monotonic()
        tick = 0
        while time.monotonic() - t0 < seconds:
            step = tick % 180  # 3 s of 60 Hz ticks
            if step < 60:
                self.move(100 + step * 8, 120 + int(80 * abs((step % 30) - 15) / 15))
                counts["moves"] += 1
            elif step == 60:
                self.click()
                counts["clicks"] += 1
            if tick % 8 == 0:  # every 8th tick of 60 Hz: 7.5 keys/s
                self.key(TYPED[counts["keys"] % len(TYPED)])
                counts["keys"] += 1
            tick += 1
            time.sleep(max(0.0, t0 + tick / 60 - time.monotonic()))
        return counts

    def burst(self, seconds: float, rate: int = 500) -> int:
        """Key press/release pairs and clicks at `rate` events/s; returns how many were injected."""
        n, t0 = 0, time.monotonic()
        while time.monotonic() - t0 < seconds:
            for j in range(10):  # 10 events per 20 ms tick: 8 key events, 2 button events
                if j < 8:
                    code = self.codes["abcdefghijklmnopqrstuvwxyz"[(n // 2) % 26]]
                    self.xtest.fake_input(self.d, self.X.KeyPress if j % 2 == 0 else self.X.KeyRelease, code)
                else:
                    self.xtest.fake_input(self.d, self.X.ButtonPress if j == 8 else self.X.ButtonRelease, 1)
                n += 1
            self.d.flush()
            next_tick = t0 + n / rate
            time.sleep(max(0.0, next_tick - time.monotonic()))
        return n


def open_workload_windows(env: dict) -> list[subprocess.Popen]:
    """The workload's desktop: an xterm scrolling a build log, and a focused one to type into."""
    xterm = ["xterm", "-xrm", "XTerm*allowTitleOps: false", "-fa", "DejaVu Sans Mono", "-fs", "11"]
    procs = [
        subprocess.Popen(xterm + ["-T", "bench log", "-geometry", "110x55+980+20", "-e", "sh", "-c", SCROLLER], env=env),
        subprocess.Popen(xterm + ["-T", "bench notes", "-geometry", "120x50+20+20"], env=env),
    ]
    time.sleep(2.0)
    subprocess.run(["xdotool", "search", "--sync", "--name", "^bench notes$", "windowactivate", "--sync"], env=env, check=True, capture_output=True)
    return procs


def owntrace_events(home: Path, session_id: str) -> list:
    from recorder import keys
    from recorder.store import session as store

    s = store.resolve(home, session_id)
    return list(s.events(s.key(keys.unlock(home, PASSPHRASE))))


def naive_events(out: Path, identity) -> list[dict]:
    import pyrage

    evs = []
    for seg in sorted(out.glob("*.jsonl.age")):
        evs += [json.loads(line) for line in pyrage.decrypt(seg.read_bytes(), [identity]).decode().splitlines() if line]
    return evs


# --- the runs ----------------------------------------------------------------------------------------
def run_owntrace(home: Path, env: dict, seconds: float, work) -> dict:
    from recorder.capture import control
    from recorder.capture.recording import RecordOptions

    st = control.start(home, RecordOptions(name="bench"))
    time.sleep(1.0)  # let the first keyframe settle before measuring
    cpu0, t0 = cpu_seconds(st.pid), time.monotonic()
    injected = work()
    cpu1, t1 = cpu_seconds(st.pid), time.monotonic()
    rss = peak_rss_mb(st.pid)
    control.stop(home)
    from recorder.store import session as store

    s = store.resolve(home, st.session)
    return {
        "session": st.session,
        "cpu_pct": 100 * (cpu1 - cpu0) / (t1 - t0),
        "rss_mb": rss,
        "bytes": s.size_bytes(),
        "active_s": t1 - t0 + 1.0,
        "frames": s.meta.frames,
        "events": s.meta.events,
        "injected": injected,
    }


def run_naive(env: dict, seconds: float, work, tmp: Path) -> dict:
    from pyrage import x25519

    ident = x25519.Identity.generate()
    out = Path(tempfile.mkdtemp(dir=tmp))
    proc = subprocess.Popen([sys.executable, __file__, "--naive-child", str(out), str(ident.to_public())], env=env)
    while not (out / "ready").exists():
        if proc.poll() is not None:
            raise SystemExit("the naive recorder failed to start")
        time.sleep(0.05)
    time.sleep(1.0)
    cpu0, t0 = cpu_seconds(proc.pid), time.monotonic()
    injected = work()
    cpu1, t1 = cpu_seconds(proc.pid), time.monotonic()
    rss = peak_rss_mb(proc.pid)
    proc.send_signal(signal.SIGTERM)
    proc.wait(60)
    evs = naive_events(out, ident)
    return {
        "cpu_pct": 100 * (cpu1 - cpu0) / (t1 - t0),
        "rss_mb": rss,
        "bytes": dir_bytes(out),
        "active_s": t1 - t0 + 1.0,
        "frames": len(list(out.glob("*.png.age"))),
        "events": len(evs),
        "evs": evs,
        "injected": injected,
    }


def first_event_latency(home: Path, env: dict, inj: Injector, detached: bool) -> float:
    """Seconds from launching the recorder to the first key it captured (keys injected every 20 ms)."""
    from recorder.capture import control
    from recorder.store import session as store

    stop = threading.Event()

    def type_keys() -> None:
        while not stop.is_set():
            inj.key("a")
            time.sleep(0.02)

    launched = time.time()
    if detached:
        threading.Thread(target=type_keys, daemon=True).start()
        from recorder.capture.recording import RecordOptions

        launched = time.time()
        control.start(home, RecordOptions(name="latency"))
    else:
        proc = subprocess.Popen([str(Path(sys.executable).with_name("owntrace")), "record", "--name", "latency"], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        threading.Thread(target=type_keys, daemon=True).start()
    deadline = time.monotonic() + 120
    while control.status(home) is None or control.status(home).events < 4:
        if time.monotonic() > deadline:
            raise SystemExit("the recorder did not capture anything")
        time.sleep(0.05)
    stop.set()
    st = control.status(home)
    control.stop(home)
    if not detached:
        proc.wait(60)
    s = store.resolve(home, st.session)
    import datetime as dt

    start_wall = dt.datetime.fromisoformat(s.meta.started_at.replace("Z", "+00:00")).timestamp()
    first = next(e for e in owntrace_events(home, st.session) if e.kind == "key_down")
    return start_wall + first.t / 1e9 - launched


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0, help="length of the scripted workload")
    ap.add_argument("--burst-seconds", type=float, default=5.0, help="length of the 500 events/s burst")
    ap.add_argument("--naive-child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.naive_child:
        naive_recorder(Path(args.naive_child[0]), args.naive_child[1])
        return

    from recorder import keys
    from recorder.capture.display import VirtualDisplay

    tmp = Path(tempfile.mkdtemp(prefix="owntrace-bench-"))
    home = tmp / "home"
    keys.init_identity(home, passphrase=PASSPHRASE)
    os.environ["OWNTRACE_HOME"] = str(home)
    with VirtualDisplay(1920, 1080) as vd:
        env = vd.env()
        env["OWNTRACE_HOME"] = str(home)
        os.environ.update({"DISPLAY": vd.display, "XDG_SESSION_TYPE": "x11"})
        os.environ.pop("WAYLAND_DISPLAY", None)
        procs = open_workload_windows(env)
        try:
            inj = Injector()
            lat_cli = first_event_latency(home, env, inj, detached=False)
            lat_bg = first_event_latency(home, env, inj, detached=True)
            ours = run_owntrace(home, env, args.seconds, lambda: inj.workload(args.seconds))
            naive = run_naive(env, args.seconds, lambda: inj.workload(args.seconds), tmp)
            burst_ours = run_owntrace(home, env, args.burst_seconds, lambda: inj.burst(args.burst_seconds))
            burst_naive = run_naive(env, args.burst_seconds, lambda: inj.burst(args.burst_seconds), tmp)
            kinds = ("key_down", "key_up", "click")
            ours_seen = sum(e.kind in kinds for e in owntrace_events(home, burst_ours["session"]))
            naive_seen = sum(e["kind"] in kinds for e in burst_naive["evs"])
            results = {"ours": ours, "naive": naive}
        finally:
            for p in procs:
                p.terminate()
            shutil.rmtree(tmp, ignore_errors=True)  # sealed sessions and the bench identity
    per_min = {k: r["bytes"] / (r["active_s"] / 60) / 2**20 for k, r in results.items()}
    print(f"workload: {args.seconds:.0f} s, {ours['injected']}; burst: {burst_ours['injected']} events in {args.burst_seconds:.0f} s\n")
    print("| measure (1920x1080 Xvfb) | OwnTrace | naive baseline | target |")
    print("|---|---|---|---|")
    print(f"| recorder CPU, % of one core | {ours['cpu_pct']:.1f} | {naive['cpu_pct']:.1f} | ≤ 10 |")
    print(f"| peak RSS, MB | {ours['rss_mb']:.0f} | {naive['rss_mb']:.0f} | ≤ 150 |")
    print(f"| disk per active minute, MB | {per_min['ours']:.2f} | {per_min['naive']:.2f} | ≤ 2 |")
    print(f"| events stored / frames stored | {ours['events']} / {ours['frames']} | {naive['events']} / {naive['frames']} | |")
    print(f"| key+click events lost at 500/s | {burst_ours['injected'] - ours_seen} of {burst_ours['injected']} | {burst_naive['injected'] - naive_seen} of {burst_naive['injected']} | 0 |")
    print(f"| launch to first captured key, s | `owntrace record`: {lat_cli:.2f}; `owntrace start` recorder: {lat_bg:.2f} | | ≤ 1 |")


if __name__ == "__main__":
    main()
