#!/usr/bin/env python3
"""The README's pictures of the review page, from a real demo run.

Runs `owntrace demo` (scripted task on its own virtual display), opens the review page it
serves in headless Chromium (Playwright, /usr/bin/chromium), photographs a step whose typed
email was redacted and the terminal step, approves, and checks the demo exported a bundle
that verifies. Writes docs/images/review-*.png.

    python scripts/screenshots.py [--out docs/images]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from recorder.demo.apps import find_chromium

REPO = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]
VIEWPORT = {"width": 1440, "height": 900}


def start_demo(cwd: Path) -> tuple[subprocess.Popen, str]:
    """`owntrace demo` without a desktop display (so it prints the URL); returns it and the URL."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "OWNTRACE_HOME")}
    proc = subprocess.Popen([sys.executable, "-c", "from recorder.cli import main; main()", "demo"],
                            cwd=cwd, env=env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        print("demo>", line.rstrip())
        m = re.search(r"review every step and redaction at\s+(http://127\.0\.0\.1:\d+/\S+)", line)
        if m:
            return proc, m.group(1)
    raise SystemExit(f"the demo ended without serving a review page (exit {proc.wait()})")


def select_step(page, text: str) -> None:
    page.locator("#steps li", has_text=text).first.click()
    page.wait_for_function("() => { const i = document.getElementById('frame'); return i.complete && i.naturalWidth > 0; }")
    page.wait_for_timeout(300)  # the overlay boxes are drawn after the image loads


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "images")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="owntrace-screenshots-") as tmp:
        proc, url = start_demo(Path(tmp))
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=find_chromium(), args=CHROMIUM_ARGS)
                page = browser.new_page(viewport=VIEWPORT)
                page.goto(url)
                page.wait_for_selector("#steps li")
                select_step(page, "<EMAIL_ADDRESS>")
                page.screenshot(path=str(args.out / "review-typed-email.png"))
                select_step(page, "echo")
                page.screenshot(path=str(args.out / "review-terminal.png"))
                page.on("dialog", lambda d: d.accept())
                page.click("#approve")
                page.wait_for_selector("#done:not([hidden])")
                browser.close()
            assert proc.stdout is not None
            rest = proc.stdout.read()
            print("\n".join("demo> " + line for line in rest.splitlines()))
            if proc.wait(120) != 0 or "approved and exported" not in rest:
                raise SystemExit("the demo did not export after approval")
        finally:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(30)
    print(f"wrote {', '.join(sorted(p.name for p in args.out.glob('review-*.png')))} to {args.out}")


if __name__ == "__main__":
    main()
