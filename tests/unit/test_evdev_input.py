"""The Wayland input source without devices: real `struct input_event` records, packed as the kernel
writes them, go through pipes into the real EvdevInput reader and the real libxkbcommon keymap;
the journal events that come out must be those the X11 listener makes (recorder/capture/input.py)."""

from __future__ import annotations

import os
import queue
import struct
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from recorder.capture.wayland.evdev import (
    EVIOCGKEY,
    AbsAxis,
    DeviceInfo,
    EvdevInput,
    InputEvent,
    OpenDevice,
    PointerMode,
    PointerTracker,
    RecordBuffer,
    _why_unreadable,
    eviocgabs,
    input_devices,
    parse_devices,
    unreadable,
)
from recorder.capture.wayland.keymap import Keymap, RuleNames
from recorder.errors import OwnTraceError
from recorder.store.records import Event

# the kernel's record on 64-bit Linux, spelled out here on its own: timeval (2 longs), type, code, value
KERNEL_EVENT = struct.Struct("@llHHi")
EV_SYN, EV_KEY, EV_REL, EV_ABS, EV_MSC = 0, 1, 2, 3, 4
SYN_REPORT, SYN_DROPPED, MSC_SCAN = 0, 3, 4
REL_X, REL_Y, REL_HWHEEL, REL_WHEEL, REL_WHEEL_HI_RES = 0, 1, 6, 8, 11
ABS_X, ABS_Y = 0, 1
BTN_LEFT, BTN_TOOL_PEN, BTN_TOOL_FINGER, BTN_TOUCH = 0x110, 0x140, 0x145, 0x14A
KEY_ESC, KEY_1, KEY_Q, KEY_Y, KEY_I, KEY_ENTER, KEY_LEFTCTRL, KEY_A, KEY_H = 1, 2, 16, 21, 23, 28, 29, 30, 35
KEY_LEFTSHIFT, KEY_Z, KEY_C, KEY_B, KEY_RIGHTALT = 42, 44, 46, 48, 100

HAS_XKB_DE = Path("/usr/share/X11/xkb/symbols/de").exists()
BOUNDS = (0, 0, 1920, 1080)

# /proc/bus/input/devices of a laptop with a mouse and a tablet, as the kernel prints it
PROC_DEVICES = """\
I: Bus=0019 Vendor=0000 Product=0001 Version=0000
N: Name="Power Button"
P: Phys=LNXPWRBN/button/input0
S: Sysfs=/devices/LNXSYSTM:00/LNXPWRBN:00/input/input0
U: Uniq=
H: Handlers=kbd event0
B: PROP=0
B: EV=3
B: KEY=10000000000000 0

I: Bus=0011 Vendor=0001 Product=0001 Version=ab83
N: Name="AT Translated Set 2 keyboard"
P: Phys=isa0060/serio0/input0
S: Sysfs=/devices/platform/i8042/serio0/input/input3
U: Uniq=
H: Handlers=sysrq kbd leds event3
B: PROP=0
B: EV=120013
B: KEY=402000000 3803078f800d001 feffffdfffefffff fffffffffffffffe
B: MSC=10
B: LED=7

I: Bus=0003 Vendor=046d Product=c077 Version=0111
N: Name="Logitech USB Optical Mouse"
P: Phys=usb-0000:00:14.0-2/input0
S: Sysfs=/devices/pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0/0003:046D:C077.0002/input/input7
U: Uniq=
H: Handlers=mouse0 event5
B: PROP=0
B: EV=17
B: KEY=ff0000 0 0 0 0
B: REL=1943
B: MSC=10

I: Bus=0003 Vendor=056a Product=0374 Version=0110
N: Name="Wacom Intuos S Pen"
P: Phys=usb-0000:00:14.0-3/input0
S: Sysfs=/devices/pci0000:00/0000:00:14.0/usb1/1-3/1-3:1.0/0003:056A:0374.0003/input/input9
U: Uniq=
H: Handlers=mouse1 event7
B: PROP=1
B: EV=1b
B: KEY=1c03 0 0 0 0 0
B: ABS=3000003
B: MSC=1

I: Bus=0018 Vendor=06cb Product=7a13 Version=0100
N: Name="SYNA2393:00 06CB:7A13 Touchpad"
P: Phys=i2c-SYNA2393:00
S: Sysfs=/devices/pci0000:00/0000:00:15.1/i2c_designware.1/i2c-2/i2c-SYNA2393:00/0018:06CB:7A13.0001/input/input11
U: Uniq=
H: Handlers=mouse2 event9
B: PROP=5
B: EV=1b
B: KEY=e520 10000 0 0 0 0
B: ABS=2e0800000000003
B: MSC=20
"""
DEVICES = {d.name.split()[0]: d for d in parse_devices(PROC_DEVICES)}  # AT, Logitech, Wacom, SYNA2393:00, Power
TABLET_X, TABLET_Y = AbsAxis(0, 19199, 200), AbsAxis(0, 10799, 200)
PAD_X, PAD_Y = AbsAxis(0, 4000, 40), AbsAxis(0, 2400, 40)


