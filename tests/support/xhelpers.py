"""Real windows and injected input on the test display, through xterm and xdotool."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

from recorder.capture import display


def xdotool(*args: str, env: dict[str, str] | None = None) -> str:
    return subprocess.run(["xdotool", *args], env=env, check=True, capture_output=True, text=True).stdout.strip()


def wait_window(title: str, env: dict[str, str] | None = None, timeout: float = 30.0) -> str:
    """Window id of the first visible window whose title matches (regex), waiting for it to map."""
    wid = display.wait_window(title, env if env is not None else dict(os.environ), timeout)
    if wid is None:
        raise TimeoutError(f"no window titled {title!r} appeared")
    return wid


@contextmanager
def xterm(
    title: str,
    env: dict[str, str],
    command: list[str] | None = None,
    geometry: str = "80x24+40+40",
    background: str | None = None,
) -> Iterator[str]:
    """An xterm with a fixed title (the shell may not rename it), focused; yields its window id.
    `background`: its colour as "rrggbb" (default: xterm's white)."""
    args = ["xterm", "-T", title, "-xrm", "XTerm*allowTitleOps: false", "-fa", "DejaVu Sans Mono", "-fs", "12",
            "-geometry", geometry]
    if background:
        args += ["-bg", f"#{background}"]
    if command:
        args += ["-e", *command]
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wid = wait_window(f"^{title}$", env)
        focus(wid, env)
        yield wid
    finally:
        display.stop_process(proc, 3)


def focus(wid: str, env: dict[str, str]) -> None:
    xdotool("windowactivate", "--sync", wid, env=env)
    xdotool("windowfocus", "--sync", wid, env=env)
    time.sleep(0.2)


def type_text(text: str, env: dict[str, str], delay_ms: int = 40) -> None:
    xdotool("type", "--delay", str(delay_ms), text, env=env)


def key(combo: str, env: dict[str, str]) -> None:
    xdotool("key", combo, env=env)


def click(x: int, y: int, env: dict[str, str], button: int = 1, repeat: int = 1) -> None:
    xdotool("mousemove", "--sync", str(x), str(y), env=env)
    xdotool("click", "--repeat", str(repeat), str(button), env=env)
