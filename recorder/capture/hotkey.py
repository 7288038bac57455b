"""The pause hotkey, kept out of the recording.

Modifier presses that could start the hotkey are held back until it is clear whether the
hotkey follows: if it does, they are dropped together with the trigger key and the matching
releases; if anything else happens, they are released into the recording in their original
order and with their original times. Pure: feed key events, get the events to record.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from recorder.errors import OwnTraceError
from recorder.store.records import Event

MODIFIERS = ("ctrl", "alt", "shift", "super")


@dataclass(frozen=True)
class Hotkey:
    mods: frozenset[str]
    key: str

    @classmethod
    def parse(cls, text: str) -> Hotkey:
        parts = [p.strip().lower() for p in text.split("+") if p.strip()]
        mods = [p for p in parts if p in MODIFIERS]
        keys = [p for p in parts if p not in MODIFIERS]
        if len(keys) != 1 or not mods:
            raise OwnTraceError(
                f"pause_hotkey {text!r} is not a modifier combination like ctrl+alt+shift+p",
                "fix [capture] pause_hotkey in config.toml",
            )
        return cls(frozenset(mods), keys[0])


@dataclass
class HotkeyFilter:
    hotkey: Hotkey
    _held: list[Event] = field(default_factory=list)  # held-back modifier presses
    _swallowed: set[str] = field(default_factory=set)  # keys whose release must be dropped

    def feed(self, ev: Event) -> tuple[list[Event], bool]:
        """Returns (events to record, whether the hotkey was pressed)."""
        key = str(ev.get("key", "")).lower()
        if ev.kind == "key_up":
            if key in self._swallowed:
                self._swallowed.discard(key)
                return [], False
            return self._release_held() + [ev], False
        if ev.kind == "move":
            return [ev], False
        if ev.kind != "key_down":  # ctrl+click: the held ctrl goes in before the click
            return self._release_held() + [ev], False
        if key in self._swallowed:  # auto-repeat of a key the hotkey consumed
            return [], False
        held_mods = {str(h.get("key")) for h in self._held}
        if key in self.hotkey.mods and key not in held_mods:
            self._held.append(ev)
            return [], False
        # the modifiers may still be down from the previous toggle (pressing p twice)
        if key == self.hotkey.key and held_mods | (self._swallowed & self.hotkey.mods) == self.hotkey.mods:
            self._swallowed |= held_mods | {key}
            self._held.clear()
            return [], True
        return self._release_held() + [ev], False

    def _release_held(self) -> list[Event]:
        out, self._held = self._held, []
        return out
