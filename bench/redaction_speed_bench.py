"""Redaction speed before and after the people / structured / work-id detectors, and on both cores.

    python bench/redaction_speed_bench.py                # 20 full frames + the 5-minute typing session
    python bench/redaction_speed_bench.py --quick        # 10 full frames + a 1-minute session

The baseline is the redaction package as it was at BASELINE_REV, extracted with `git archive`
into a temporary folder and run in a subprocess on the same frames (same generator, same
tesseract, one thread): "today" in the issue. The current code runs the same frames one
process (as before) and on every core (`redaction.pool`, contiguous runs per worker). Frames
are the detectors' own synthetic screens (tests/support/screens.py); wall time, so compare
the columns of one run.
"""

from __future__ import annotations

import os

os.environ["OMP_THREAD_LIMIT"] = "1"

import argparse  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tarfile  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from PIL import Image  # noqa: E402

from tests.support.screens import DENY, screens, typing_session  # noqa: E402

BASELINE_REV = "e571741"  # the last commit before this work

# run in the baseline's folder: full frames (each with a fresh FrameRedactor), then the session
_BASELINE = """
import io, json, sys, time
sys.path.insert(0, sys.argv[1])
from PIL import Image
from redaction.detect import Detector
from redaction.image import FrameRedactor
data = json.load(sys.stdin)
d = Detector(deny=data["deny"])
frames = [Image.open(io.BytesIO(bytes.fromhex(h))).convert("RGB") for h in data["full"]]
t = time.perf_counter()
for im in frames:
    FrameRedactor(d).redact(im)
full = (time.perf_counter() - t) / len(frames)
r = FrameRedactor(d)
t = time.perf_counter()
for h in data["session"]:
    # encoded as the session's redacted frame, as redact_session does (and the pool does now)
    r.redact(Image.open(io.BytesIO(bytes.fromhex(h))).convert("RGB")).image.save(io.BytesIO(), format="PNG")
print(json.dumps({"full": full, "session": time.perf_counter() - t}))
"""


def png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def baseline(full: list[bytes], session: list[bytes]) -> dict:
    with tempfile.TemporaryDirectory(prefix="owntrace-bench-baseline-") as tmp:
        archive = subprocess.run(["git", "-C", str(REPO), "archive", BASELINE_REV, "redaction"], check=True,
                                 capture_output=True).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(tmp, filter="data")
        payload = json.dumps({"deny": list(DENY), "full": [b.hex() for b in full], "session": [b.hex() for b in session]})
        env = dict(os.environ, PYTHONPATH=tmp)
        out = subprocess.run([sys.executable, "-c", _BASELINE, tmp], input=payload, capture_output=True, text=True,
                             env=env, check=True, cwd=tmp).stdout
        return json.loads(out.strip().splitlines()[-1])


def current(full: list[bytes], session: list[bytes], workers: int) -> dict:
    from redaction.detect import Detector, SessionDetector
    from redaction.image import FrameRedactor
    from redaction.pool import redact_frames

    d = Detector(deny=list(DENY))
    frames = [Image.open(io.BytesIO(b)).convert("RGB") for b in full]
    t = time.perf_counter()
    for im in frames:
        FrameRedactor(SessionDetector(d, [])).redact(im)
    per_full = (time.perf_counter() - t) / len(frames)
    out = {"full": per_full}
    for w in sorted({1, workers}):
        t = time.perf_counter()
        outcomes = list(redact_frames(list(range(len(session))), lambda n: Image.open(io.BytesIO(session[n])),
                                      SessionDetector(d, []), w))
        assert all(o.result is not None for o in outcomes), [o.error for o in outcomes if o.result is None][:3]
        out[f"session_{w}"] = time.perf_counter() - t
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    seconds = 60 if args.quick else 300
    full = [png(s.image) for s in screens(0, sizes=(12, 14))[: 10 if args.quick else 20]]
    session = [png(s.image) for s in typing_session(seconds)]
    workers = len(os.sched_getaffinity(0))
    base = baseline(full, session)
    now = current(full, session, workers)
    print(f"## Redaction speed: {len(full)} full 1280x800 frames; typing session {seconds} s at 2 fps = "
          f"{len(session)} frames; {workers} cores\n")
    print(f"| | baseline ({BASELINE_REV}) | now, 1 process | now, {workers} processes |\n|---|---|---|---|")
    print(f"| seconds per full frame | {base['full']:.2f} | {now['full']:.2f} "
          f"({100 * (now['full'] / base['full'] - 1):+.0f} %) | |")
    par = now.get(f"session_{workers}", now["session_1"])
    print(f"| seconds for the session | {base['session']:.1f} | {now['session_1']:.1f} | {par:.1f} |")


if __name__ == "__main__":
    main()
