"""The scripted task: real input injected with xdotool into the demo's real windows.

Open a mail, scroll the inbox, fill the sign-up form (name, email, phone, card), submit,
then run a command in the terminal. Positions are page coordinates from inbox.html's CSS,
offset by where the window manager put the browser's client area.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass

from recorder.demo.persona import TERMINAL_COMMAND, Persona

# CSS px of inbox.html (body margin 0, device scale 1): mail item i is 64 px tall under a
# 48 px header; the form's first input sits at y=344..376, x=476..808 (label 130 px + left 346).
MAIL_ROW_H = 64
LIST_TOP = 48
NAME_FIELD = (620, 360)
LIST_POINT = (160, 400)


@dataclass
class Xdo:
    """xdotool on one display."""

    env: dict[str, str]
    pace: float = 0.35  # seconds between steps, so each action gets its own frame

    def run(self, *args: str) -> str:
        return subprocess.run(["xdotool", *args], env=self.env, check=True, capture_output=True, text=True).stdout

    def origin(self, wid: str) -> tuple[int, int]:
        """Top-left of the window's client area in screen pixels."""
        geo = dict(line.split("=", 1) for line in self.run("getwindowgeometry", "--shell", wid).split())
        return int(geo["X"]), int(geo["Y"])

    def activate(self, wid: str) -> None:
        self.run("windowactivate", "--sync", wid)
        time.sleep(self.pace)

    def move(self, x: int, y: int) -> None:
        # no --sync: xdotool waits for a motion event, which never comes if the pointer is there
        self.run("mousemove", str(x), str(y))
        time.sleep(0.15)

    def click(self, x: int, y: int) -> None:
        self.move(x, y)
        self.run("click", "1")
        time.sleep(self.pace)

    def scroll(self, x: int, y: int, notches: int) -> None:
        """notches > 0 scrolls down (wheel button 5), < 0 up (button 4)."""
        self.move(x, y)
        for _ in range(abs(notches)):
            self.run("click", "5" if notches > 0 else "4")
            time.sleep(0.15)
        time.sleep(self.pace)

    def type(self, text: str) -> None:
        self.run("type", "--delay", "45", text)
        time.sleep(self.pace)

    def key(self, combo: str) -> None:
        self.run("key", combo)
        time.sleep(self.pace)


def perform(xdo: Xdo, browser_wid: str, terminal_wid: str, persona: Persona) -> None:
    """Drive the whole task; returns when the last action has been delivered."""
    xdo.activate(browser_wid)
    bx, by = xdo.origin(browser_wid)
    # read a mail, then another further down the list
    xdo.click(bx + LIST_POINT[0], by + LIST_TOP + MAIL_ROW_H * 2 + 30)
    xdo.scroll(bx + LIST_POINT[0], by + LIST_POINT[1], 3)
    xdo.scroll(bx + LIST_POINT[0], by + LIST_POINT[1], -3)
    xdo.click(bx + LIST_POINT[0], by + LIST_TOP + MAIL_ROW_H * 0 + 30)
    # sign up: one field after another, Tab between them, Enter submits
    xdo.click(bx + NAME_FIELD[0], by + NAME_FIELD[1])
    for i, value in enumerate((persona.name, persona.email, persona.phone, persona.card, persona.card_expiry)):
        if i:
            xdo.key("Tab")
        xdo.type(value)
    xdo.key("Return")
    # the terminal: a command that prints a contact line
    xdo.activate(terminal_wid)
    tx, ty = xdo.origin(terminal_wid)
    xdo.click(tx + 200, ty + 60)
    xdo.type(TERMINAL_COMMAND)
    xdo.key("Return")
    time.sleep(1.0)  # let the output show in a frame before recording stops
