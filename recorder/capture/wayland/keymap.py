"""Kernel keycodes to journal key names, through the session's XKB keymap (libxkbcommon by ctypes).

evdev reports physical keys; which character a key types depends on the layout (on "de" the key
labelled Y on a US keyboard types "z") and on the modifiers held (Shift, AltGr). libxkbcommon
compiles the same layout the compositor uses and tracks that state, so the names match what
pynput reports on X11: the character typed ("a", "A", "!", "@") or a named key ("enter", "f1").
"""

from __future__ import annotations

import ctypes
import os
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from recorder.capture.keynames import MODIFIER_NAMES, TEXT_KEYS
from recorder.errors import OwnTraceError

XKB_KEYCODE_OFFSET = 8  # XKB keycodes are evdev's + 8, an X11 legacy (keycodes below 8 were reserved)
XKB_CONTEXT_NO_ENVIRONMENT_NAMES = 1 << 1  # we resolve the names ourselves, so the error can say which
XKB_KEY_UP, XKB_KEY_DOWN = 0, 1
XKB_LOG_LEVEL_CRITICAL = 10  # compile errors become one OwnTraceError, not lines of library log on stderr
KEYBOARD_FILE = Path("/etc/default/keyboard")

# keysym names (xkb_keysym_get_name) -> pynput's key names, before MODIFIER_NAMES and TEXT_KEYS
NAMED_KEYSYMS: dict[str, str] = {
    "Return": "enter", "KP_Enter": "enter", "Linefeed": "enter",
    "Tab": "tab", "ISO_Left_Tab": "tab",  # Shift+Tab
    "space": "space", "BackSpace": "backspace", "Delete": "delete", "Escape": "esc", "Insert": "insert",
    "Left": "left", "Right": "right", "Up": "up", "Down": "down", "Home": "home", "End": "end",
    "Prior": "page_up", "Page_Up": "page_up", "Next": "page_down", "Page_Down": "page_down",
    # the keypad with Num Lock off: pynput names these as the keys they stand for
    "KP_Left": "left", "KP_Right": "right", "KP_Up": "up", "KP_Down": "down", "KP_Home": "home",
    "KP_End": "end", "KP_Prior": "page_up", "KP_Next": "page_down", "KP_Insert": "insert", "KP_Delete": "delete",
    "Caps_Lock": "caps_lock", "Num_Lock": "num_lock", "Scroll_Lock": "scroll_lock", "Pause": "pause",
    "Print": "print_screen", "Menu": "menu",
    "Shift_L": "shift", "Shift_R": "shift", "Control_L": "ctrl", "Control_R": "ctrl",
    # Meta_L is Shift+Alt on XKB's alt key: still the alt key being held
    "Alt_L": "alt", "Alt_R": "alt", "Meta_L": "alt", "Meta_R": "alt",
    "Super_L": "super", "Super_R": "super", "Hyper_L": "super", "Hyper_R": "super",
    "ISO_Level3_Shift": "altgr",
    "XF86AudioPlay": "media_play_pause", "XF86AudioMute": "media_volume_mute",
    "XF86AudioLowerVolume": "media_volume_down", "XF86AudioRaiseVolume": "media_volume_up",
    "XF86AudioPrev": "media_previous", "XF86AudioNext": "media_next",
    **{f"F{n}": f"f{n}" for n in range(1, 25)},
}


@dataclass(frozen=True)
class RuleNames:
    """An XKB keymap by RMLVO names, as `setxkbmap -query` shows them; empty means the library default."""

    layout: str = "us"
    variant: str = ""
    model: str = ""
    options: str = ""
    rules: str = ""

    @classmethod
    def from_session(cls, env: Mapping[str, str] | None = None, keyboard_file: Path = KEYBOARD_FILE) -> RuleNames:
        """The session's layout: the XKB_DEFAULT_* variables (what compositors such as sway read),
        else the system's /etc/default/keyboard (Debian, Ubuntu), else "us". Each source whole:
        a variant only means something with the layout it came with."""
        env = os.environ if env is None else env
        if env.get("XKB_DEFAULT_LAYOUT"):
            return cls(env["XKB_DEFAULT_LAYOUT"], env.get("XKB_DEFAULT_VARIANT", ""), env.get("XKB_DEFAULT_MODEL", ""),
                       env.get("XKB_DEFAULT_OPTIONS", ""), env.get("XKB_DEFAULT_RULES", ""))
        try:
            text = keyboard_file.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return cls()
        values = dict(word.split("=", 1) for line in text.splitlines() for word in shlex.split(line, comments=True)
                      if "=" in word)
        if not values.get("XKBLAYOUT"):
            return cls()
        return cls(values["XKBLAYOUT"], values.get("XKBVARIANT", ""), values.get("XKBMODEL", ""),
                   values.get("XKBOPTIONS", ""))

    def __str__(self) -> str:
        parts = [f"layout {self.layout!r}"]
        parts += [f"{k} {v!r}" for k, v in (("variant", self.variant), ("model", self.model),
                                            ("options", self.options), ("rules", self.rules)) if v]
        return ", ".join(parts)


