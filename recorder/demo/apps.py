"""The real apps the demo opens on its display: Chromium with the synthetic inbox page, and an
xterm. Both are started so that nothing they do leaves the machine or lingers in clear."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

from recorder.capture.display import stop_process, wait_window
from recorder.demo import offline
from recorder.errors import OwnTraceError

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome")

# No sync, no component updates, no metrics, no safe-browsing or field-trial fetches: with a
# fresh profile and a local file page, Chromium then has no reason to open a socket; and it is
# started under recorder.demo.offline, which denies it any IP socket should it try.
CHROMIUM_FLAGS = (
    "--no-sandbox",
    "--test-type",  # hides the --no-sandbox warning bar, which would shift the page
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--disable-breakpad",
    "--metrics-recording-only",
    "--password-store=basic",
    "--force-device-scale-factor=1",
    # any hostname lookup fails without asking DNS: the page is a local file and needs none
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--disable-features=Translate,MediaRouter,OptimizationHints,AutofillServerCommunication",
)

TERMINAL_TITLE = "demo terminal"
BROWSER_TITLE = "Northwind Mail"


def page_path() -> Path:
    return Path(str(resources.files(__package__) / "inbox.html"))


def find_chromium() -> str:
    for name in CHROMIUM_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    raise OwnTraceError("Chromium is not installed", "install it: sudo apt-get install chromium")


def require_tools() -> None:
    """Fail early, in one line, naming what to install."""
    missing = [t for t in ("Xvfb", "openbox", "xdotool", "xterm") if not shutil.which(t)]
    if missing:
        packages = {"Xvfb": "xvfb", "openbox": "openbox", "xdotool": "xdotool", "xterm": "xterm"}
        raise OwnTraceError(
            f"the demo needs {', '.join(missing)}, which {'is' if len(missing) == 1 else 'are'} not installed",
            "install: sudo apt-get install " + " ".join(packages[t] for t in missing),
        )
    find_chromium()


def window_id(title: str, env: dict[str, str]) -> str:
    """The id of the first visible window whose title matches `title` (a regex)."""
    wid = wait_window(title, env)
    if wid is None:
        raise OwnTraceError(f"the demo window {title!r} did not appear", "is the display working? try `owntrace doctor`")
    return wid


@contextmanager
def browser(env: dict[str, str], geometry: tuple[int, int, int, int]) -> Iterator[str]:
    """Chromium showing the inbox page as an app window at (x, y, w, h); yields its window id.

    The profile is a fresh temporary directory, removed afterwards, so each run starts alike.
    Chromium's own temporary folders (org.chromium.Chromium.*) go inside it, through TMPDIR:
    left in the system's temp folder, one stayed behind after every run.
    """
    x, y, w, h = geometry
    profile = tempfile.mkdtemp(prefix="owntrace-demo-chromium-")
    try:
        args = [
            *offline.prefix(),
            find_chromium(),
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            f"--window-position={x},{y}",
            f"--window-size={w},{h}",
            f"--app={page_path().as_uri()}",
        ]
        tmp = Path(profile) / "tmp"
        tmp.mkdir()
        # a session of its own: its helpers (zygote, renderers) are stopped with it, not left writing
        proc = subprocess.Popen(args, env=dict(env, TMPDIR=str(tmp)), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            yield window_id(BROWSER_TITLE, env)
        finally:
            stop_process(proc)
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    finally:
        _remove(Path(profile))


def _remove(folder: Path, timeout_s: float = 5.0) -> None:
    """Remove a folder a dying process may still be writing to (its last helpers exit late)."""
    deadline = time.monotonic() + timeout_s
    while folder.exists() and time.monotonic() < deadline:
        shutil.rmtree(folder, ignore_errors=True)
        if folder.exists():
            time.sleep(0.1)


@contextmanager
def terminal(env: dict[str, str], geometry: str) -> Iterator[str]:
    """An xterm running a bash that keeps no history file; yields its window id."""
    shell_env = dict(env, HISTFILE="/dev/null", PS1="demo$ ")
    args = [
        "xterm", "-T", TERMINAL_TITLE, "-xrm", "XTerm*allowTitleOps: false",
        "-fa", "DejaVu Sans Mono", "-fs", "13", "-bg", "white", "-fg", "black",
        "-geometry", geometry, "-e", "bash", "--norc", "--noprofile", "-i",
    ]
    proc = subprocess.Popen(args, env=shell_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield window_id(f"^{TERMINAL_TITLE}$", env)
    finally:
        stop_process(proc)
