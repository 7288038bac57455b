"""Review and export of a long session, each next to a baseline in the same run.

    python bench/export_bench.py                 # a one-hour session: 3600 steps, 1800 frames
    python bench/export_bench.py --minutes 5     # quicker

The session is synthetic (SessionWriter + a redacted view written as recorder/redact/session.py writes
it; no OCR: review and export only read the redacted view). Frames are 1280x800 PNGs of about
the size a desktop screenshot compresses to.

  first step shown   `owntrace review`'s server on 127.0.0.1 + headless Chromium: from starting
                     the server (identity already unlocked) until the page shows step 1 and its
                     frame has loaded. Baseline: an eager page's minimum work, decrypting every
                     redacted frame once.
  export dir / age   export_session (re-render check of every item against the approval hashes,
                     write, sign) in MB/s of bundle bytes. Baselines on the same bytes:
                     shutil.copytree of the exported directory, and `tar | age -r` with the
                     stock CLI.
Wall times on a shared 2-core machine: compare the columns of one run, not runs.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from recorder import keys  # noqa: E402
from recorder.demo.apps import find_chromium
from recorder.export.bundle import export_session  # noqa: E402
from recorder.redact.view import RedactedView  # noqa: E402
from recorder.review import approval  # noqa: E402
from recorder.review.server import ReviewServer  # noqa: E402
from recorder.store import session as store  # noqa: E402
from recorder.store.records import Event, State  # noqa: E402

W, H = 1280, 800
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]


def screenshot(seed: int) -> bytes:
    """A desktop-like frame: flat panels, text-like stripes and a small photo (~200 KB as PNG)."""
    rng = np.random.default_rng(seed)
    img = np.full((H, W, 3), 240, np.uint8)
    img[:40] = (45, 55, 75)
    for y in range(80, 700, 18):  # "text lines"
        widths = rng.integers(200, 900)
        img[y:y + 10, 60:60 + widths] = rng.integers(0, 2, (10, widths, 1), dtype=np.uint8) * 200
    img[550:650, 1000:1150] = rng.integers(0, 255, (100, 150, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(img).save(out, "PNG", compress_level=1)
    return out.getvalue()


def build_session(home: Path, minutes: float) -> store.Session:
    """One action per second, a frame before every other action, typing every tenth step."""
    w = store.SessionWriter.create(home, name="bench", task="a long working session",
                                   screens=[{"x": 0, "y": 0, "w": W, "h": H, "scale": 1.0}])
    pngs = [screenshot(i) for i in range(12)]
    events: list[Event] = [Event(0, "window", {"wid": 1, "app": "Chromium", "title": "Inbox", "pid": 1,
                                               "x": 0, "y": 0, "w": W, "h": H, "excluded": False})]
    findings = []
    n_steps = int(minutes * 60)
    frame = 0
    for k in range(n_steps):
        t = (k + 1) * 1_000_000_000
        if k % 2 == 0:
            frame += 1
            w.write_sealed(f"redacted/frames/{frame:06d}.png.age", pngs[frame % len(pngs)])
            events.append(Event(t - 1000, "frame", {"n": frame, "w": W, "h": H, "reason": "action", "dup": False}))
            findings.append({"item": f"frame:{frame}", "source": "screen", "entity": "EMAIL_ADDRESS",
                             "score": 0.9, "bbox": [100, 120, 220, 16]})
        if k % 10 == 5:
            for j, c in enumerate("hello"):
                events.append(Event(t + j * 50_000_000, "key_down", {"key": c, "char": c, "mods": []}))
                events.append(Event(t + j * 50_000_000 + 20_000_000, "key_up", {"key": c, "mods": []}))
        else:
            x, y = 100 + (k * 37) % 1000, 100 + (k * 53) % 600
            events.append(Event(t, "click", {"x": x, "y": y, "button": "left", "pressed": True}))
            events.append(Event(t + 60_000_000, "click", {"x": x, "y": y, "button": "left", "pressed": False}))
    for e in events:
        w.append(e)
    w.close()
    session = store.resolve(home, w.meta.id)
    journal = "".join(e.to_json() + "\n" for e in events).encode()
    session.write_sealed("redacted/journal.jsonl.age", journal)
    report = {"version": 1, "session": session.id, "created_at": "2026-01-01T00:00:00Z",
              "engine": {"ner": False, "ocr": "synthetic"}, "counts": {"EMAIL_ADDRESS": len(findings)},
              "findings": findings, "withheld": [], "flagged": []}
    session.write_sealed("redacted/report.json.age", json.dumps(report).encode())
    session.set_state(State.REDACTED)
    return session


def time_first_step(session: store.Session, user: keys.UnlockedIdentity) -> float:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=find_chromium(), args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto("about:blank")
        t0 = time.perf_counter()
        server = ReviewServer(RedactedView(session, user))
        server.start()
        page.goto(server.url)
        page.wait_for_selector("body[data-ready='1']")
        expect(page.locator("#frame")).not_to_have_js_property("naturalWidth", 0)  # its frame has loaded
        elapsed = time.perf_counter() - t0
        shown = page.locator("#steps li").count()
        browser.close()
        server.finish("closed")
        server.wait(5)
    print(f"  (page listed {shown} steps of {len(RedactedView(session, user).steps)} at first paint)")
    return elapsed


def time_decrypt_all_frames(session: store.Session, user: keys.UnlockedIdentity) -> float:
    view = RedactedView(session, user)
    t0 = time.perf_counter()
    for n in view.frame_sizes:
        view.redacted_frame(n)
    return time.perf_counter() - t0


def dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=60.0)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="owntrace-bench-"))
    try:
        home = work / "home"
        keys.init_identity(home, passphrase="bench")
        user = keys.unlock(home, "bench")
        t0 = time.perf_counter()
        session = build_session(home, args.minutes)
        n_frames = len(list((session.path / "redacted/frames").iterdir()))
        print(f"session: {args.minutes:g} min, {n_frames} redacted frames, built in {time.perf_counter() - t0:.1f} s, "
              f"{dir_bytes(session.path) / 1e6:.0f} MB sealed")

        first = time_first_step(session, user)
        eager = time_decrypt_all_frames(session, user)
        print(f"first step shown (lazy page)        {first:7.2f} s")
        print(f"baseline: decrypt every frame once  {eager:7.2f} s")

        view = RedactedView(session, user)
        t0 = time.perf_counter()
        approval.approve(view)
        print(f"approve (hash every item)           {time.perf_counter() - t0:7.2f} s")

        rows = []
        for fmt, out, rcpt in (("dir", work / "b", ()), ("age", work / "b.age", (user.recipient,))):
            t0 = time.perf_counter()
            res = export_session(home, session, user, out, fmt, rcpt)
            dt = time.perf_counter() - t0
            rows.append((f"export --format {fmt}", res.bytes, dt))
        size = dir_bytes(work / "b")
        t0 = time.perf_counter()
        shutil.copytree(work / "b", work / "copy")
        rows.append(("baseline: shutil.copytree", size, time.perf_counter() - t0))
        (work / "id.pub").write_text(str(user.recipient))
        t0 = time.perf_counter()
        subprocess.run(f"tar -C {work / 'b'} -cf - . | age -R {work / 'id.pub'} -o {work / 'tar.age'}",
                       shell=True, check=True)
        rows.append(("baseline: tar | age (stock CLI)", size, time.perf_counter() - t0))
        for name, nbytes, dt in rows:
            print(f"{name:<34} {nbytes / 1e6:7.1f} MB in {dt:6.2f} s = {nbytes / 1e6 / dt:6.1f} MB/s")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    main()
