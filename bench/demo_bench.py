"""What `owntrace demo --export` spends where, and what recording costs next to not recording.

    python bench/demo_bench.py             # 2 runs of each task variant
    python bench/demo_bench.py --runs 3

The scripted demo task (real Chromium and xterm on a private Xvfb, input injected with
xdotool) is run alternately without a recorder (the baseline) and while recording, each time
in freshly opened apps. For each: the task's wall time and this process's CPU time (with a
recorder, that is the recorder: input listeners, window watcher, screen sampler, sealing).
Then, for the last recorded session: redaction (OCR of every frame, typed text, titles),
approve + export + verify, and creating + unlocking the identity (scrypt). Wall times on a
shared 2-core machine: compare rows of one run, not runs.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from recorder import keys  # noqa: E402
from recorder.demo import flow  # noqa: E402
from recorder.demo.persona import DEMO_PASSPHRASE, DEMO_TASK  # noqa: E402
from recorder.redact.session import redact_session  # noqa: E402
from recorder.store.session import list_sessions  # noqa: E402


def cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def quiet(_msg: str) -> None:
    pass


def task(root: Path, record: bool) -> dict:
    with flow.stage(quiet) as st:
        time.sleep(1.0)  # let both apps settle, as the demo's recorder start-up does
        t0, c0 = time.monotonic(), cpu_s()
        if record:
            with flow.recording(root, DEMO_TASK) as rec:
                t0, c0 = time.monotonic(), cpu_s()  # from capture being live
                st.perform()
            wall, cpu = time.monotonic() - t0, cpu_s() - c0
            session = flow.session_of(rec)
            size = sum(p.stat().st_size for p in session.path.rglob("*") if p.is_file())
            return {"wall": wall, "cpu": cpu, "events": session.meta.events, "frames": session.meta.frames,
                    "mb": size / 1e6, "session": session}
        st.perform()
        return {"wall": time.monotonic() - t0, "cpu": cpu_s() - c0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=2)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="owntrace-demo-bench-"))
    try:
        root = tmp / "home"
        t = time.monotonic()
        keys.init_identity(root, passphrase=DEMO_PASSPHRASE)
        user = keys.unlock(root, DEMO_PASSPHRASE)
        identity_s = time.monotonic() - t
        rows = []
        for i in range(args.runs):
            for record in (False, True):
                r = task(root, record)
                rows.append((record, r))
                print(f"run {i + 1} {'recorded' if record else 'baseline'}: {r['wall']:.1f} s", file=sys.stderr)
        session = rows[-1][1]["session"]
        t = time.monotonic()
        report = redact_session(root, session, user)
        redact_s = time.monotonic() - t
        frames = len(list((session.path / "redacted" / "frames").glob("*.png.age")))
        t = time.monotonic()
        verified = flow.export_unattended(root, session, user, tmp / "bundle", quiet)
        export_s = time.monotonic() - t

        print("| task run | wall s | process CPU s | CPU % of a core | events | frames stored | sealed MB |")
        print("|---|---|---|---|---|---|---|")
        for record, r in rows:
            extra = f"{r['events']} | {r['frames']} | {r['mb']:.2f}" if record else "- | - | -"
            print(f"| {'recorded' if record else 'baseline (no recorder)'} | {r['wall']:.1f} | {r['cpu']:.2f} | "
                  f"{100 * r['cpu'] / r['wall']:.0f} | {extra} |")
        print()
        print("| phase (last recorded run) | wall s | per item |")
        print("|---|---|---|")
        print(f"| identity: create + unlock (scrypt) | {identity_s:.1f} | |")
        print(f"| redact: {frames} frames OCR'd, {len(report.findings)} findings | {redact_s:.1f} | "
              f"{redact_s / max(frames, 1):.2f} s/frame |")
        print(f"| approve + export + verify: {len(verified.files)} files | {export_s:.1f} | |")
    finally:
        for s in list_sessions(tmp / "home"):
            s.destroy()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
