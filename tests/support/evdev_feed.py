"""Input devices without hardware: these machines have no /dev/uinput, so a test stands up what
the kernel would show (a /proc/bus/input/devices listing, /dev/input/eventN nodes) as FIFOs in a
folder, and writes into them the `struct input_event` records a keyboard and a mouse send. The
recorder reads them through its real evdev reader (OWNTRACE_EVDEV_ROOT names the folder)."""

from __future__ import annotations

import os
import struct
import time
from pathlib import Path

KERNEL_EVENT = struct.Struct("@llHHi")  # timeval (2 longs), type, code, value: 64-bit Linux
EV_SYN, EV_KEY, EV_REL = 0, 1, 2
SYN_REPORT, REL_X, REL_Y, BTN_LEFT = 0, 0, 1, 0x110
KEY_ENTER, KEY_LEFTSHIFT, KEY_SPACE = 28, 42, 57
# US layout: the evdev key code of each character typed without shift
US_KEYS = {**{c: k for k, c in enumerate("1234567890-=", 2)}, **{c: k for k, c in enumerate("qwertyuiop[]", 16)},
           **{c: k for k, c in enumerate("asdfghjkl;'", 30)}, **{c: k for k, c in enumerate("zxcvbnm,./", 44)},
           " ": KEY_SPACE}
US_SHIFTED = dict(zip("!@#$%^&*()_+:\"<>?", "1234567890-=;',./"))  # shift + the key of that character

LISTING = """\
I: Bus=0011 Vendor=0001 Product=0001 Version=ab83
N: Name="AT Translated Set 2 keyboard"
H: Handlers=sysrq kbd leds event0
B: PROP=0
B: EV=120013
B: KEY=402000000 3803078f800d001 feffffdfffefffff fffffffffffffffe

I: Bus=0003 Vendor=046d Product=c077 Version=0111
N: Name="Logitech USB Optical Mouse"
H: Handlers=mouse0 event1
B: PROP=0
B: EV=17
B: KEY=ff0000 0 0 0 0
B: REL=1943
"""


class FakeInput:
    """A keyboard (event0) and a mouse (event1) under `root`, both FIFOs held open for writing
    (a reader sees end-of-file, a removed device, once no writer is left)."""

    def __init__(self, root: Path, owner: int | None = None) -> None:
        self.root = root
        (root / "proc/bus/input").mkdir(parents=True)
        (root / "dev/input").mkdir(parents=True)
        (root / "proc/bus/input/devices").write_text(LISTING)
        self._fds = {}
        for node in ("event0", "event1"):
            path = root / "dev/input" / node
            os.mkfifo(path, 0o600)
            if owner is not None:
                os.chown(path, owner, owner)
            self._fds[node] = os.open(path, os.O_RDWR | os.O_NONBLOCK)  # RDWR: never blocks, never EOF
        if owner is not None:
            for d in (root, *root.rglob("*")):
                os.chown(d, owner, owner)

    def _send(self, node: str, *events: tuple[int, int, int]) -> None:
        now = time.time()
        sec, usec = int(now), int(now % 1 * 1e6)
        records = [KERNEL_EVENT.pack(sec, usec, t, c, v) for t, c, v in (*events, (EV_SYN, SYN_REPORT, 0))]
        os.write(self._fds[node], b"".join(records))

    def key(self, code: int, shift: bool = False) -> None:
        if shift:
            self._send("event0", (EV_KEY, KEY_LEFTSHIFT, 1))
        self._send("event0", (EV_KEY, code, 1))
        self._send("event0", (EV_KEY, code, 0))
        if shift:
            self._send("event0", (EV_KEY, KEY_LEFTSHIFT, 0))

    def type(self, text: str) -> None:
        for ch in text:
            if ch == "\n":
                self.key(KEY_ENTER)
            elif ch in US_SHIFTED:
                self.key(US_KEYS[US_SHIFTED[ch]], shift=True)
            else:
                self.key(US_KEYS[ch.lower()], shift=ch.isupper())

    def click_at(self, x: int, y: int) -> None:
        """Pointer to (x, y): far up-left first, where the recorder's estimate is clamped to the
        desktop's corner, then there; a left click."""
        self._send("event1", (EV_REL, REL_X, -100_000), (EV_REL, REL_Y, -100_000))
        self._send("event1", (EV_REL, REL_X, x), (EV_REL, REL_Y, y))
        self._send("event1", (EV_KEY, BTN_LEFT, 1))
        self._send("event1", (EV_KEY, BTN_LEFT, 0))

    def close(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()
