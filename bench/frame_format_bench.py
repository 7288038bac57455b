"""Frame format benchmark: `python bench/frame_format_bench.py [--seconds 30]`.

On a private 1920x1080 Xvfb + openbox with the workload of bench/record_bench.py (typing into
one xterm, mouse paths, a second xterm scrolling a build log), it grabs the real screen every
0.5 s and stores it the way the recorder does (a keyframe every 10 s, delta frames of the
changed 32x32 tiles in between), encoding every frame in each candidate format side by side:
PNG as the recorder wrote it before (grey / palette / RGB, zlib level 6) and lossless WebP at
several effort settings. Every encoded frame is decoded and composed back and must equal the
grab exactly. Prints bytes and encoder CPU per frame (one thread, process time), and the memory
one keyframe's encoding takes on top (peak RSS growth in a fresh process), in memory only.
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import threading
import time

import numpy as np
from PIL import Image
from record_bench import Injector, open_workload_windows  # bench/ is on sys.path when run as a script

KEYFRAME_EVERY = 20  # grabs: 10 s at 2 grabs/s, as the recorder's keyframe_s default
# (format, WebP effort (method, quality)); see frames.py
CANDIDATES = [("png", None), ("webp", (0, 0)), ("webp", (0, 50)), ("webp", (1, 30)), ("webp", (2, 30)), ("webp", (4, 50))]



def encode(frames, item, fmt: str, effort) -> bytes:
    if effort is not None:
        frames.WEBP_EFFORT = effort
    return frames.encode_delta(item, fmt) if isinstance(item, frames.Delta) else frames.encode_full(item, fmt)


def decoded(frames, data: bytes, key_rgb: Image.Image | None) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        im.load()
        picture = frames.compose(key_rgb, im) if frames.delta_base(im) is not None else im.convert("RGB")
    return np.asarray(picture)


def encode_memory_mb(screen: np.ndarray, candidate) -> float:
    """Peak RSS growth while a fresh process encodes `screen` (given on stdin) as a keyframe."""
    h, w = screen.shape
    out = subprocess.run([sys.executable, __file__, "--peak-child", str(h), str(w), candidate[0], *map(str, candidate[1] or ())],
                         input=screen.tobytes(), capture_output=True, check=True)
    return float(out.stdout)


def peak_child(h: int, w: int, fmt: str, effort: list[str]) -> None:
    from recorder.store import frames

    def status_kb(field: str) -> int:
        line = next(ln for ln in open("/proc/self/status") if ln.startswith(field + ":"))
        return int(line.split()[1])

    screen = np.frombuffer(sys.stdin.buffer.read(), np.uint32).reshape(h, w)
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets the peak (VmHWM) to what is resident now
    before = status_kb("VmRSS")
    encode(frames, screen, fmt, tuple(map(int, effort)) or None)
    print((status_kb("VmHWM") - before) / 1024)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=30.0, help="how long to grab the screen")
    ap.add_argument("--peak-child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.peak_child:
        h, w, fmt, *effort = args.peak_child
        peak_child(int(h), int(w), fmt, effort)
        return

    from recorder.capture.display import VirtualDisplay
    from recorder.capture.screen import FULL_DELTA_SHARE
    from recorder.capture.x11.frames import open_mss
    from recorder.store import frames

    totals = {c: {"full": [0, 0.0, 0], "delta": [0, 0.0, 0]} for c in CANDIDATES}  # bytes, cpu s, count
    with VirtualDisplay(1920, 1080) as vd:
        env = vd.env()
        os.environ.update({"DISPLAY": vd.display, "XDG_SESSION_TYPE": "x11"})
        procs = open_workload_windows(env)
        try:
            inj = Injector()
            work = threading.Thread(target=inj.workload, args=(args.seconds,), daemon=True)
            work.start()
            key = key_rgb = None
            key_n = grabs = 0
            with open_mss() as sct:
                t0 = time.monotonic()
                while time.monotonic() - t0 < args.seconds:
                    next_grab = t0 + (grabs + 1) * 0.5
                    shot = sct.grab(sct.monitors[0])
                    cur = np.frombuffer(shot.raw, np.uint32).reshape(shot.height, shot.width).copy()
                    item = cur
                    if key is not None and grabs % KEYFRAME_EVERY:
                        tiles = frames.changed_tiles(cur, key)
                        if 0 < tiles.sum() <= FULL_DELTA_SHARE * tiles.size:
                            item = frames.make_delta(cur, key, key_n, tiles)
                        elif not tiles.any():
                            item = None  # identical to the keyframe: a reference, no file
                    if item is not None:
                        kind = "delta" if isinstance(item, frames.Delta) else "full"
                        for c in CANDIDATES:
                            c0 = time.process_time()
                            data = encode(frames, item, *c)
                            spent = time.process_time() - c0
                            if not np.array_equal(decoded(frames, data, key_rgb), frames.to_rgb(cur)):
                                raise SystemExit(f"{c}: frame {grabs} does not decode to the grab exactly")
                            t = totals[c][kind]
                            t[0], t[1], t[2] = t[0] + len(data), t[1] + spent, t[2] + 1
                        if kind == "full" and key is None:
                            memory = {c: encode_memory_mb(cur, c) for c in CANDIDATES}
                        if kind == "full":
                            key, key_n, key_rgb = cur, grabs + 1, Image.fromarray(np.ascontiguousarray(frames.to_rgb(cur)))
                    grabs += 1
                    time.sleep(max(0.0, next_grab - time.monotonic()))
            work.join()
        finally:
            for p in procs:
                p.terminate()
    full_n, delta_n = totals[CANDIDATES[0]]["full"][2], totals[CANDIDATES[0]]["delta"][2]
    print(f"{grabs} grabs in {args.seconds:.0f} s: {full_n} keyframes, {delta_n} delta frames, every one decoded back exactly\n")
    print("| format | keyframe KB | delta KB | all frames KB | encode ms / keyframe | encode ms / delta | encode memory / keyframe, MB |")
    print("|---|---|---|---|---|---|---|")
    for c, t in totals.items():
        name = "PNG level 6 (grey/palette/RGB)" if c[0] == "png" else "WebP lossless method {} quality {}".format(*c[1])
        (fb, fs, fn), (db, ds, dn) = t["full"], t["delta"]
        print(f"| {name} | {fb / max(fn, 1) / 1024:.0f} | {db / max(dn, 1) / 1024:.1f} | {(fb + db) / 1024:.0f} | "
              f"{1000 * fs / max(fn, 1):.0f} | {1000 * ds / max(dn, 1):.1f} | {memory[c]:.0f} |")


if __name__ == "__main__":
    main()
