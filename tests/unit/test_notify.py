"""Presence (recorder/capture/notify.py) against real daemons on a real, private D-Bus session bus.

- notifications: dunst on the suite's Xvfb, checked with GetServerInformation, then with what
  it shows (`dunstctl count` / `history`) and with a bus monitor (BecomeMonitor) that sees every
  Notify call; its buttons are pressed through dunst's own context menu (`dunstctl context`
  runs the `dmenu` command of its config: here a script that picks one entry);
- the tray: no StatusNotifierItem host is installed here (Debian has plasma-workspace, waybar,
  lxqt-panel, none of them on this machine), so this test plays org.kde.StatusNotifierWatcher
  and the host itself, with jeepney over the same real bus, and calls our exported item;
- mako (a Wayland notification daemon) on the headless sway desktop of tests/support/wayland.py,
  read back with `makoctl list`, its button pressed with `makoctl invoke`;
- no bus, an empty bus, and a daemon that never answers.

The bus has no service directories, so nothing is D-Bus-activated behind the test's back.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from jeepney import DBusAddress, HeaderFields, Message, MessageType, new_method_call, new_method_return
from jeepney.bus_messages import MatchRule, Monitoring, message_bus
from jeepney.io.blocking import open_dbus_connection

from recorder.capture.display import stop_process
from recorder.capture.notify import (
    APP_NAME,
    ITEM_IFACE,
    ITEM_PATH,
    MENU_IFACE,
    MENU_PATH,
    NO_DAEMON,
    NOTIFICATIONS,
    WATCHER_NAME,
    Presence,
)
from tests.support.dbus import start_session_bus

pytestmark = pytest.mark.timeout(120)

PROPS = "org.freedesktop.DBus.Properties"


def wait_until(pred: Callable[[], object], timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


class Calls:
    """The recorder's side: what the desktop asked for."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.said: list[str] = []

    def presence(self, **kw: Any) -> Presence:
        return Presence(lambda: self.seen.append("pause"), lambda: self.seen.append("resume"),
                        lambda: self.seen.append("stop"), say=self.said.append, **kw)


