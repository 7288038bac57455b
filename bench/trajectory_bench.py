"""What an AgentNet or OSWorld export costs next to the plain bundle, in the same run.

    python bench/trajectory_bench.py                 # a 30-minute session: 1800 steps, 900 frames
    python bench/trajectory_bench.py --minutes 5     # quicker

The session is export_bench.py's synthetic one (no OCR). Measured:
  export dir                 export_session, OwnTrace's own bundle (the baseline)
  export agentnet / osworld  the same plus the converted file (the only difference)
  convert alone              recorder.export.trajectories.converted_files on the bundle's steps.jsonl and
                             episode.json, next to json-parsing steps.jsonl once (the floor)
  bundle growth              bytes the converted file adds (frames are referenced, not copied)
Each export is run --repeat times, the formats interleaved, and the fastest is shown. Wall times on a shared 2-core
machine: compare the rows of one run, not runs.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.export_bench import build_session, dir_bytes  # noqa: E402
from recorder import keys
from recorder.export.bundle import export_session  # noqa: E402
from recorder.export.trajectories import FORMATS, converted_files  # noqa: E402
from recorder.redact.view import RedactedView  # noqa: E402
from recorder.review import approval  # noqa: E402


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def run(work: Path, minutes: float, repeat: int) -> None:
    home = work / "home"
    keys.init_identity(home, passphrase="bench")
    user = keys.unlock(home, "bench")
    session = build_session(home, minutes)
    approval.approve(RedactedView(session, user))
    fmts: list[str | None] = [None, *FORMATS]
    times: dict[str | None, list[float]] = {f: [] for f in fmts}
    for k in range(repeat):  # interleaved, so load changes hit every format alike
        for fmt in fmts:
            out = work / f"{fmt or 'dir'}-{k}"
            t0 = time.perf_counter()
            export_session(home, session, user, out, trajectory=fmt)
            times[fmt].append(time.perf_counter() - t0)
            if k or fmt:  # keep one plain bundle to measure, not the disk
                shutil.rmtree(out)
    rows = [(f"export {fmt or 'dir (baseline)'}", min(times[fmt])) for fmt in fmts]
    base = work / "dir-0"
    steps, episode = (base / "steps.jsonl").read_bytes(), (base / "episode.json").read_bytes()
    n_steps = len(steps.splitlines())
    parse = best(lambda: [json.loads(line) for line in steps.splitlines()], repeat)
    print(f"session: {minutes:g} min, {n_steps} steps, bundle {dir_bytes(base) / 1e6:.1f} MB")
    for name, dt in rows:
        print(f"{name:<32} {dt:7.2f} s")
    print(f"{'parse steps.jsonl (floor)':<32} {parse * 1e3:7.1f} ms")
    for fmt in FORMATS:
        conv = best(lambda f=fmt: converted_files(f, steps, episode), repeat)
        added = sum(len(d) for d in converted_files(fmt, steps, episode).values())
        print(f"{'convert alone: ' + fmt:<32} {conv * 1e3:7.1f} ms = {n_steps / conv:9.0f} steps/s; "
              f"adds {added / 1e3:.0f} KB ({100 * added / dir_bytes(base):.2f} % of the bundle)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="owntrace-bench-") as work:
        run(Path(work), args.minutes, args.repeat)


if __name__ == "__main__":
    main()
