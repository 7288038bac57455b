"""Capture backends side by side: `python bench/backend_bench.py [--seconds 30]`.

The same workload on a private Xvfb + openbox (the X11 backend) and on a headless sway with the
screen-cast portal and PipeWire (the Wayland backend), both 1280x800, in one run: a terminal
scrolling a build log, and typing at 7.5 keys/s into a second terminal (xdotool on X11; wtype on
sway, with the same keys written as evdev records into the FIFOs the recorder reads, since these
machines have no input devices). `owntrace record` runs as the desktop's user. Measured:
  - time from launching `owntrace record` to its first stored frame;
  - recorder CPU (% of one core) over the workload, its peak RSS, frames, disk per minute;
    on Wayland the recorder's gst-launch child (PipeWire buffers to raw frames) is counted with
    it, as it works for the recorder alone; the portal, PipeWire and the compositor are not.
Prints a Markdown table; figures on a busy shared machine are noisy.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.record_bench import SCROLLER, dir_bytes, peak_rss_mb
from bench.record_bench import cpu_seconds as one_cpu_seconds
from recorder.capture.recording import STATUS_FILE
from tests.support.cli import OWNTRACE

PASSPHRASE = "bench passphrase"
TYPED = "the quick brown fox jumps over the lazy dog "
KEY_GAP_S = 1 / 7.5


def _children(pid: int) -> list[int]:
    """Child processes started by any thread of `pid` (the gst child comes from the sampler's)."""
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            out += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return out


def cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            total += one_cpu_seconds(pid)
        except OSError:  # a child that has exited since
            continue
    return total


def status(home: Path) -> dict:
    try:
        return json.loads((home / STATUS_FILE).read_text())
    except (OSError, ValueError):
        return {}


def measure(start: Callable[[], subprocess.Popen], home: Path, seconds: float, type_key: Callable[[str], None]) -> dict:
    """Launch the recorder, wait for its first frame, run the typing workload, stop it."""
    t0 = time.monotonic()
    rec = start()
    while status(home).get("frames", 0) < 1:
        if rec.poll() is not None:
            raise RuntimeError(f"the recorder exited: {rec.communicate()[1][-2000:]}")
        if time.monotonic() - t0 > 60:
            raise RuntimeError("no first frame within 60 s")
        time.sleep(0.01)
    first_frame_s = time.monotonic() - t0
    pid = int(status(home)["pid"])
    pids = [pid, *_children(pid)]
    cpu0, w0 = cpu_seconds(pids), time.monotonic()
    end = w0 + seconds
    i = 0
    while time.monotonic() < end:
        type_key(TYPED[i % len(TYPED)])
        i += 1
        time.sleep(KEY_GAP_S)
    cpu1, w1 = cpu_seconds(pids), time.monotonic()
    rss = peak_rss_mb(pid)
    child_rss = max((peak_rss_mb(c) for c in pids[1:]), default=0.0)
    rec.send_signal(signal.SIGINT)
    rec.communicate(timeout=120)
    return {"first_frame_s": first_frame_s, "cpu_pct": 100 * (cpu1 - cpu0) / (w1 - w0), "rss_mb": rss,
            "child_rss_mb": child_rss, "frames": status(home).get("frames", 0) or _frames(home),
            "mb_per_min": dir_bytes(home / "sessions") / 2**20 / ((w1 - t0) / 60), "keys": i}


def _frames(home: Path) -> int:
    metas = sorted((home / "sessions").glob("*/session.json"))
    return int(json.loads(metas[-1].read_text()).get("frames", 0)) if metas else 0


def run_x11(seconds: float, tmp: Path) -> dict:
    from recorder.capture.display import VirtualDisplay

    home = tmp / "x11-home"
    with VirtualDisplay(1280, 800) as vd:
        env = {**vd.env(), "OWNTRACE_HOME": str(home), "OWNTRACE_PASSPHRASE": PASSPHRASE}  # vd.env() drops secrets
        subprocess.run([*OWNTRACE, "init"], env=env, check=True, capture_output=True)
        xterm = ["xterm", "-xrm", "*allowTitleOps: false", "-fa", "DejaVu Sans Mono", "-fs", "11"]
        procs = [subprocess.Popen([*xterm, "-T", "bench log", "-geometry", "80x40+660+20", "-e", "sh", "-c", SCROLLER], env=env),
                 subprocess.Popen([*xterm, "-T", "bench notes", "-geometry", "80x40+20+20"], env=env)]
        try:
            subprocess.run(["xdotool", "search", "--sync", "--name", "^bench notes$", "windowactivate", "--sync"],
                           env=env, check=True, capture_output=True)
            start = lambda: subprocess.Popen([*OWNTRACE, "record", "--name", "bench"], env=env,  # noqa: E731
                                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            key = lambda ch: subprocess.run(["xdotool", "type", "--delay", "0", ch], env=env, check=True)  # noqa: E731
            return measure(start, home, seconds, key)
        finally:
            for p in procs:
                p.kill()
                p.wait()


def run_wayland(seconds: float) -> dict:
    from tests.support.wayland import HeadlessSway

    with HeadlessSway(1280, 800) as desktop:
        home, fake, env = desktop.owntrace_home(PASSPHRASE)
        desktop.foot("bench log", "sh", "-c", SCROLLER)
        desktop.foot("bench notes")
        start = lambda: desktop.popen([*OWNTRACE, "record", "--name", "bench"], env=env,  # noqa: E731
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

        def key(ch: str) -> None:
            fake.type(ch)
            desktop.wtype(ch)

        try:
            return measure(start, home, seconds, key)
        finally:
            fake.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=30.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = {"X11 (Xvfb + openbox)": run_x11(args.seconds, Path(tmp)),
                "Wayland (headless sway, portal + PipeWire)": run_wayland(args.seconds)}
    print(f"\nSame workload for {args.seconds:.0f} s on each, 1280x800, 7.5 keys/s, a scrolling terminal\n")
    print("| backend | record → first frame | recorder CPU | peak RSS (recorder / gst child) | frames | disk per minute |")
    print("|---|---|---|---|---|---|")
    for name, r in rows.items():
        child = f" / {r['child_rss_mb']:.0f} MB" if r["child_rss_mb"] else ""
        print(f"| {name} | {r['first_frame_s']:.2f} s | {r['cpu_pct']:.1f} % | {r['rss_mb']:.0f} MB{child} | "
              f"{r['frames']} | {r['mb_per_min']:.2f} MB |")


if __name__ == "__main__":
    main()
