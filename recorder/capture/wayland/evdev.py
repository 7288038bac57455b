"""Keyboard and pointer from the kernel's evdev devices (/dev/input/event*): the Wayland input source.

On Wayland no client sees global input, so, like other recorders, we read the kernel's devices
directly; that takes the `input` group or a udev ACL on the device nodes (`unreadable()` says which
are not readable and why, for `owntrace doctor`). Reading is passive: no EVIOCGRAB, so the
compositor and every app keep getting all input, and the kernel gives each reader a buffer of its
own, so a slow reader loses only its own events (SYN_DROPPED, then we resync), never anyone else's.

Events come out exactly as recorder/capture/input.py makes them on X11: key names through the
session's XKB keymap (keymap.py), pointer positions in desktop pixels (PointerTracker).
"""

from __future__ import annotations

import fcntl
import grp
import logging
import math
import os
import pwd
import selectors
import stat
import struct
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from pathlib import Path

from recorder.capture.backend import Rect
from recorder.capture.keynames import JOURNAL_MODIFIERS, SHORTCUT_MODIFIERS
from recorder.capture.wayland.keymap import Keymap
from recorder.store.records import Event

_log = logging.getLogger(__name__)

# struct input_event on 64-bit Linux: struct timeval {long tv_sec; long tv_usec}; __u16 type, code; __s32 value
INPUT_EVENT = struct.Struct("@llHHi")
READ_RECORDS = 64  # per read(): one wakeup drains a burst without starving the other devices

# <linux/input-event-codes.h>
EV_SYN, EV_KEY, EV_REL, EV_ABS = 0x00, 0x01, 0x02, 0x03
SYN_REPORT, SYN_DROPPED = 0, 3
# REL_WHEEL_HI_RES (0x0b) is not read: the kernel sends REL_WHEEL as well for every whole notch
REL_X, REL_Y, REL_HWHEEL, REL_WHEEL = 0x00, 0x01, 0x06, 0x08
ABS_X, ABS_Y = 0x00, 0x01
BTN_MISC, KEY_OK, KEY_MAX = 0x100, 0x160, 0x2FF  # BTN_MISC..KEY_OK-1: buttons, not keyboard keys
BTN_LEFT, BTN_RIGHT, BTN_MIDDLE, BTN_SIDE, BTN_EXTRA = 0x110, 0x111, 0x112, 0x113, 0x114
BTN_TOOL_PEN, BTN_TOOL_FINGER, BTN_TOUCH, BTN_STYLUS, BTN_STYLUS2 = 0x140, 0x145, 0x14A, 0x14B, 0x14C
INPUT_PROP_DIRECT = 0x01  # a touchscreen: the contact is where the pointer goes
# KEY_Q..KEY_P, KEY_A..KEY_L, KEY_Z..KEY_M: a device with all 26 letter keys is a keyboard
LETTER_KEYS = frozenset([*range(16, 26), *range(30, 39), *range(44, 51)])
MOUSE_BUTTONS = frozenset(range(BTN_LEFT, BTN_LEFT + 8))

# the buttons as pynput names them on X11 (side buttons are X buttons 8 and 9)
BUTTON_NAMES = {BTN_LEFT: "left", BTN_RIGHT: "right", BTN_MIDDLE: "middle", BTN_SIDE: "button8", BTN_EXTRA: "button9"}
# on a touchscreen or tablet a contact clicks the left button, a pen's buttons middle and right (GNOME's default)
DIRECT_BUTTON_NAMES = {BTN_TOUCH: "left", BTN_STYLUS: "middle", BTN_STYLUS2: "right"}

TOUCHPAD_PX_PER_MM = 12.0  # about libinput's touchpad speed at its default setting, before acceleration
TOUCHPAD_ASSUMED_MM = 100.0  # the width assumed for a touchpad that does not report its resolution

# ioctl numbers as <asm-generic/ioctl.h> builds them (x86-64, arm64, riscv64): bits 0-7 the number,
# 8-15 the type ('E' for evdev), 16-29 the argument's size, 30-31 the direction (2: read from the kernel)
_IOC_READ = 2
ABSINFO = struct.Struct("@6i")  # struct input_absinfo: value, minimum, maximum, fuzz, flat, resolution
LONG_BITS = struct.calcsize("@l") * 8  # the kernel's bitmaps are arrays of long
KEY_BITMAP_LONGS = (KEY_MAX + LONG_BITS) // LONG_BITS


