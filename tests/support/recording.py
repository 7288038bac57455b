"""Driving a real recording from tests: in-process (fast, no CLI start-up) or through the CLI,
then reading the session back with the user's identity."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from recorder import keys
from recorder.capture.recording import Recording, RecordOptions, read_status
from recorder.store import session as store
from recorder.store.records import Event


def wait_for(predicate, timeout: float = 60.0, what: str = "condition"):
    """Poll `predicate` until it returns something truthy, and return that."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise TimeoutError(f"timed out waiting for {what}")


def settle(rec: Recording, quiet_s: float = 0.6, timeout: float = 20.0) -> None:
    """Wait until the recorder has taken in everything injected so far (no input event for
    quiet_s), so a test never depends on how fast the machine is."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and time.monotonic() - rec.last_input < quiet_s:
        time.sleep(0.05)


@contextmanager
def recording(home: Path, options: RecordOptions | None = None) -> Iterator[Recording]:
    """A Recording running in a background thread; stopped and checked on exit."""
    rec = Recording(home, options)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            rec.run()
        except BaseException as e:  # noqa: BLE001 - re-raised in the test thread
            errors.append(e)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    wait_for(lambda: errors or (read_status(home) is not None and rec.writer is not None), what="the recorder to start")
    if errors:
        raise errors[0]
    try:
        yield rec
        settle(rec)
    finally:
        rec.stop()
        thread.join(60)
    if errors:
        raise errors[0]


def read_back(home: Path, user: keys.UnlockedIdentity, ref: str = "latest") -> tuple[store.Session, object, list[Event]]:
    s = store.resolve(home, ref)
    key = s.key(user)
    return s, key, list(s.events(key))


def typed(events: list[Event]) -> str:
    return "".join(e.get("char", "") for e in events if e.kind == "key_down")