@pytest.fixture
def bus(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A private session bus (dbus-daemon); DBUS_SESSION_BUS_ADDRESS points at it."""
    if not shutil.which("dbus-daemon"):
        pytest.fail("dbus-daemon is missing: run .ci/run, which installs the test machine's packages")
    d = Path(tempfile.mkdtemp(prefix="ot-bus-"))  # short: a unix socket path has ~108 bytes
    proc, address = start_session_bus(d / "bus.conf", f"unix:dir={d}", activation=False, timeout=10,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert address.startswith("unix:"), "dbus-daemon printed no address"
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", address)
        yield address
    finally:
        stop_process(proc, 3)
        shutil.rmtree(d, ignore_errors=True)


class Dunst:
    def __init__(self, env: dict[str, str], pick: Path) -> None:
        self.env = env
        self.pick = pick  # what its context menu picks: the first entry containing this

    def ctl(self, *args: str) -> str:
        return subprocess.run(["dunstctl", *args], env=self.env, check=True, capture_output=True, text=True,
                              timeout=10).stdout.strip()

    def history(self) -> list[dict[str, Any]]:
        return [{k: v["data"] for k, v in n.items()} for n in json.loads(self.ctl("history"))["data"][0]]


@pytest.fixture
def dunst(bus: str, xdisplay, tmp_path: Path) -> Iterator[Dunst]:
    """dunst on the Xvfb display, owning org.freedesktop.Notifications on the private bus. Its
    context menu's `dmenu` is a script that picks the entry containing $PICK (read from a file)."""
    for tool in ("dunst", "dunstctl"):
        if not shutil.which(tool):
            pytest.fail(f"{tool} is missing: run .ci/run, which installs the test machine's packages")
    pick = tmp_path / "pick"
    pick.write_text("nothing")
    menu = tmp_path / "menu.sh"
    menu.write_text(f'#!/bin/sh\ngrep -m1 -F "$(cat {pick})"\n')
    menu.chmod(0o755)
    rc = tmp_path / "dunstrc"
    rc.write_text(f"[global]\n    dmenu = {menu}\n[urgency_normal]\n    timeout = 0\n")  # shown until closed
    env = {k: v for k, v in os.environ.items() if k != "WAYLAND_DISPLAY"}
    env.update(DISPLAY=xdisplay.display, DBUS_SESSION_BUS_ADDRESS=bus)
    proc = subprocess.Popen(["dunst", "-config", str(rc)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        with open_dbus_connection(bus) as conn:
            info: tuple[Any, ...] = ()

            def answers() -> bool:
                nonlocal info
                reply = conn.send_and_get_reply(new_method_call(NOTIFICATIONS, "GetServerInformation"), timeout=1)
                info = reply.body if reply.header.message_type is MessageType.method_return else ()
                return bool(info) or proc.poll() is not None

            wait_until(answers, 20, "dunst on the bus")
            assert info and info[0] == "dunst", f"dunst did not start (exit {proc.poll()})"
        yield Dunst(env, pick)
    finally:
        stop_process(proc, 3)


class BusListener:
    """A connection of its own whose every incoming message a thread hands to `handle`, from
    `listen()` until `close()`."""

    def __init__(self, address: str) -> None:
        self._conn = open_dbus_connection(address)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def listen(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                msg = self._conn.receive(timeout=0.1)
            except TimeoutError:
                continue
            self.handle(msg)

    def handle(self, msg: Message) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._conn.close()


class NotifyMonitor(BusListener):
    """Every Notify method call on the bus, as seen by a monitor connection."""

    def __init__(self, address: str) -> None:
        super().__init__(address)
        self.calls: list[tuple[Any, ...]] = []
        rule = "type='method_call',interface='org.freedesktop.Notifications',member='Notify'"
        reply = self._conn.send_and_get_reply(Monitoring().BecomeMonitor([rule]), timeout=5)
        assert reply.header.message_type is MessageType.method_return
        self.listen()

    def handle(self, msg: Message) -> None:
        if msg.header.fields.get(HeaderFields.member) == "Notify":
            self.calls.append(msg.body)


class Watcher(BusListener):
    """A minimal org.kde.StatusNotifierWatcher, and the host's connection that calls items."""

    def __init__(self, address: str) -> None:
        super().__init__(address)
        self.items: list[tuple[str, str]] = []  # (service as registered, sender)
        self.gone: list[str] = []  # services whose bus name vanished
        rule = MatchRule(type="signal", interface="org.freedesktop.DBus", member="NameOwnerChanged")
        self._conn.send_and_get_reply(message_bus.AddMatch(rule), timeout=5)
        # the name last: a call to it while this waited for a reply would be dropped
        owned = self._conn.send_and_get_reply(message_bus.RequestName(WATCHER_NAME, 4), timeout=5)
        assert owned.body == (1,)
        self.host = open_dbus_connection(address)
        self.listen()

    def handle(self, msg: Message) -> None:
        f = msg.header.fields
        if msg.header.message_type is MessageType.method_call:
            assert f[HeaderFields.member] == "RegisterStatusNotifierItem", f
            self.items.append((msg.body[0], f[HeaderFields.sender]))
            self._conn.send(new_method_return(msg))
        elif f.get(HeaderFields.member) == "NameOwnerChanged" and not msg.body[2]:
            self.gone.append(msg.body[0])

    def call(self, path: str, iface: str, member: str, signature: str | None = None, body: tuple[Any, ...] = ()) -> Any:
        service = self.items[-1][0]
        reply = self.host.send_and_get_reply(
            new_method_call(DBusAddress(path, service, iface), member, signature, body), timeout=5)
        assert reply.header.message_type is MessageType.method_return, reply.body
        return reply.body

    def props(self) -> dict[str, Any]:
        return {k: v for k, (_sig, v) in self.call(ITEM_PATH, PROPS, "GetAll", "s", (ITEM_IFACE,))[0].items()}

    def close(self) -> None:
        super().close()
        self.host.close()


@pytest.fixture
def watcher(bus: str) -> Iterator[Watcher]:
    w = Watcher(bus)
    yield w
    w.close()


def counts(events: int, frames: int) -> str:
    return f"{events} events, {frames} frames, session 20250101-120000-abcd"


# --- notifications on dunst ---------------------------------------------------------------------
@pytest.mark.x11
def test_each_state_updates_one_notification_on_dunst(bus: str, dunst: Dunst) -> None:
    monitor = NotifyMonitor(bus)
    calls = Calls()
    p = calls.presence()
    try:
        p.start()
        for state in ("recording", "paused", "recording"):
            p.state(state, "session 20250101-120000-abcd")
        p.state("stopped", counts(12, 3))
        p.close()
        wait_until(lambda: len(monitor.calls) == 4, what="four Notify calls")
    finally:
        monitor.close()
    assert p.available and calls.said == [] and calls.seen == []
    app, replaces, icons, summaries, bodies = zip(*(c[:5] for c in monitor.calls))
    assert set(app) == {APP_NAME}
    assert summaries == ("Recording", "Paused", "Resumed", "Stopped")
    assert icons == ("media-record", "media-playback-pause", "media-record", "media-playback-stop")
    assert bodies[-1] == counts(12, 3)
    nid = replaces[1]
    assert replaces == (0, nid, nid, nid) and nid > 0, "later states replace the first notification"
    actions = [c[5] for c in monitor.calls]
    assert actions == [["pause", "Pause", "stop", "Stop"], ["resume", "Resume", "stop", "Stop"],
                       ["pause", "Pause", "stop", "Stop"], []]
    assert [c[7] for c in monitor.calls] == [0, 0, 0, -1], "without a tray icon it stays until dismissed"
    # what dunst itself holds: one notification, now "Stopped"
    assert dunst.ctl("count", "displayed") == "1"
    dunst.ctl("close-all")
    wait_until(lambda: dunst.ctl("count", "history") == "1", what="dunst's history")
    (shown,) = dunst.history()
    assert (shown["appname"], shown["summary"], shown["body"], shown["id"]) == (APP_NAME, "Stopped", counts(12, 3), nid)


@pytest.mark.x11
def test_notification_buttons_reach_the_recorder(dunst: Dunst) -> None:
    calls = Calls()
    p = calls.presence()
    p.start()
    try:
        p.state("recording")
        wait_until(lambda: dunst.ctl("count", "displayed") == "1", what="the notification")
        dunst.pick.write_text("Pause")
        dunst.ctl("context")  # dunst's menu of the notification's actions, answered by the script
        wait_until(lambda: calls.seen == ["pause"], what="pause from the notification")
        p.state("paused")
        wait_until(lambda: dunst.ctl("count", "displayed") == "1", what="the paused notification")
        dunst.pick.write_text("Stop")
        dunst.ctl("context")
        wait_until(lambda: calls.seen == ["pause", "stop"], what="stop from the notification")
    finally:
        p.close()
    assert calls.said == []


# --- the tray --------------------------------------------------------------------------------------
def test_tray_item_shows_the_state_and_pauses_resumes_stops(bus: str, watcher: Watcher) -> None:
    calls = Calls()
    p = calls.presence()
    p.start()
    p.state("recording", "session 20250101-120000-abcd")
    assert p.wait_ready(10) and p.available
    wait_until(lambda: watcher.items, what="the item to register")
    service, sender = watcher.items[0]
    assert service.startswith("org.kde.StatusNotifierItem-")
    wait_until(lambda: watcher.props()["Title"] == "OwnTrace: Recording", what="the recording title")
    props = watcher.props()
    assert (props["Status"], props["IconName"], props["Category"], props["Menu"]) == (
        "Active", "media-record", "ApplicationStatus", MENU_PATH)
    assert props["ToolTip"][2] == "OwnTrace: Recording" and "session 20250101-120000-abcd" in props["ToolTip"][3]

    # a state change: the host hears NewIcon and reads the new icon
    rule = MatchRule(type="signal", interface=ITEM_IFACE, member="NewIcon")
    watcher.host.send_and_get_reply(message_bus.AddMatch(rule), timeout=5)
    with watcher.host.filter(rule) as signals:
        p.state("paused")
        watcher.host.recv_until_filtered(signals, timeout=10)
    assert watcher.props()["IconName"] == "media-playback-pause"
    assert watcher.props()["Title"] == "OwnTrace: Paused"

    # clicks: Activate toggles (resume while paused), SecondaryActivate stops
    watcher.call(ITEM_PATH, ITEM_IFACE, "Activate", "ii", (10, 10))
    assert calls.seen == ["resume"]
    p.state("recording")
    wait_until(lambda: watcher.props()["IconName"] == "media-record", what="the recording icon")
    watcher.call(ITEM_PATH, ITEM_IFACE, "Activate", "ii", (10, 10))
    watcher.call(ITEM_PATH, ITEM_IFACE, "SecondaryActivate", "ii", (10, 10))
    assert calls.seen == ["resume", "pause", "stop"]

    # the menu (com.canonical.dbusmenu)
    revision, (root, _props, children) = watcher.call(MENU_PATH, MENU_IFACE, "GetLayout", "iias", (0, -1, []))
    labels = {i: item["label"][1] for _sig, (i, item, _c) in children}
    assert root == 0 and labels == {1: "Pause recording", 2: "Stop recording"}
    watcher.call(MENU_PATH, MENU_IFACE, "Event", "isvu", (1, "clicked", ("s", ""), 0))
    watcher.call(MENU_PATH, MENU_IFACE, "Event", "isvu", (2, "clicked", ("s", ""), 0))
    assert calls.seen == ["resume", "pause", "stop", "pause", "stop"]
    assert "LayoutUpdated" in watcher.call(MENU_PATH, "org.freedesktop.DBus.Introspectable", "Introspect")[0]

    p.state("stopped", counts(5, 1))
    wait_until(lambda: watcher.props()["Status"] == "Passive", what="the stopped status")
    revision2, (_r, _p, children) = watcher.call(MENU_PATH, MENU_IFACE, "GetLayout", "iias", (0, -1, ["enabled"]))
    assert revision2 > revision and all(item == {"enabled": ("b", False)} for _s, (_i, item, _c) in children)
    watcher.call(ITEM_PATH, ITEM_IFACE, "SecondaryActivate", "ii", (0, 0))  # nothing left to stop
    p.close()
    wait_until(lambda: service in watcher.gone, what="the item to leave the bus")
    assert calls.seen == ["resume", "pause", "stop", "pause", "stop"]
    assert calls.said == [], "a tray icon shows the state: nothing to say"


@pytest.mark.x11
def test_a_watcher_that_comes_later_gets_the_item(bus: str, dunst: Dunst) -> None:
    calls = Calls()
    p = calls.presence()
    p.start()
    p.state("recording")
    assert p.wait_ready(10) and p.available
    w = Watcher(bus)  # a panel started (or restarted) while recording
    try:
        wait_until(lambda: w.items, what="the item to register with the new watcher")
        assert w.props()["IconName"] == "media-record"
        w.call(ITEM_PATH, ITEM_IFACE, "Activate", "ii", (0, 0))
        assert calls.seen == ["pause"]
    finally:
        p.close()
        w.close()


# --- nothing to show the state ------------------------------------------------------------------
@pytest.mark.parametrize("address", ["unix:path=/nonexistent/owntrace-test-bus", None])
def test_no_bus_says_so_once_and_never_gets_in_the_way(address: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    if address is None:
        monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    else:
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", address)
    calls = Calls()
    p = calls.presence()
    p.start()
    assert p.wait_ready(10)
    t0 = time.monotonic()
    for state in ("recording", "paused", "recording", "stopped"):
        p.state(state, counts(1, 1))
    p.close()
    assert time.monotonic() - t0 < 0.5
    assert calls.said == [NO_DAEMON] and p.message == NO_DAEMON and p.available is False
    assert calls.seen == []


def test_an_empty_bus_says_so_once(bus: str) -> None:
    calls = Calls()
    p = calls.presence(timeout=1.0)
    p.start()
    assert p.wait_ready(10)
    p.state("recording")
    p.state("stopped")
    p.close()
    assert calls.said == [NO_DAEMON]


def test_a_daemon_that_never_answers_never_blocks_the_recorder(bus: str) -> None:
    """Something owns org.freedesktop.Notifications and reads nothing: every call times out."""
    with open_dbus_connection(bus) as hung:
        hung.send_and_get_reply(message_bus.RequestName("org.freedesktop.Notifications", 4), timeout=5)
        calls = Calls()
        p = calls.presence(timeout=0.5)
        t0 = time.monotonic()
        p.start()
        for state in ("recording", "paused", "recording"):
            p.state(state)
        assert time.monotonic() - t0 < 0.1, "start() and state() only enqueue"
        assert p.wait_ready(10)
        t0 = time.monotonic()
        p.close(timeout=2.0)
        assert time.monotonic() - t0 <= 2.5
    assert calls.said == [NO_DAEMON] and calls.seen == []


def test_a_failing_say_and_unknown_states_are_swallowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/owntrace-test-bus")

    def boom(_msg: str) -> None:
        raise RuntimeError("stderr closed")

    p = Presence(lambda: None, lambda: None, lambda: None, say=boom)
    p.state("exploded")  # before start(), and not a state: ignored
    p.start()
    assert p.wait_ready(10) and p.message == NO_DAEMON
    p.close()
    p.close()


# --- mako on Wayland -------------------------------------------------------------------------------
# Run on the desktop as its user (its bus accepts only that uid): the recorder's side of the test.
MAKO_SIDE = r"""
import json, sys, threading
from recorder.capture.notify import Presence
seen, said, paused = [], [], threading.Event()
def on_pause():
    seen.append("pause")
    paused.set()
p = Presence(on_pause, lambda: seen.append("resume"), lambda: seen.append("stop"), say=said.append)
p.start()
p.state("recording", "session 20250101-120000-abcd")
print("ready", p.wait_ready(20), p.available, flush=True)
paused.wait(60)
p.state("paused")
p.state("stopped", sys.argv[1])
p.close()
print(json.dumps({"seen": seen, "said": said}), flush=True)
"""


def test_mako_on_a_headless_sway_shows_and_answers() -> None:
    from tests.support.wayland import ROOT, HeadlessSway

    with HeadlessSway() as desktop:
        desktop.popen(["mako"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        desktop.wait_names(["org.freedesktop.Notifications"], timeout=30)

        def ours() -> list[dict[str, Any]]:
            shown = json.loads(desktop.run(["makoctl", "list"]).stdout)["data"][0]
            return [{k: v["data"] for k, v in n.items()} for n in shown if n["app-name"]["data"] == APP_NAME]

        side = desktop.popen([sys.executable, "-c", MAKO_SIDE, counts(3, 1)], env={"PYTHONPATH": str(ROOT)},
                             cwd=str(ROOT), stdout=subprocess.PIPE, text=True)
        assert side.stdout is not None
        assert side.stdout.readline().split() == ["ready", "True", "True"]
        wait_until(ours, what="mako to show the notification")
        (shown,) = ours()
        assert (shown["summary"], shown["actions"]) == ("Recording", {"pause": "Pause", "stop": "Stop"})
        desktop.run(["makoctl", "invoke", "-n", str(shown["id"]), "pause"])  # the person presses "Pause"
        out, _ = side.communicate(timeout=60)
        assert json.loads(out.strip().splitlines()[-1]) == {"seen": ["pause"], "said": []}
        (final,) = ours()  # still one notification: updated in place
        assert (final["id"], final["summary"], final["body"]) == (shown["id"], "Stopped", counts(3, 1))
