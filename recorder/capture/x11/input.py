"""Keyboard and mouse on X11 from pynput (XRecord), turned into journal events.

Callbacks run on pynput's listener threads; each builds an Event stamped with the session
clock and hands it on at once, so the X record buffer never backs up.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable

from recorder.capture.keynames import JOURNAL_MODIFIERS, MODIFIER_NAMES, SHORTCUT_MODIFIERS, TEXT_KEYS
from recorder.store.records import Event

# keysyms pynput cannot name: Linefeed (what `xdotool type` sends for "\n"), Return, KP_Enter
ENTER_KEYSYMS = frozenset({0xFF0A, 0xFF0D, 0xFF8D})


def key_name(key) -> tuple[str, str]:
    """(name, char) of a pynput key: names as in recorder/store/records.py, char as typed."""
    name = getattr(key, "name", None)
    if name:  # a pynput.keyboard.Key
        base = name.removesuffix("_l").removesuffix("_r")
        if base == "alt_gr":
            return "altgr", ""
        return MODIFIER_NAMES.get(base, base), TEXT_KEYS.get(base, "")
    char = getattr(key, "char", None)
    if char:
        return char, char
    vk = getattr(key, "vk", 0)
    if vk in ENTER_KEYSYMS:
        return "enter", TEXT_KEYS["enter"]
    return f"vk{vk}", ""


def _flush_record_disable(listener) -> None:
    """pynput's xorg stop() queues RecordDisableContext without flushing it, so its thread only
    ends at the next input event; send the same request on a connection of our own."""
    context = getattr(listener, "_context", None)
    if context is None:
        return
    from Xlib import display, error

    try:
        d = display.Display()
        d.record_disable_context(context)
        d.flush()
        d.close()
    except (error.DisplayError, error.XError, error.ConnectionClosedError, OSError):
        pass  # the server is gone, and with it the listener's connection


_listener_threads: weakref.WeakSet[threading.Thread] = weakref.WeakSet()
_default_excepthook = threading.excepthook


def _quiet_when_the_server_is_gone(args: threading.ExceptHookArgs) -> None:
    """pynput's listener threads raise when the X server closes under them (a desktop session
    ending, the demo's Xvfb stopping): nothing is lost then, since the recorder notices the
    server going away on its own, so no traceback is printed for it."""
    from Xlib import error

    gone = (error.ConnectionClosedError, BrokenPipeError, ConnectionResetError)
    if args.thread in _listener_threads and isinstance(args.exc_value, gone):
        return
    _default_excepthook(args)


class InputListeners:
    """Starts pynput's keyboard and mouse listeners; `emit(event)` gets every input event."""

    def __init__(self, emit: Callable[[Event], None], now: Callable[[], int]) -> None:
        from pynput import keyboard, mouse  # needs a display at import time

        self._emit = emit
        self._now = now
        self._held: dict[object, str] = {}  # modifier keys down (left and right apart) -> name
        self._keyboard = keyboard.Listener(on_press=self._press, on_release=self._release)
        self._mouse = mouse.Listener(on_move=self._move, on_click=self._click, on_scroll=self._scroll)

    def start(self) -> None:
        threading.excepthook = _quiet_when_the_server_is_gone
        _listener_threads.update((self._keyboard, self._mouse))
        self._keyboard.start()
        self._mouse.start()
        self._keyboard.wait()
        self._mouse.wait()

    def stop(self) -> None:
        from Xlib import error

        for listener in (self._keyboard, self._mouse):
            try:
                listener.stop()
            except (error.ConnectionClosedError, OSError, AttributeError):
                # the X server is gone, and with it what there was to stop (Xlib empties a closed
                # connection's request queue to None: a request on it is an AttributeError)
                pass
            _flush_record_disable(listener)
            if listener.ident is not None:
                listener.join(5)

    def alive(self) -> bool:
        return self._keyboard.is_alive() and self._mouse.is_alive()

    def _mods(self) -> list[str]:
        names = set(self._held.values())
        return [m for m in JOURNAL_MODIFIERS if m in names]

    def _press(self, key) -> None:
        t = self._now()
        name, char = key_name(key)
        mods = self._mods()
        if SHORTCUT_MODIFIERS & set(mods):
            char = ""  # a shortcut, not text
        if name in MODIFIER_NAMES.values():
            self._held[key] = name
        self._emit(Event(t, "key_down", {"key": name, "char": char, "mods": mods}))

    def _release(self, key) -> None:
        t = self._now()
        name, _ = key_name(key)
        self._held.pop(key, None)
        self._emit(Event(t, "key_up", {"key": name, "mods": self._mods()}))

    def _move(self, x: int, y: int) -> None:
        self._emit(Event(self._now(), "move", {"x": int(x), "y": int(y)}))

    def _click(self, x: int, y: int, button, pressed: bool) -> None:
        button = getattr(button, "name", "unknown")
        self._emit(Event(self._now(), "click", {"x": int(x), "y": int(y), "button": button, "pressed": bool(pressed)}))

    def _scroll(self, x: int, y: int, dx: int, dy: int) -> None:
        self._emit(Event(self._now(), "scroll", {"x": int(x), "y": int(y), "dx": int(dx), "dy": int(dy)}))
