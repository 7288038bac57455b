"""Key names in the journal, the same on every backend: what recorder/store/records.py calls a
key, and which key presses type text."""

from __future__ import annotations

# a backend's modifier names (pynput's, XKB's) -> the journal's
MODIFIER_NAMES = {"shift": "shift", "ctrl": "ctrl", "alt": "alt", "cmd": "super", "super": "super"}
JOURNAL_MODIFIERS = ("shift", "ctrl", "alt", "super")  # in the order `mods` lists them
TEXT_KEYS = {"space": " ", "enter": "\n", "tab": "\t"}
# keys that are actions of their own although they type a character
NAMED_TEXT_KEYS = frozenset({"enter", "tab"})
SHORTCUT_MODIFIERS = frozenset({"ctrl", "alt", "super"})  # held with a key, it is a shortcut, not text


def types_text(name: str, char: str) -> bool:
    """True for a key press that would put text on screen: what a policy without key text
    drops. Named keys (enter, tab, arrows, ...) and shortcuts (char already empty) are kept."""
    return bool(char) and name not in NAMED_TEXT_KEYS