def ev(type_: int, code: int, value: int) -> bytes:
    t = time.time_ns() // 1000
    return KERNEL_EVENT.pack(t // 1_000_000, t % 1_000_000, type_, code, value)


SYN = ev(EV_SYN, SYN_REPORT, 0)


def key(code: int, value: int) -> bytes:
    """A keyboard's frame: the scancode, the key, the report."""
    return ev(EV_MSC, MSC_SCAN, 0x70000 + code) + ev(EV_KEY, code, value) + SYN


def tap(code: int) -> bytes:
    return key(code, 1) + key(code, 0)


def down(name: str, char: str, mods: tuple[str, ...] = ()) -> tuple[str, dict[str, object]]:
    return "key_down", {"key": name, "char": char, "mods": list(mods)}


def up(name: str, mods: tuple[str, ...] = ()) -> tuple[str, dict[str, object]]:
    return "key_up", {"key": name, "mods": list(mods)}


class Rig:
    """EvdevInput reading the write ends of pipes standing in for the sample's devices."""

    def __init__(self, layout: str = "us", position=None) -> None:
        self.events: queue.Queue[Event] = queue.Queue()
        self.writers: dict[str, int] = {}
        opened = []
        for short, axes in (("AT", ()), ("Logitech", ()), ("Wacom", (TABLET_X, TABLET_Y)), ("SYNA2393:00", (PAD_X, PAD_Y))):
            r, self.writers[short] = os.pipe()
            opened.append(OpenDevice(r, DEVICES[short], *axes))
        self.input = EvdevInput(self.events.put, time.monotonic_ns, opened, Keymap(RuleNames(layout)),
                                PointerTracker(BOUNDS, position))
        self.input.start()

    def write(self, device: str, *frames: bytes) -> None:
        os.write(self.writers[device], b"".join(frames))

    def take(self, n: int) -> list[tuple[str, dict[str, object]]]:
        return [(e.kind, e.data) for e in (self.events.get(timeout=5) for _ in range(n))]

    def quiet(self) -> bool:
        time.sleep(0.1)
        return self.events.empty()

    def close(self) -> None:
        self.input.stop()
        for w in self.writers.values():
            os.close(w)


@pytest.fixture
def rig() -> Iterator[Rig]:
    r = Rig()
    yield r
    r.close()


def test_kernel_record_layout_and_ioctl_numbers() -> None:
    assert KERNEL_EVENT.size == 24
    # as <linux/input.h> computes them (compiled with gcc on x86-64)
    assert (eviocgabs(ABS_X), eviocgabs(ABS_Y), EVIOCGKEY) == (0x80184540, 0x80184541, 0x80604518)


def test_proc_devices_classified(tmp_path: Path) -> None:
    kbd, mouse, tablet, pad, power = (DEVICES[k] for k in ("AT", "Logitech", "Wacom", "SYNA2393:00", "Power"))
    assert (kbd.node, kbd.path, kbd.name) == ("event3", "/dev/input/event3", "AT Translated Set 2 keyboard")
    assert [d.keyboard for d in (kbd, mouse, tablet, pad, power)] == [True, False, False, False, False]
    assert [d.pointer for d in (kbd, mouse, tablet, pad, power)] == [
        None, PointerMode.RELATIVE, PointerMode.ABSOLUTE, PointerMode.TOUCHPAD, None]
    assert {REL_X, REL_Y, REL_WHEEL, REL_HWHEEL, REL_WHEEL_HI_RES} <= mouse.rels
    assert set(range(BTN_LEFT, BTN_LEFT + 8)) <= mouse.keys
    assert {BTN_TOOL_PEN, BTN_TOUCH} <= tablet.keys and {ABS_X, ABS_Y} <= tablet.axes
    assert power.keys == {116}  # KEY_POWER: keys, but no letters
    listing = tmp_path / "proc/bus/input/devices"
    listing.parent.mkdir(parents=True)
    listing.write_text(PROC_DEVICES)
    found = input_devices(tmp_path)
    assert [d.node for d in found] == ["event3", "event5", "event7", "event9"]
    assert found[0].path == f"{tmp_path}/dev/input/event3"
    assert input_devices(tmp_path / "missing") == []


def test_unreadable_devices_say_why() -> None:
    gone = unreadable([DeviceInfo("Ghost keyboard", "event99")])  # no /dev/input here at all
    assert [u.line() for u in gone] == ["/dev/input/event99 (Ghost keyboard): cannot stat the device node: "
                                        "No such file or directory"]
    node = os.stat_result((0o20660, 0, 0, 1, 0, 4242, 0, 0, 0, 0))  # root:4242 crw-rw----, a group we are not in
    assert _why_unreadable(node) == "owned by root:4242, mode 0660: you are not in group '4242' and have no ACL on it"
    private = os.stat_result((0o20600, 0, 0, 1, 0, 4242, 0, 0, 0, 0))
    assert "not even its group may read it" in _why_unreadable(private)


def test_partial_records_are_buffered() -> None:
    data = key(KEY_A, 1)
    buffer = RecordBuffer()
    got: list[InputEvent] = []
    for i in range(0, len(data), 7):  # 7 does not divide 24: every record arrives in pieces
        got += buffer.feed(data[i:i + 7])
    assert [(e.type, e.code, e.value) for e in got] == [(EV_MSC, MSC_SCAN, 0x70000 + KEY_A), (EV_KEY, KEY_A, 1),
                                                         (EV_SYN, SYN_REPORT, 0)]


def test_partial_reads_through_the_reader(rig: Rig) -> None:
    data = tap(KEY_A)
    rig.write("AT", data[:37])
    assert rig.quiet()  # one and a half records: no frame yet
    rig.write("AT", data[37:])
    assert rig.take(2) == [down("a", "a"), up("a")]


def test_typing_with_shift_and_enter(rig: Rig) -> None:
    rig.write("AT", key(KEY_LEFTSHIFT, 1), tap(KEY_H), key(KEY_LEFTSHIFT, 0), tap(KEY_I),
              key(KEY_LEFTSHIFT, 1), tap(KEY_1), key(KEY_LEFTSHIFT, 0), tap(KEY_ENTER))
    assert rig.take(12) == [
        down("shift", ""), down("H", "H", ("shift",)), up("H", ("shift",)), up("shift"),
        down("i", "i"), up("i"),
        down("shift", ""), down("!", "!", ("shift",)), up("!", ("shift",)), up("shift"),
        down("enter", "\n"), up("enter"),
    ]


def test_shortcut_has_no_char(rig: Rig) -> None:
    rig.write("AT", key(KEY_LEFTCTRL, 1), tap(KEY_C), key(KEY_LEFTCTRL, 0), tap(KEY_ESC))
    assert rig.take(6) == [down("ctrl", ""), down("c", "", ("ctrl",)), up("c", ("ctrl",)), up("ctrl"),
                           down("esc", ""), up("esc")]


def test_autorepeat_repeats_letters_not_modifiers(rig: Rig) -> None:
    rig.write("AT", key(KEY_LEFTSHIFT, 1), key(KEY_LEFTSHIFT, 2), key(KEY_LEFTSHIFT, 2), key(KEY_LEFTSHIFT, 0),
              key(KEY_A, 1), key(KEY_A, 2), key(KEY_A, 2), key(KEY_A, 0))
    assert rig.take(6) == [down("shift", ""), up("shift"), down("a", "a"), down("a", "a"), down("a", "a"), up("a")]
    assert rig.quiet()


def test_syn_dropped_drops_the_frame_and_releases_what_a_pipe_cannot_confirm(rig: Rig) -> None:
    rig.write("AT", key(KEY_LEFTSHIFT, 1))
    assert rig.take(1) == [down("shift", "")]
    # the kernel's buffer for us overflowed: the rest of that frame and the next one are incomplete
    rig.write("AT", ev(EV_KEY, KEY_Z, 1), ev(EV_SYN, SYN_DROPPED, 0), ev(EV_KEY, KEY_A, 1), SYN)
    assert rig.take(1) == [up("shift")]  # resynced: a pipe holds nothing (a device would say, EVIOCGKEY)
    rig.write("AT", tap(KEY_B))
    assert rig.take(2) == [down("b", "b"), up("b")]  # XKB's Shift released too: "b", not "B"


def test_absolute_click_maps_to_pixels(rig: Rig) -> None:
    # pen in proximity a quarter into the tablet, tip down, tip up; then its far corner
    rig.write("Wacom", ev(EV_ABS, ABS_X, 4800), ev(EV_ABS, ABS_Y, 2700), ev(EV_KEY, BTN_TOOL_PEN, 1), SYN,
              ev(EV_KEY, BTN_TOUCH, 1), SYN, ev(EV_KEY, BTN_TOUCH, 0), SYN,
              ev(EV_ABS, ABS_X, 19199), ev(EV_ABS, ABS_Y, 10799), SYN)
    assert rig.take(4) == [
        ("move", {"x": 480, "y": 270}),
        ("click", {"x": 480, "y": 270, "button": "left", "pressed": True}),
        ("click", {"x": 480, "y": 270, "button": "left", "pressed": False}),
        ("move", {"x": 1919, "y": 1079}),
    ]


def test_relative_motion_is_clamped_and_scrolls_in_notches(rig: Rig) -> None:
    rig.write("Logitech", ev(EV_REL, REL_X, 100), ev(EV_REL, REL_Y, -50), SYN,  # from the middle, 960, 540
              ev(EV_REL, REL_X, 5000), SYN, ev(EV_REL, REL_Y, -9999), SYN,
              ev(EV_KEY, BTN_LEFT, 1), SYN, ev(EV_KEY, BTN_LEFT, 0), SYN,
              ev(EV_REL, REL_WHEEL, 1), ev(EV_REL, REL_WHEEL_HI_RES, 120), SYN,  # hi-res is not counted again
              ev(EV_REL, REL_HWHEEL, -1), SYN)
    assert rig.take(7) == [
        ("move", {"x": 1060, "y": 490}), ("move", {"x": 1919, "y": 490}), ("move", {"x": 1919, "y": 0}),
        ("click", {"x": 1919, "y": 0, "button": "left", "pressed": True}),
        ("click", {"x": 1919, "y": 0, "button": "left", "pressed": False}),
        ("scroll", {"x": 1919, "y": 0, "dx": 0, "dy": 1}),
        ("scroll", {"x": 1919, "y": 0, "dx": -1, "dy": 0}),
    ]


def test_touchpad_moves_by_finger_deltas(rig: Rig) -> None:
    # 40 units a mm: 400 units is 10 mm, 120 px; a new touch elsewhere does not jump; 40 units down is 12 px
    rig.write("SYNA2393:00", ev(EV_ABS, ABS_X, 1000), ev(EV_ABS, ABS_Y, 500), ev(EV_KEY, BTN_TOUCH, 1),
              ev(EV_KEY, BTN_TOOL_FINGER, 1), SYN, ev(EV_ABS, ABS_X, 1400), SYN,
              ev(EV_KEY, BTN_TOUCH, 0), ev(EV_KEY, BTN_TOOL_FINGER, 0), SYN,
              ev(EV_ABS, ABS_X, 3000), ev(EV_ABS, ABS_Y, 2000), ev(EV_KEY, BTN_TOUCH, 1),
              ev(EV_KEY, BTN_TOOL_FINGER, 1), SYN, ev(EV_ABS, ABS_Y, 2040), SYN)
    assert rig.take(2) == [("move", {"x": 1080, "y": 540}), ("move", {"x": 1080, "y": 552})]
    assert rig.quiet()  # touching is not clicking on a touchpad


def test_a_closed_device_is_dropped_and_its_keys_released(rig: Rig) -> None:
    rig.write("AT", key(KEY_LEFTSHIFT, 1))
    assert rig.take(1) == [down("shift", "")]
    os.close(rig.writers.pop("AT"))  # the keyboard goes away holding Shift
    assert rig.take(1) == [up("shift")]
    rig.write("Logitech", ev(EV_REL, REL_X, 1), SYN)
    assert rig.take(1) == [("move", {"x": 961, "y": 540})]
    assert rig.input.alive()


def test_stop_is_prompt_and_closes_the_devices(rig: Rig) -> None:
    assert rig.input.alive()
    t0 = time.monotonic()
    rig.input.stop()
    assert time.monotonic() - t0 < 0.5
    assert not rig.input.alive()
    with pytest.raises(BrokenPipeError):  # the reader's end is closed
        rig.write("Logitech", SYN)


def test_position_hook_resyncs_the_estimate() -> None:
    real: list[tuple[int, int] | None] = [None]
    tracker = PointerTracker((-1920, 0, 3840, 1080), lambda: real[0])  # a monitor left of the primary
    assert tracker.xy == (0, 540)
    tracker.relative(-5000, 0)
    assert tracker.xy == (-1920, 540)
    real[0] = (100, 200)
    tracker.resync()
    tracker.relative(10, 0)
    assert tracker.xy == (110, 200)
    tracker.resync()  # the same report again is old news: the estimate moves on from it
    assert tracker.xy == (110, 200)
    tracker.absolute(AbsAxis(0, 99), 99, vertical=False)
    assert tracker.xy == (-1920 + 3801, 200)  # 99 * 3840 / 100 from the left edge


@pytest.mark.skipif(not HAS_XKB_DE, reason="xkb-data (/usr/share/X11/xkb) is not installed")
def test_german_layout_through_the_reader() -> None:
    rig = Rig("de")
    try:
        rig.write("AT", tap(KEY_Y), tap(KEY_Z), key(KEY_RIGHTALT, 1), tap(KEY_Q), key(KEY_RIGHTALT, 0))
        assert rig.take(8) == [down("z", "z"), up("z"), down("y", "y"), up("y"),
                               down("altgr", ""), down("@", "@"), up("@"), up("altgr")]
    finally:
        rig.close()


def test_keymap_names_match_pynput() -> None:
    us = Keymap(RuleNames("us"))
    try:
        assert us.translate(KEY_RIGHTALT) == ("alt", "")  # on "us" right Alt is Alt_R, not AltGr
        assert [us.translate(c)[0] for c in (14, 15, 57, 59, 88, 102, 104, 109, 103, 111, 110, 58, 125)] == [
            "backspace", "tab", "space", "f1", "f12", "home", "page_up", "page_down", "up", "delete", "insert",
            "caps_lock", "super"]
        us.update(KEY_LEFTSHIFT, True)
        assert us.translate(15) == ("tab", "\t")  # Shift+Tab is ISO_Left_Tab in XKB
    finally:
        us.close()


def test_layout_names_from_the_session(tmp_path: Path) -> None:
    keyboard = tmp_path / "keyboard"
    keyboard.write_text('# KEYBOARD CONFIGURATION FILE\nXKBMODEL="pc105"\nXKBLAYOUT="de"\nXKBVARIANT="nodeadkeys"\n'
                        'XKBOPTIONS=""\n\nBACKSPACE="guess"\n')
    assert RuleNames.from_session({}, keyboard) == RuleNames("de", "nodeadkeys", "pc105")
    env = {"XKB_DEFAULT_LAYOUT": "fr", "XKB_DEFAULT_OPTIONS": "ctrl:nocaps"}
    assert RuleNames.from_session(env, keyboard) == RuleNames("fr", options="ctrl:nocaps")
    assert RuleNames.from_session({}, tmp_path / "missing") == RuleNames("us")


def test_a_layout_that_does_not_compile_is_a_clear_error() -> None:
    with pytest.raises(OwnTraceError, match="layout 'xx'.*does not compile") as e:
        Keymap(RuleNames("xx"))
    assert "XKB_DEFAULT_LAYOUT" in e.value.hint


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_alive_is_false_when_the_reader_died() -> None:
    def broken(event: Event) -> None:
        raise RuntimeError("the writer is gone")

    r, w = os.pipe()
    source = EvdevInput(broken, time.monotonic_ns, [OpenDevice(r, DEVICES["AT"])], Keymap(RuleNames("us")),
                        PointerTracker(BOUNDS))
    source.start()
    os.write(w, tap(KEY_A))
    deadline = time.monotonic() + 5
    while source.alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not source.alive()
    source.stop()
    os.close(w)
