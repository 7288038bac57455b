"""Hostile inputs (issue 14): what the bounded parsers cost next to the unbounded baseline.

    python bench/hostile_inputs_bench.py            # about 2 minutes on 2 loaded cores

1. Oversized age headers: OwnTrace's bounded refusal (limits.age_binary), the stock `age` CLI,
   and pyrage.decrypt on the raw bytes (what 0.1 did), each in its own process; the baseline is
   stopped after --cap seconds.
   (The bounded check runs in this process; the other two are processes, as a user runs them.)
2. A 0.7 MB zip whose member inflates to 700 MB: peak memory (VmHWM) of verify_bundle, and of
   reading every member with zipfile (what 0.1 did).
3. The price on good input: limits.loads (UTF-8 and a depth check first) against json.loads on
   the lines of a 20000-step steps.jsonl.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from recorder import limits  # noqa: E402

HEADERS = {
    "one 100 KB stanza line": b"age-encryption.org/v1\n-> X25519 " + b"A" * 100_000 + b"\n--- xx\n",
    "one 400 KB stanza line": b"age-encryption.org/v1\n-> X25519 " + b"A" * 400_000 + b"\n--- xx\n",
    "2000 stanzas": b"age-encryption.org/v1\n" + b"-> X25519 AAAA\nAAAA\n" * 2000 + b"--- xx\n",
    "a 10 MB stanza body": b"age-encryption.org/v1\n-> X25519 AAAA\n" + (b"B" * 64 + b"\n") * 160000 + b"C\n--- xx\n",
}
PEAK = "print([int(l.split()[1]) // 1024 for l in open('/proc/self/status') if l.startswith('VmHWM')][0])"


def timed(argv: list[str], cap: float) -> str:
    t0 = time.perf_counter()
    try:
        subprocess.run(argv, capture_output=True, timeout=cap)
    except subprocess.TimeoutExpired:
        return f"> {cap:.0f} s (stopped)"
    return f"{time.perf_counter() - t0:.2f} s"


def age_headers(tmp: Path, cap: float) -> None:
    key = tmp / "rcpt.key"
    subprocess.run(["age-keygen", "-o", str(key)], check=True, capture_output=True)
    start = timed([sys.executable, "-c", "import pyrage"], cap)
    print("| header | OwnTrace's bounded check (in process) | stock age | pyrage.decrypt on the raw bytes (0.1) |")
    print("|---|---|---|---|")
    for name, data in HEADERS.items():
        f = tmp / "h.age"
        f.write_bytes(data)
        t0 = time.perf_counter()
        try:
            limits.age_binary(data, "h")
        except limits.MalformedInput:
            pass
        ours = f"{(time.perf_counter() - t0) * 1e3:.2f} ms (refused)"
        stock = timed(["age", "-d", "-i", str(key), str(f)], cap)
        raw = timed([sys.executable, "-c", "import pyrage\nfrom pyrage import x25519\ntry:\n"
                     f"    pyrage.decrypt(open({str(f)!r}, 'rb').read(), [x25519.Identity.generate()])\n"
                     "except pyrage.DecryptError:\n    pass"], cap)
        print(f"| {name} | {ours} | {stock} | {raw} |")
    print(f"\n(the pyrage column includes starting Python and importing pyrage: {start})")


def zip_bomb(tmp: Path) -> None:
    bomb = tmp / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("manifest.json", json.dumps({"format": "owntrace-bundle/1", "files": [
            {"path": "steps.jsonl", "size": 10, "sha256": "0" * 64}]}))
        z.writestr("manifest.sig", b"AAAA\n")
        with z.open("steps.jsonl", "w", force_zip64=True) as f:
            for _ in range(700):
                f.write(bytes(1 << 20))
    ours = subprocess.run([sys.executable, "-c", f"from recorder.export.verify import verify_bundle\n"
                           f"verify_bundle({str(bomb)!r})\n{PEAK}"], capture_output=True, text=True, check=True)
    naive = subprocess.run([sys.executable, "-c", f"import zipfile\nz = zipfile.ZipFile({str(bomb)!r})\n"
                            f"files = {{i.filename: z.read(i) for i in z.infolist()}}\n{PEAK}"],
                           capture_output=True, text=True, check=True)
    print(f"\n| 0.7 MB zip, 700 MB member ({bomb.stat().st_size / 1e6:.2f} MB on disk) | peak RSS |\n|---|---|")
    print(f"| verify_bundle (reads what the manifest declares, +1 byte) | {ours.stdout.split()[-1]} MB |")
    print(f"| every member read with zipfile (0.1) | {naive.stdout.split()[-1]} MB |")


def json_overhead() -> None:
    step = {"step_index": 0, "t_start": 1.25, "t_end": 1.5, "wall_time": "2026-11-22T10:00:01.250Z",
            "action": {"type": "click", "x_px": 640, "y_px": 400, "x_norm": 0.5, "y_norm": 0.5, "button": "left"},
            "window": {"app": "XTerm", "title": "bash"}, "screenshot": {"path": "frames/000001.png",
                                                                       "sha256": "0" * 64, "w": 1280, "h": 800},
            "redactions": [{"entity": "EMAIL_ADDRESS", "bbox": [1, 2, 3, 4]}]}
    lines = [json.dumps({**step, "step_index": i}).encode() for i in range(20000)]
    best = {}
    for name, fn in (("json.loads", json.loads), ("limits.loads", limits.loads)):
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            for ln in lines:
                fn(ln)
            times.append(time.perf_counter() - t0)
        best[name] = min(times)
    print("\n| 20000 steps.jsonl lines | best of 5 |\n|---|---|")
    for name, t in best.items():
        print(f"| {name} | {t * 1000:.0f} ms |")
    print(f"| overhead | {100 * (best['limits.loads'] / best['json.loads'] - 1):.0f} % |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cap", type=float, default=20.0, help="stop each baseline run after this many seconds")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="owntrace-hostile-") as tmp:
        age_headers(Path(tmp), args.cap)
        zip_bomb(Path(tmp))
    json_overhead()


if __name__ == "__main__":
    main()