class _RuleNamesStruct(ctypes.Structure):
    _fields_ = [(name, ctypes.c_char_p) for name in ("rules", "model", "layout", "variant", "options")]


def _load() -> ctypes.CDLL:
    try:
        lib = ctypes.CDLL("libxkbcommon.so.0")
    except OSError:
        raise OwnTraceError("libxkbcommon is not installed: key presses cannot be turned into characters",
                            "install it (Debian/Ubuntu: apt install libxkbcommon0; Fedora: dnf install libxkbcommon)"
                            ) from None
    p, u32, i, size = ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_size_t
    for name, restype, argtypes in (
        ("xkb_context_new", p, [i]),
        ("xkb_context_set_log_level", None, [p, i]),
        ("xkb_context_unref", None, [p]),
        ("xkb_keymap_new_from_names", p, [p, ctypes.POINTER(_RuleNamesStruct), i]),
        ("xkb_keymap_key_repeats", i, [p, u32]),
        ("xkb_keymap_unref", None, [p]),
        ("xkb_state_new", p, [p]),
        ("xkb_state_update_key", i, [p, u32, i]),
        ("xkb_state_key_get_utf8", i, [p, u32, ctypes.c_char_p, size]),
        ("xkb_state_key_get_one_sym", u32, [p, u32]),
        ("xkb_state_unref", None, [p]),
        ("xkb_keysym_get_name", i, [u32, ctypes.c_char_p, size]),
        ("xkb_keysym_to_utf8", i, [u32, ctypes.c_char_p, size]),
    ):
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = restype, argtypes
    return lib


class Keymap:
    """One keyboard state over a compiled layout. Used from the input reader's thread alone."""

    def __init__(self, names: RuleNames | None = None) -> None:
        self.names = names or RuleNames()
        self._lib = lib = _load()
        self._context = lib.xkb_context_new(XKB_CONTEXT_NO_ENVIRONMENT_NAMES)
        if not self._context:
            raise OwnTraceError("libxkbcommon could not start (out of memory?)", "try again")
        lib.xkb_context_set_log_level(self._context, XKB_LOG_LEVEL_CRITICAL)
        n = self.names
        rmlvo = _RuleNamesStruct(*(v.encode() or None for v in (n.rules, n.model, n.layout, n.variant, n.options)))
        self._keymap = lib.xkb_keymap_new_from_names(self._context, ctypes.byref(rmlvo), 0)
        if not self._keymap:
            lib.xkb_context_unref(self._context)
            raise OwnTraceError(
                f"the keyboard layout ({self.names}) does not compile with libxkbcommon",
                "check XKB_DEFAULT_LAYOUT/_VARIANT/_OPTIONS, or XKBLAYOUT in /etc/default/keyboard; "
                "the layouts come with xkb-data (/usr/share/X11/xkb)")
        self._state = lib.xkb_state_new(self._keymap)
        self._buf = ctypes.create_string_buffer(64)

    def translate(self, code: int) -> tuple[str, str]:
        """(name, char) of evdev key `code` pressed now, in the state before this press: name as
        pynput gives it; char the text it types ("" for named keys but space, enter, tab, and
        for control characters, e.g. Ctrl+C)."""
        kc = code + XKB_KEYCODE_OFFSET
        sym = self._lib.xkb_state_key_get_one_sym(self._state, kc)  # with Shift / Caps Lock applied
        named = NAMED_KEYSYMS.get(self._text(self._lib.xkb_keysym_get_name, sym))
        if named:
            name = MODIFIER_NAMES.get(named, named)
            return name, TEXT_KEYS.get(name, "")
        text = self._text(self._lib.xkb_state_key_get_utf8, self._state, kc)
        char = text if text.isprintable() else ""
        # the keysym's own character names the key: unlike the text, not turned into "\x03" by Ctrl
        glyph = self._text(self._lib.xkb_keysym_to_utf8, sym) or char
        if glyph and glyph.isprintable():
            return glyph, char
        return f"vk{sym}", ""  # as pynput names a keysym it has no name for (on X11 its vk is the keysym)

    def update(self, code: int, pressed: bool) -> None:
        """The key went down or up: the state follows (Shift held, AltGr, Caps Lock toggled)."""
        self._lib.xkb_state_update_key(self._state, code + XKB_KEYCODE_OFFSET, XKB_KEY_DOWN if pressed else XKB_KEY_UP)

    def repeats(self, code: int) -> bool:
        """Whether the layout autorepeats this key: compositors repeat letters, not Shift or Ctrl,
        as the X server does, although the kernel repeats every key."""
        return bool(self._lib.xkb_keymap_key_repeats(self._keymap, code + XKB_KEYCODE_OFFSET))

    def close(self) -> None:
        if self._context:
            self._lib.xkb_state_unref(self._state)
            self._lib.xkb_keymap_unref(self._keymap)
            self._lib.xkb_context_unref(self._context)
            self._context = self._keymap = self._state = None

    def _text(self, fn: Callable[..., int], *args: object) -> str:
        """The string an xkbcommon function writes into a buffer ("" for none)."""
        n = fn(*args, self._buf, len(self._buf))
        return self._buf.value.decode("utf-8", "replace") if 0 < n < len(self._buf) else ""