def _ior(nr: int, size: int) -> int:
    return (_IOC_READ << 30) | (size << 16) | (ord("E") << 8) | nr


def eviocgabs(axis: int) -> int:
    """EVIOCGABS(axis) = _IOR('E', 0x40 + axis, struct input_absinfo): 0x80184540 for ABS_X."""
    return _ior(0x40 + axis, ABSINFO.size)


EVIOCGKEY = _ior(0x18, KEY_BITMAP_LONGS * LONG_BITS // 8)  # EVIOCGKEY(len): the keys held now, as a bitmap


class KeyValue(IntEnum):
    RELEASE = 0
    PRESS = 1
    REPEAT = 2  # the kernel's autorepeat


@dataclass(frozen=True, slots=True)
class InputEvent:
    sec: int
    usec: int
    type: int
    code: int
    value: int


class RecordBuffer:
    """Whole input_event records out of a byte stream: a device returns whole records, a pipe need not."""

    def __init__(self) -> None:
        self._rest = b""

    def feed(self, data: bytes) -> list[InputEvent]:
        data = self._rest + data
        whole = len(data) - len(data) % INPUT_EVENT.size
        self._rest = data[whole:]
        return [InputEvent(*record) for record in INPUT_EVENT.iter_unpack(data[:whole])]


def _bits(words: Iterable[int]) -> frozenset[int]:
    """The numbers set in a kernel bitmap given as longs, least significant first."""
    return frozenset(i * LONG_BITS + b for i, word in enumerate(words) for b in range(word.bit_length()) if word >> b & 1)


class PointerMode(StrEnum):
    RELATIVE = "relative"  # a mouse, a trackball: motion deltas
    ABSOLUTE = "absolute"  # a touchscreen, a tablet, a virtual machine's pointer: positions mapped to the desktop
    TOUCHPAD = "touchpad"  # absolute finger positions on the pad, whose deltas move the pointer


@dataclass(frozen=True)
class DeviceInfo:
    """One input device as /proc/bus/input/devices describes it: name, event node, capability bits."""

    name: str
    node: str  # "event3"
    props: frozenset[int] = frozenset()
    events: frozenset[int] = frozenset()
    keys: frozenset[int] = frozenset()
    rels: frozenset[int] = frozenset()
    axes: frozenset[int] = frozenset()
    dev_dir: str = "/dev/input"

    @property
    def path(self) -> str:
        return f"{self.dev_dir}/{self.node}"

    @property
    def keyboard(self) -> bool:
        return EV_KEY in self.events and LETTER_KEYS <= self.keys

    @property
    def pointer(self) -> PointerMode | None:
        """How this device moves the pointer; None when it does not (a joystick has ABS_X/Y, not these buttons)."""
        if {REL_X, REL_Y} <= self.rels and self.keys & MOUSE_BUTTONS:
            return PointerMode.RELATIVE
        if not {ABS_X, ABS_Y} <= self.axes:
            return None
        # udev's rule for ID_INPUT_TOUCHPAD: fingers, no pen, not a touchscreen
        pen = {BTN_TOOL_PEN, BTN_STYLUS} & self.keys
        if BTN_TOOL_FINGER in self.keys and not pen and INPUT_PROP_DIRECT not in self.props:
            return PointerMode.TOUCHPAD
        if self.keys & (MOUSE_BUTTONS | {BTN_TOUCH, BTN_TOOL_PEN, BTN_STYLUS}):
            return PointerMode.ABSOLUTE
        return None


def parse_devices(text: str, dev_dir: str = "/dev/input") -> list[DeviceInfo]:
    """Every device with an event node in the text of /proc/bus/input/devices. Its bitmaps are hex
    words of the kernel's long, most significant first ("B: KEY=ff0000 0 0 0 0")."""
    out = []
    for block in text.split("\n\n"):
        name, node, bitmaps = "", "", dict[str, frozenset[int]]()
        for line in block.splitlines():
            tag, _, rest = line.partition(": ")
            if tag == "N":
                name = rest.removeprefix("Name=").strip('"')
            elif tag == "H":
                node = next((h for h in rest.removeprefix("Handlers=").split() if h.startswith("event")), "")
            elif tag == "B":
                key, _, words = rest.partition("=")
                bitmaps[key] = _bits(int(w, 16) for w in reversed(words.split()))
        if node:
            props, events, keys, rels, axes = (bitmaps.get(k, frozenset()) for k in ("PROP", "EV", "KEY", "REL", "ABS"))
            out.append(DeviceInfo(name, node, props, events, keys, rels, axes, dev_dir))
    return out


def input_devices(root: Path = Path("/")) -> list[DeviceInfo]:
    """The keyboards and pointers of this machine ([] where the kernel lists none, as in a container).
    `root` stands for "/": where proc/bus/input/devices and dev/input/ are looked up (the tests
    point it at FIFOs fed with real input_event records, as these machines have no /dev/uinput)."""
    try:
        text = (root / "proc/bus/input/devices").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    return [d for d in parse_devices(text, str(root / "dev/input")) if d.keyboard or d.pointer]


@dataclass(frozen=True)
class Unreadable:
    device: DeviceInfo
    reason: str

    def line(self) -> str:
        return f"{self.device.path} ({self.device.name}): {self.reason}"


ACCESS_HINT = ("add yourself to the `input` group (sudo usermod -aG input $USER) and log in again, or give your "
               "user a udev ACL on these devices; either lets every program you run read every keyboard")


def unreadable(devices: Iterable[DeviceInfo]) -> list[Unreadable]:
    """The devices this process cannot open for reading, each with why."""
    out = []
    for d in devices:
        try:
            st = os.stat(d.path)
        except OSError as e:
            out.append(Unreadable(d, f"cannot stat the device node: {e.strerror}"))
            continue
        if not os.access(d.path, os.R_OK):
            out.append(Unreadable(d, _why_unreadable(st)))
    return out


def _name(lookup: Callable[[int], tuple[object, ...]], number: int) -> str:
    """A user's or group's name by number (getpwuid, getgrgid), or the number when it has none."""
    try:
        return str(lookup(number)[0])
    except KeyError:
        return str(number)


def _why_unreadable(st: os.stat_result) -> str:
    group, owner = _name(grp.getgrgid, st.st_gid), _name(pwd.getpwuid, st.st_uid)
    in_group = st.st_gid in os.getgrouplist(_name(pwd.getpwuid, os.getuid()), os.getgid())  # as configured now
    owned = f"owned by {owner}:{group}, mode {stat.S_IMODE(st.st_mode):04o}"
    if not st.st_mode & stat.S_IRGRP:
        return f"{owned}: not even its group may read it, only an ACL could let you"
    if st.st_gid in os.getgroups():
        return f"{owned}: you are in group {group!r}, yet reading is denied (an ACL mask or a security module)"
    if in_group:
        return f"{owned}: you were added to group {group!r} after this login; log out and back in"
    return f"{owned}: you are not in group {group!r} and have no ACL on it"


@dataclass(frozen=True)
class AbsAxis:
    minimum: int
    maximum: int
    resolution: int = 0  # units per mm; 0 when the device does not say


def read_axis(fd: int, axis: int) -> AbsAxis:
    """An absolute axis's range, from the device (EVIOCGABS)."""
    buf = bytearray(ABSINFO.size)
    fcntl.ioctl(fd, eviocgabs(axis), buf)
    _, minimum, maximum, _, _, resolution = ABSINFO.unpack(buf)
    return AbsAxis(minimum, maximum, resolution)


def keys_down(fd: int) -> frozenset[int] | None:
    """The keys and buttons held on the device now (EVIOCGKEY); None when it cannot tell (not a device)."""
    buf = bytearray(KEY_BITMAP_LONGS * LONG_BITS // 8)
    try:
        fcntl.ioctl(fd, EVIOCGKEY, buf)
    except OSError:
        return None
    return _bits(struct.unpack(f"@{KEY_BITMAP_LONGS}L", buf))


@dataclass(frozen=True)
class OpenDevice:
    """A device to read: its fd (owned by EvdevInput once given to it) and, for absolute pointers, the axes."""

    fd: int
    info: DeviceInfo
    x_axis: AbsAxis | None = None
    y_axis: AbsAxis | None = None


def open_device(info: DeviceInfo) -> OpenDevice:
    """Open for reading only, never grabbed (EVIOCGRAB would take the input from the desktop)."""
    fd = os.open(info.path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    if info.pointer in (PointerMode.ABSOLUTE, PointerMode.TOUCHPAD):
        try:
            return OpenDevice(fd, info, read_axis(fd, ABS_X), read_axis(fd, ABS_Y))
        except OSError:
            os.close(fd)
            raise
    return OpenDevice(fd, info)


class PointerTracker:
    """Where the pointer is, in desktop pixels, within the desktop's bounds (x, y, w, h) from the caller.

    Absolute devices are exact: their axis range covers the bounds as libinput maps it. Relative
    motion (mice, touchpads) is an estimate: it is integrated from the device's counts and clamped
    to the bounds, but the compositor accelerates the pointer (and may confine or warp it), so the
    estimate drifts, and it starts in the middle of the desktop. `position`, when given, returns the
    real position where the backend knows it (from the compositor, or the portal's cursor metadata),
    else None; it is called at every pointer report on the reader's thread, so it must be a cheap
    read of a cached value, and each new value it returns resyncs the estimate.
    """

    def __init__(self, bounds: Rect, position: Callable[[], tuple[int, int] | None] | None = None) -> None:
        self.bounds = bounds
        x, y, w, h = bounds
        self._x, self._y = x + w / 2, y + h / 2
        self._position = position
        self._known: tuple[int, int] | None = None

    @property
    def xy(self) -> tuple[int, int]:
        return math.floor(self._x), math.floor(self._y)

    def resync(self) -> None:
        real = self._position() if self._position else None
        if real is not None and real != self._known:
            self._known = real
            self._x, self._y = self._clamp(*real)

    def relative(self, dx: float, dy: float) -> None:
        self._x, self._y = self._clamp(self._x + dx, self._y + dy)

    def absolute(self, axis: AbsAxis, value: int, vertical: bool) -> None:
        """Axis `value` to a pixel as libinput does: (value - min) * size / (max - min + 1)."""
        origin, size = (self.bounds[1], self.bounds[3]) if vertical else (self.bounds[0], self.bounds[2])
        value = min(max(value, axis.minimum), axis.maximum)
        pixel = origin + (value - axis.minimum) * size / (axis.maximum - axis.minimum + 1)
        if vertical:
            self._y = pixel
        else:
            self._x = pixel

    def _clamp(self, x: float, y: float) -> tuple[float, float]:
        bx, by, w, h = self.bounds
        return min(max(x, bx), bx + w - 1), min(max(y, by), by + h - 1)


@dataclass
class _Report:
    """What one SYN_REPORT frame did to the pointer."""

    dx: int = 0
    dy: int = 0
    wheel: int = 0  # notches, > 0 up
    hwheel: int = 0  # notches, > 0 right
    x: int | None = None  # absolute axis values, when they changed
    y: int | None = None
    finger: bool | None = None  # a touchpad's single finger touched (True) or left (False)
    buttons: list[tuple[str, bool]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.dx or self.dy or self.wheel or self.hwheel or self.x is not None or self.y is not None
                    or self.finger is not None or self.buttons)


@dataclass(eq=False)
class _Device:
    """A device being read: its record buffer, the frame being gathered, and what it holds down."""

    dev: OpenDevice
    records: RecordBuffer = field(default_factory=RecordBuffer)
    frame: list[InputEvent] = field(default_factory=list)
    dropping: bool = False  # after SYN_DROPPED until the next SYN_REPORT: events are incomplete
    held: set[int] = field(default_factory=set)  # keys and buttons down
    finger: bool = False  # touchpad: one finger on the pad, moving the pointer
    raw: list[int | None] = field(default_factory=lambda: [None, None])  # touchpad: the last ABS_X, ABS_Y

    @property
    def fd(self) -> int:
        return self.dev.fd

    def button(self, code: int) -> str | None:
        name = BUTTON_NAMES.get(code)
        if name is None and self.dev.info.pointer is PointerMode.ABSOLUTE:
            name = DIRECT_BUTTON_NAMES.get(code)
        return name


def _keyboard_key(code: int) -> bool:
    return code < BTN_MISC or KEY_OK <= code <= KEY_MAX


class EvdevInput:
    """The InputSource over evdev: any number of devices, read on one thread with `selectors`.

    Device fds are made non-blocking and read as they become ready, so the reader never waits on a
    device and never holds one up; a self-pipe wakes the thread to stop. A device that goes away
    (ENODEV when unplugged; end of file for a pipe) is dropped, with its held keys released, and
    the others read on. Takes ownership of the fds and the keymap, and closes them on stop().
    """

    def __init__(self, emit: Callable[[Event], None], now: Callable[[], int], devices: Iterable[OpenDevice],
                 keymap: Keymap, pointer: PointerTracker) -> None:
        self._emit = emit
        self._now = now
        self._keymap = keymap
        self._pointer = pointer
        self._devices = [_Device(d) for d in devices]
        for d in self._devices:
            os.set_blocking(d.fd, False)
        self._mods: dict[tuple[int, int], str] = {}  # modifier keys down, (fd, code) -> journal name
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._thread = threading.Thread(target=self._run, name="owntrace-evdev", daemon=True)
        self._closed = False

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._closed:
            return
        try:
            os.write(self._wake_w, b"\0")
        except BlockingIOError:
            pass  # the pipe is full of wake-ups already
        if self._thread.ident is not None:
            self._thread.join(5)
        if self._thread.is_alive():
            return  # stuck in emit(): closing its fds under it could hand the numbers to someone else
        self._closed = True
        for d in self._devices:
            os.close(d.fd)
        os.close(self._wake_r)
        os.close(self._wake_w)
        self._keymap.close()

    def alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(self._wake_r, selectors.EVENT_READ)
            for d in self._devices:
                selector.register(d.fd, selectors.EVENT_READ, d)
            while True:
                for key, _ in selector.select():
                    if key.data is None:
                        return
                    if not self._read(key.data):
                        selector.unregister(key.fd)
                        self._remove(key.data)

    def _read(self, d: _Device) -> bool:
        """Handle what the device has; False when it is gone."""
        try:
            data = os.read(d.fd, READ_RECORDS * INPUT_EVENT.size)
        except (BlockingIOError, InterruptedError):
            return True
        except OSError as e:  # ENODEV: unplugged
            _log.info("input device %s (%s) gone: %s", d.dev.info.path, d.dev.info.name, e)
            return False
        if not data:  # end of file: a pipe's writer closed (an evdev node fails with ENODEV instead)
            _log.info("input device %s (%s) closed", d.dev.info.path, d.dev.info.name)
            return False
        for event in d.records.feed(data):
            self._event(d, event)
        return True

    def _remove(self, d: _Device) -> None:
        """Release what the device held (a modifier left down would make all later typing shortcuts)."""
        self._frame(d, [InputEvent(0, 0, EV_KEY, code, KeyValue.RELEASE) for code in sorted(d.held)])
        self._devices.remove(d)
        os.close(d.fd)

    def _event(self, d: _Device, event: InputEvent) -> None:
        """Gather a frame up to SYN_REPORT, then handle it whole. SYN_DROPPED: the kernel's buffer for
        us overflowed, so this frame and all up to the next SYN_REPORT are incomplete: drop them, then
        resync to what is held now."""
        if event.type != EV_SYN:
            if not d.dropping:
                d.frame.append(event)
        elif event.code == SYN_DROPPED:
            d.dropping = True
            d.frame.clear()
        elif event.code == SYN_REPORT:
            frame, d.frame = d.frame, []
            if d.dropping:
                d.dropping = False
                self._resync(d)
            else:
                self._frame(d, frame)

    def _resync(self, d: _Device) -> None:
        """Press and release what changed while events were lost: the device says what it holds
        (EVIOCGKEY); one that cannot tell (a pipe) is taken to hold nothing."""
        down = keys_down(d.fd) or frozenset()
        d.finger, d.raw = BTN_TOOL_FINGER in down, [None, None]  # the finger's position is stale
        down = frozenset(c for c in down if _keyboard_key(c) or d.button(c))
        changes = [InputEvent(0, 0, EV_KEY, c, KeyValue.RELEASE) for c in sorted(d.held - down)]
        changes += [InputEvent(0, 0, EV_KEY, c, KeyValue.PRESS) for c in sorted(down - d.held)]
        self._frame(d, changes)

    def _frame(self, d: _Device, frame: list[InputEvent]) -> None:
        report = _Report()
        for e in frame:
            if e.type == EV_KEY:
                button = d.button(e.code)
                if button:
                    if e.value == KeyValue.PRESS:
                        d.held.add(e.code)
                        report.buttons.append((button, True))
                    elif e.value == KeyValue.RELEASE:
                        d.held.discard(e.code)
                        report.buttons.append((button, False))
                elif _keyboard_key(e.code) and 0 <= e.value <= KeyValue.REPEAT:
                    self._key(d, e.code, KeyValue(e.value))
                elif e.code == BTN_TOOL_FINGER and d.dev.info.pointer is PointerMode.TOUCHPAD:
                    report.finger = bool(e.value)
            elif e.type == EV_REL:
                if e.code == REL_X:
                    report.dx += e.value
                elif e.code == REL_Y:
                    report.dy += e.value
                elif e.code == REL_WHEEL:
                    report.wheel += e.value
                elif e.code == REL_HWHEEL:
                    report.hwheel += e.value
            elif e.type == EV_ABS and e.code == ABS_X:
                report.x = e.value
            elif e.type == EV_ABS and e.code == ABS_Y:
                report.y = e.value
        if report:
            self._pointer_report(d, report)

    def _key(self, d: _Device, code: int, value: KeyValue) -> None:
        t = self._now()
        if value is KeyValue.REPEAT and not self._keymap.repeats(code):
            return  # the compositor does not repeat Shift or Ctrl, so neither did the apps
        name, char = self._keymap.translate(code)
        if value is KeyValue.RELEASE:
            self._keymap.update(code, False)
            d.held.discard(code)
            self._mods.pop((d.fd, code), None)
            self._emit(Event(t, "key_up", {"key": name, "mods": self._held_mods()}))
            return
        mods = self._held_mods()
        if SHORTCUT_MODIFIERS.intersection(mods):
            char = ""  # a shortcut, not text
        if value is KeyValue.PRESS:
            self._keymap.update(code, True)
            d.held.add(code)
            if name in JOURNAL_MODIFIERS:
                self._mods[(d.fd, code)] = name
        self._emit(Event(t, "key_down", {"key": name, "char": char, "mods": mods}))

    def _held_mods(self) -> list[str]:
        names = set(self._mods.values())
        return [m for m in JOURNAL_MODIFIERS if m in names]

    def _pointer_report(self, d: _Device, report: _Report) -> None:
        t = self._now()
        pointer = self._pointer
        before = pointer.xy
        pointer.resync()
        pointer.relative(report.dx, report.dy)
        dev = d.dev
        if dev.info.pointer is PointerMode.ABSOLUTE and dev.x_axis and dev.y_axis:
            if report.x is not None:
                pointer.absolute(dev.x_axis, report.x, vertical=False)
            if report.y is not None:
                pointer.absolute(dev.y_axis, report.y, vertical=True)
        elif dev.info.pointer is PointerMode.TOUCHPAD and dev.x_axis and dev.y_axis:
            self._touchpad(d, report, dev.x_axis, dev.y_axis)
        x, y = pointer.xy
        if (x, y) != before:
            self._emit(Event(t, "move", {"x": x, "y": y}))
        for button, pressed in report.buttons:
            self._emit(Event(t, "click", {"x": x, "y": y, "button": button, "pressed": pressed}))
        if report.wheel or report.hwheel:
            self._emit(Event(t, "scroll", {"x": x, "y": y, "dx": report.hwheel, "dy": report.wheel}))

    def _touchpad(self, d: _Device, report: _Report, x_axis: AbsAxis, y_axis: AbsAxis) -> None:
        """A finger's motion on the pad moves the pointer by its delta, scaled from the pad's units to
        pixels. Taps and two-finger scrolling are libinput's own gestures: evdev has no event for them."""
        moving = d.finger and report.finger is not False  # touching before this frame and still
        if report.finger is not None:
            d.finger = report.finger
        if report.finger:
            d.raw = [None, None]  # a new touch: where the last one ended is no reference
        delta = [0.0, 0.0]
        for i, (axis, value) in enumerate(((x_axis, report.x), (y_axis, report.y))):
            if value is None:
                continue
            last, d.raw[i] = d.raw[i], value
            if moving and last is not None:
                units_per_mm = axis.resolution or max(1.0, (axis.maximum - axis.minimum) / TOUCHPAD_ASSUMED_MM)
                delta[i] = (value - last) * TOUCHPAD_PX_PER_MM / units_per_mm
        self._pointer.relative(*delta)
