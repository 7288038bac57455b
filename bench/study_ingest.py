"""Ingest throughput and memory: `python bench/study_ingest.py [--bundles 100] [--steps 20]`.

Builds one approved study session (synthetic 1280x800 frames, review_kit's redacted view),
donates it N times (each donation is a distinct signed bundle), then runs, each in a fresh
process so peak RSS is its own:
  age-cli    the stock `age -d` on every donation (decryption floor, to /dev/null)
  verify     recorder.export.verify.verify_bundle on every donation (decrypt + signature + hashes)
  ingest     owntrace study ingest's library call: all checks + Parquet written
  ingest/4   the same on a quarter of the donations: peak RSS should not grow with N
Figures are wall time, donations/s, MB/s of donation files, and peak RSS.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def build(work: Path, n_bundles: int, n_steps: int) -> dict:
    from recorder import keys
    from recorder.redact.view import RedactedView
    from recorder.review.approval import approve
    from recorder.store import session as store
    from recorder.study import consent
    from recorder.study.donate import donate
    from tests.support.review_kit import Builder
    from tests.support.study import researcher

    home = work / "home"
    keys.init_identity(home, passphrase="bench")
    user = keys.unlock(home, "bench")
    res = researcher(work / "researcher")
    profile = res.signed(key_text=True)  # the session below types text
    consent.join(home, profile)
    b = Builder.create(home, w=1280, h=800, noise=0.05)
    b.window(1, "XTerm", "bench")
    for i in range(n_steps):
        b.click(100 + i, 200) if i % 2 else b.type(f"step {i} text")
    s = b.finish()
    s.meta.study = profile.id
    s.save_meta()
    approve(RedactedView(s, user))
    s = store.resolve(home, s.id)
    out = work / "donations"
    out.mkdir()
    for i in range(n_bundles):
        donate(home, s, user, profile.id, out / f"{i:05d}.age")
    (work / "profile.toml").write_text(__import__("recorder.study.profile", fromlist=["to_toml"]).to_toml(profile))
    return {"identity": str(res.keys.identity_path), "profile": str(work / "profile.toml")}


def child(mode: str, work: Path, limit: int) -> None:
    """One measured run; prints its own JSON line (seconds, peak RSS)."""
    from recorder.export.verify import verify_bundle
    from recorder.study import ingest
    from recorder.study import profile as prof

    cfg = json.loads((work / "cfg.json").read_text())
    bundles = sorted((work / "donations").glob("*.age"))[:limit]
    ident = ingest.read_identity(Path(cfg["identity"]))
    t0 = time.perf_counter()
    if mode == "age-cli":
        for b in bundles:
            subprocess.run(["age", "-d", "-i", cfg["identity"], "-o", "/dev/null", str(b)], check=True)
    elif mode == "verify":
        assert all(verify_bundle(b, [ident]).ok for b in bundles)
    else:
        report = ingest.ingest(bundles, ident, [prof.load(Path(cfg["profile"]))], work / f"ds-{limit}")
        assert report.accepted == len(bundles), report.rejected[:3]
    seconds = time.perf_counter() - t0
    # VmHWM, not ru_maxrss: the latter keeps the parent's peak across fork+exec
    rss_kb = int(next(line for line in Path("/proc/self/status").read_text().splitlines()
                      if line.startswith("VmHWM:")).split()[1])
    print(json.dumps({"mode": mode, "n": len(bundles), "s": seconds, "rss_mb": rss_kb / 1024,
                      "bytes": sum(b.stat().st_size for b in bundles)}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bundles", type=int, default=100)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--child", nargs=3, metavar=("MODE", "WORK", "LIMIT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]), int(args.child[2]))
        return
    with tempfile.TemporaryDirectory(prefix="owntrace-bench-study-") as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        cfg = build(work, args.bundles, args.steps)
        (work / "cfg.json").write_text(json.dumps(cfg))
        print(f"built {args.bundles} donations of {args.steps} steps in {time.perf_counter() - t0:.1f} s")
        runs = [("age-cli", args.bundles), ("verify", args.bundles), ("ingest", args.bundles),
                ("ingest", max(1, args.bundles // 4))]
        print("| run | donations | MB | wall s | donations/s | MB/s | peak RSS MB |")
        print("|---|---|---|---|---|---|---|")
        for mode, n in runs:
            proc = subprocess.run([sys.executable, __file__, "--child", mode, str(work), str(n)],
                                  capture_output=True, text=True)
            if proc.returncode:
                sys.exit(f"{mode} failed:\n{proc.stderr}")
            out = proc.stdout
            r = json.loads(out.strip().splitlines()[-1])
            mb = r["bytes"] / 1e6
            name = mode if n == args.bundles else f"{mode} (N/4)"
            rss = "n/a (in age)" if mode == "age-cli" else f"{r['rss_mb']:.0f}"
            print(f"| {name} | {r['n']} | {mb:.1f} | {r['s']:.2f} | {r['n'] / r['s']:.1f} | {mb / r['s']:.1f} | {rss} |")


if __name__ == "__main__":
    main()
