"""Recording state on the desktop: a notification when recording starts, pauses, resumes and
stops, and a tray icon (StatusNotifierItem) that shows the state and pauses, resumes or stops.

Covert recording is what OwnTrace exists against, so a background `owntrace start` must show on
screen that it records. All of it goes over the D-Bus session bus with jeepney, on one thread of
its own fed by a queue: the recorder only enqueues, so a slow or hung desktop never delays
capture, and every call has a timeout. Nothing recorded is ever shown: the recorder passes a
state and counts (events, frames, session id), never what it captured.

Anything that can call us on the session bus runs as this user, who can already `owntrace stop`
or kill the recorder: the tray's pause/resume/stop hand out no new power.
"""

from __future__ import annotations

import html
import itertools
import logging
import os
import queue
import select
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jeepney import (
    DBusAddress,
    HeaderFields,
    MessageFlag,
    MessageType,
    new_error,
    new_method_call,
    new_method_return,
    new_signal,
)
from jeepney.bus_messages import DBusNameFlags, MatchRule, message_bus
from jeepney.io.blocking import DBusConnection, open_dbus_connection

_log = logging.getLogger(__name__)

NO_DAEMON = "no notification daemon on the session bus: recording state is shown by `owntrace status` only"
APP_NAME = "OwnTrace"
CALL_TIMEOUT_S = 2.0  # any one D-Bus call; a daemon being activated on first use answers well within this

NOTIFY_NAME = "org.freedesktop.Notifications"
NOTIFICATIONS = DBusAddress("/org/freedesktop/Notifications", NOTIFY_NAME, NOTIFY_NAME)
WATCHER_NAME = "org.kde.StatusNotifierWatcher"
WATCHER = DBusAddress("/StatusNotifierWatcher", WATCHER_NAME, WATCHER_NAME)
ITEM_PATH, ITEM_IFACE = "/StatusNotifierItem", "org.kde.StatusNotifierItem"
MENU_PATH, MENU_IFACE = "/MenuBar", "com.canonical.dbusmenu"
PROPS_IFACE, INTROSPECT_IFACE, PEER_IFACE = (
    "org.freedesktop.DBus.Properties", "org.freedesktop.DBus.Introspectable", "org.freedesktop.DBus.Peer")
MENU_TOGGLE, MENU_STOP = 1, 2  # dbusmenu item ids; 0 is the root

Variant = tuple[str, Any]  # jeepney's form of a D-Bus variant: (signature, value)
Command = tuple[str, str, str]  # ("state", state, detail) | ("watcher", "", ""); None ends the thread
_items = itertools.count(1)  # the ID in org.kde.StatusNotifierItem-PID-ID


@dataclass(frozen=True)
class Look:
    summary: str  # the notification's summary and the tray's title
    icon: str  # from the freedesktop icon naming spec, present in every standard theme
    status: str  # StatusNotifierItem Status: Active | Passive | NeedsAttention


LOOKS = {
    "recording": Look("Recording", "media-record", "Active"),
    "paused": Look("Paused", "media-playback-pause", "Active"),
    "stopped": Look("Stopped", "media-playback-stop", "Passive"),
}


def _args(types: tuple[str, ...], direction: str = "") -> str:
    way = f' direction="{direction}"' if direction else ""
    return "".join(f'<arg type="{t}"{way}/>' for t in types)


def _method(name: str, ins: tuple[str, ...] = (), outs: tuple[str, ...] = ()) -> str:
    return f'<method name="{name}">{_args(ins, "in")}{_args(outs, "out")}</method>'


def _interface(name: str, methods: list[str], signals: dict[str, tuple[str, ...]], props: dict[str, str]) -> str:
    """Introspection XML, for hosts that look before they call."""
    sigs = [f'<signal name="{n}">{_args(types)}</signal>' for n, types in signals.items()]
    prop = [f'<property name="{n}" type="{t}" access="read"/>' for n, t in props.items()]
    return f'<node><interface name="{name}">{"".join(methods + sigs + prop)}</interface></node>'


_INTROSPECT = {
    ITEM_PATH: _interface(
        ITEM_IFACE,
        [*(_method(m, ("i", "i")) for m in ("Activate", "SecondaryActivate", "ContextMenu")),
         _method("Scroll", ("i", "s"))],
        {"NewTitle": (), "NewIcon": (), "NewToolTip": (), "NewStatus": ("s",)},
        {"Category": "s", "Id": "s", "Title": "s", "Status": "s", "WindowId": "i", "IconName": "s",
         "IconPixmap": "a(iiay)", "ToolTip": "(sa(iiay)ss)", "ItemIsMenu": "b", "Menu": "o"},
    ),
    MENU_PATH: _interface(
        MENU_IFACE,
        [_method("GetLayout", ("i", "i", "as"), ("u", "(ia{sv}av)")),
         _method("GetGroupProperties", ("ai", "as"), ("a(ia{sv})",)),
         _method("GetProperty", ("i", "s"), ("v",)),
         _method("Event", ("i", "s", "v", "u")),
         _method("EventGroup", ("a(isvu)",), ("ai",)),
         _method("AboutToShow", ("i",), ("b",)),
         _method("AboutToShowGroup", ("ai",), ("ai", "ai"))],
        {"LayoutUpdated": ("u", "i")},
        {"Version": "u", "TextDirection": "s", "Status": "s"},
    ),
}


class _Fail(Exception):
    """A D-Bus error reply to a call made to us."""

    def __init__(self, name: str, text: str) -> None:
        super().__init__(text)
        self.name = name


class Presence:
    """Shows the recorder's state on the desktop; never raises into the recorder and never blocks it.

    `on_pause`, `on_resume`, `on_stop` are what the tray and the notification's buttons ask for;
    they run on this class's thread, so they should only hand the request to the recorder.
    `say` gets NO_DAEMON once when nothing on the bus can show the state (default: a log warning).
    """

    def __init__(
        self,
        on_pause: Callable[[], None],
        on_resume: Callable[[], None],
        on_stop: Callable[[], None],
        *,
        say: Callable[[str], None] | None = None,
        bus: str = "SESSION",
        timeout: float = CALL_TIMEOUT_S,
    ) -> None:
        self._actions: dict[str, Callable[[], None]] = {"pause": on_pause, "resume": on_resume, "stop": on_stop}
        self._say = say or _log.warning
        self._bus, self._timeout = bus, timeout
        self.message: str | None = None  # NO_DAEMON once said
        self.available: bool | None = None  # None until the bus was asked
        self._ready = threading.Event()
        self._queue: queue.SimpleQueue[Command | None] = queue.SimpleQueue()
        self._lock = threading.Lock()  # orders state()/close() against the thread's end
        self._done = False
        self._thread: threading.Thread | None = None
        self._wake_r, self._wake_w = socket.socketpair()  # wakes the thread's select() for the queue
        self._wake_w.setblocking(False)
        # owned by the thread alone from here on
        self._conn: DBusConnection | None = None
        self._state, self._detail = "recording", ""
        self._daemon: str | None = None  # the notification daemon's unique bus name
        self._caps: list[str] = []
        self._nid = 0  # our notification's id: replaces_id updates it in place
        self._item_name = f"org.kde.StatusNotifierItem-{os.getpid()}-{next(_items)}"
        self._tray = False  # registered with a StatusNotifierWatcher
        self._revision = 1  # of the dbusmenu layout

    # --- the recorder's side: enqueue only -------------------------------------------------
    def start(self) -> None:
        if self._thread is None and not self._done:
            self._thread = threading.Thread(target=self._run, name="owntrace-presence", daemon=True)
            self._thread.start()

    def state(self, state: str, detail: str = "") -> None:
        """`state`: recording | paused | stopped; `detail`: counts and ids only, never content."""
        if state not in LOOKS:
            _log.debug("presence: unknown state %r ignored", state)
            return
        self._post(("state", state, detail))

    def close(self, timeout: float = 3.0) -> None:
        """Show what is queued (the final "Stopped"), then leave the bus; waits at most `timeout` s."""
        self._post(None)
        if self._thread is not None:
            self._thread.join(timeout)
        else:
            self._finish()

    def wait_ready(self, timeout: float) -> bool:
        """True once the bus was asked what can show the state (or could not be reached)."""
        return self._ready.wait(timeout)

    def _post(self, item: Command | None) -> None:
        with self._lock:
            if self._done:
                return
            self._queue.put(item)
            try:
                self._wake_w.send(b"\0")
            except OSError:
                pass  # a full buffer already wakes it

    def _finish(self) -> None:
        with self._lock:
            self._done = True
            self._wake_r.close()
            self._wake_w.close()

    # --- the thread ----------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            try:  # jeepney's Hello has no timeout: a bus that authenticates and then stalls holds this thread only
                self._conn = open_dbus_connection(self._bus, auth_timeout=self._timeout)
            except Exception as e:  # noqa: BLE001 - no address, no socket, refused: all mean no bus
                _log.debug("presence: no session bus: %s", e)
                self._unavailable()
                return
            if not self._probe():
                self._unavailable()
                return
            self.available = True
            self._ready.set()
            self._loop()
        except Exception as e:  # noqa: BLE001 - the desktop is a courtesy: capture goes on without it
            _log.debug("presence: stopped: %s: %s", type(e).__name__, e)
        finally:
            self._ready.set()
            if self._conn is not None:
                self._conn.close()  # the bus drops our names: a watcher removes the tray icon
            self._finish()

    def _unavailable(self) -> None:
        self.available = False
        self.message = NO_DAEMON
        self._ready.set()
        try:
            self._say(NO_DAEMON)
        except Exception:  # noqa: BLE001 - a broken `say` must not end the recorder either
            pass

    def _probe(self) -> bool:
        """Who can show the state: a notification daemon (activated if need be), a tray watcher."""
        assert self._conn is not None
        reply = self._call(new_method_call(NOTIFICATIONS, "GetServerInformation"))
        if reply is not None:
            self._daemon = reply.header.fields.get(HeaderFields.sender)
            caps = self._call(new_method_call(NOTIFICATIONS, "GetCapabilities"))
            self._caps = list(caps.body[0]) if caps is not None else []
        bus = message_bus
        for name in (WATCHER_NAME, NOTIFY_NAME):  # either may come, go or restart while we record
            rule = MatchRule(type="signal", sender="org.freedesktop.DBus", interface="org.freedesktop.DBus",
                             member="NameOwnerChanged", path="/org/freedesktop/DBus")
            rule.add_arg_condition(0, name)
            self._call(bus.AddMatch(rule))
        self._call(bus.AddMatch(MatchRule(type="signal", interface=NOTIFY_NAME, member="ActionInvoked")))
        owned = self._call(bus.RequestName(self._item_name, DBusNameFlags.do_not_queue))
        if owned is None or owned.body[0] != 1:  # 1: primary owner; else the watcher gets our unique name
            self._item_name = self._conn.unique_name
        watcher = self._call(bus.NameHasOwner(WATCHER_NAME))
        if watcher is not None and watcher.body[0]:
            self._register()
        return self._daemon is not None or self._tray

    def _loop(self) -> None:
        assert self._conn is not None
        while True:
            self._drain()
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                # a state() between get_nowait() and here left a byte on the wake socket
                readable = select.select([self._conn.sock, self._wake_r], [], [])[0]
                if self._wake_r in readable:
                    self._wake_r.recv(4096)
                continue
            if item is None:
                return
            if item[0] == "state":
                self._apply(item[1], item[2])
            elif item[0] == "watcher":
                self._register()

    def _drain(self) -> None:
        """Handle every message already received, without waiting."""
        assert self._conn is not None
        while True:
            try:
                msg = self._conn.receive(timeout=0)
            except TimeoutError:
                return
            self._dispatch(msg)

    def _call(self, msg: Any) -> Any | None:
        """Send a method call and wait up to the timeout for its reply (None on error or timeout).
        What else arrives meanwhile is handled, so a watcher that calls us before it replies waits
        for nothing."""
        assert self._conn is not None
        serial = next(self._conn.outgoing_serial)
        self._conn.send(msg, serial=serial)
        deadline = time.monotonic() + self._timeout
        while True:
            try:
                reply = self._conn.receive(timeout=max(deadline - time.monotonic(), 0.0))
            except TimeoutError:
                _log.debug("presence: no reply to %s", msg.header.fields.get(HeaderFields.member))
                return None
            if reply.header.fields.get(HeaderFields.reply_serial) == serial:
                return None if reply.header.message_type is MessageType.error else reply
            self._dispatch(reply)

    # --- showing the state ---------------------------------------------------------------------
    def _apply(self, state: str, detail: str) -> None:
        resumed = state == "recording" and self._state == "paused"
        self._state, self._detail = state, detail
        look = LOOKS[state]
        for signal in ("NewTitle", "NewIcon", "NewToolTip"):
            self._signal(ITEM_PATH, ITEM_IFACE, signal)
        self._signal(ITEM_PATH, ITEM_IFACE, "NewStatus", "s", (look.status,))
        self._revision += 1
        self._signal(MENU_PATH, MENU_IFACE, "LayoutUpdated", "ui", (self._revision, 0))
        if self._daemon is not None:
            self._notify("Resumed" if resumed else look.summary, detail, look)

    def _notify(self, summary: str, detail: str, look: Look) -> None:
        actions: list[str] = []
        if "actions" in self._caps and self._state != "stopped":
            toggle = ["resume", "Resume"] if self._state == "paused" else ["pause", "Pause"]
            actions = [*toggle, "stop", "Stop"]
        body = html.escape(detail, quote=False) if "body-markup" in self._caps else detail
        # without a tray icon the notification is the only sign of recording: it stays until dismissed
        expire = -1 if self._tray or self._state == "stopped" else 0
        reply = self._call(new_method_call(NOTIFICATIONS, "Notify", "susssasa{sv}i", (
            APP_NAME, self._nid, look.icon, summary, body, actions, {"urgency": ("y", 1)}, expire)))
        if reply is not None:
            self._nid = reply.body[0]

    def _register(self) -> None:
        register = new_method_call(WATCHER, "RegisterStatusNotifierItem", "s", (self._item_name,))
        self._tray = self._call(register) is not None

    def _signal(self, path: str, iface: str, name: str, signature: str | None = None,
                body: tuple[Any, ...] = ()) -> None:
        assert self._conn is not None
        self._conn.send(new_signal(DBusAddress(path, interface=iface), name, signature, body))

    def _act(self, action: str) -> None:
        try:
            self._actions[action]()
        except Exception as e:  # noqa: BLE001 - the recorder's trouble, not the tray's
            _log.debug("presence: %s failed: %s", action, e)

    def _toggle(self) -> None:
        if self._state != "stopped":
            self._act("resume" if self._state == "paused" else "pause")

    # --- what the bus asks of us ----------------------------------------------------------------
    def _dispatch(self, msg: Any) -> None:
        kind = msg.header.message_type
        if kind is MessageType.signal:
            self._on_signal(msg)
        elif kind is MessageType.method_call:
            f = msg.header.fields
            try:
                signature, body = self._handle(f.get(HeaderFields.path), f.get(HeaderFields.interface),
                                               f.get(HeaderFields.member), msg.body)
                reply = new_method_return(msg, signature, body)
            except _Fail as e:
                reply = new_error(msg, e.name, "s", (str(e),))
            if not msg.header.flags & MessageFlag.no_reply_expected:
                assert self._conn is not None
                self._conn.send(reply)
        # anything else: a late reply to a call that timed out

    def _on_signal(self, msg: Any) -> None:
        f = msg.header.fields
        iface, member = f.get(HeaderFields.interface), f.get(HeaderFields.member)
        if iface == "org.freedesktop.DBus" and member == "NameOwnerChanged":
            name, _old, new = msg.body
            if name == WATCHER_NAME:
                self._tray = False
                if new:
                    self._queue.put(("watcher", "", ""))  # from the loop: no call inside a call's wait
            elif name == NOTIFY_NAME:
                self._daemon, self._nid = new or None, 0  # a new daemon knows nothing of our id
        elif iface == NOTIFY_NAME and member == "ActionInvoked" and f.get(HeaderFields.sender) == self._daemon:
            nid, action = msg.body
            if nid == self._nid and self._nid and action in self._actions:
                self._act(action)

    def _handle(self, path: str | None, iface: str | None, member: str | None,
                args: tuple[Any, ...]) -> tuple[str | None, tuple[Any, ...]]:
        if path not in _INTROSPECT:
            raise _Fail("org.freedesktop.DBus.Error.UnknownObject", f"no object at {path}")
        if iface == INTROSPECT_IFACE and member == "Introspect":
            return "s", (_INTROSPECT[path],)
        if iface == PEER_IFACE and member == "Ping":
            return None, ()
        own = ITEM_IFACE if path == ITEM_PATH else MENU_IFACE
        if iface == PROPS_IFACE and member in ("Get", "GetAll"):
            if args[0] != own:
                raise _Fail("org.freedesktop.DBus.Error.UnknownInterface", f"no interface {args[0]}")
            props = self._item_props() if path == ITEM_PATH else self._menu_props()
            if member == "GetAll":
                return "a{sv}", (props,)
            if args[1] not in props:
                raise _Fail("org.freedesktop.DBus.Error.UnknownProperty", f"no property {args[1]}")
            return "v", (props[args[1]],)
        if iface == PROPS_IFACE and member == "Set":
            raise _Fail("org.freedesktop.DBus.Error.PropertyReadOnly", "read-only")
        if iface in (own, None):
            if path == ITEM_PATH:
                return self._item_method(member)
            return self._menu_method(member, args)
        raise _Fail("org.freedesktop.DBus.Error.UnknownMethod", f"no method {iface}.{member}")

    # --- StatusNotifierItem --------------------------------------------------------------------
    def _item_props(self) -> dict[str, Variant]:
        look = LOOKS[self._state]
        title = f"{APP_NAME}: {look.summary}"
        tip = "\n".join(filter(None, [self._detail, "Click: pause or resume. Middle-click: stop."]))
        return {
            "Category": ("s", "ApplicationStatus"),
            "Id": ("s", "owntrace"),
            "Title": ("s", title),
            "Status": ("s", look.status),
            "WindowId": ("i", 0),
            "IconName": ("s", look.icon),
            "IconPixmap": ("a(iiay)", []),
            "OverlayIconName": ("s", ""),
            "AttentionIconName": ("s", ""),
            "AttentionIconPixmap": ("a(iiay)", []),
            "AttentionMovieName": ("s", ""),
            "IconThemePath": ("s", ""),
            "ToolTip": ("(sa(iiay)ss)", (look.icon, [], title, tip)),
            "ItemIsMenu": ("b", False),  # a click activates (pause/resume); the menu is on right-click
            "Menu": ("o", MENU_PATH),
        }

    def _item_method(self, member: str | None) -> tuple[str | None, tuple[Any, ...]]:
        if member == "Activate":
            self._toggle()
        elif member == "SecondaryActivate":
            if self._state != "stopped":
                self._act("stop")
        elif member not in ("ContextMenu", "Scroll"):  # the host shows our dbusmenu; scrolling means nothing
            raise _Fail("org.freedesktop.DBus.Error.UnknownMethod", f"no method {member}")
        return None, ()

    # --- com.canonical.dbusmenu: two entries, pause/resume and stop ----------------------------
    def _menu_props(self) -> dict[str, Variant]:
        return {"Version": ("u", 3), "TextDirection": ("s", "ltr"), "Status": ("s", "normal"),
                "IconThemePath": ("as", [])}

    def _menu_items(self) -> dict[int, dict[str, Variant]]:
        live = ("b", self._state != "stopped")
        paused = self._state == "paused"
        toggle = ("Resume recording", "media-record") if paused else ("Pause recording", "media-playback-pause")
        return {
            MENU_TOGGLE: {"label": ("s", toggle[0]), "icon-name": ("s", toggle[1]), "enabled": live},
            MENU_STOP: {"label": ("s", "Stop recording"), "icon-name": ("s", "media-playback-stop"), "enabled": live},
        }

    def _menu_method(self, member: str | None, args: tuple[Any, ...]) -> tuple[str | None, tuple[Any, ...]]:
        items = self._menu_items()

        def node(i: int, names: list[str]) -> tuple[int, dict[str, Variant], list[Variant]]:
            props = items[i] if i else {"children-display": ("s", "submenu")}
            return i, {k: v for k, v in props.items() if not names or k in names}, []

        if member == "GetLayout":
            parent, depth, names = args
            if parent and parent not in items:
                raise _Fail("org.freedesktop.DBus.Error.InvalidArgs", f"no menu item {parent}")
            root = node(parent, names)
            if parent == 0 and depth != 0:
                root[2].extend(("(ia{sv}av)", node(i, names)) for i in items)
            return "u(ia{sv}av)", (self._revision, root)
        if member == "GetGroupProperties":
            ids, names = args
            return "a(ia{sv})", ([node(i, names)[:2] for i in ids if i == 0 or i in items],)
        if member == "GetProperty":
            i, name = args
            props = items.get(i, {})
            if name not in props:
                raise _Fail("org.freedesktop.DBus.Error.InvalidArgs", f"no property {name} on {i}")
            return "v", (props[name],)
        if member == "Event":
            self._menu_event(args[0], args[1])
            return None, ()
        if member == "EventGroup":
            for i, event, _data, _t in args[0]:
                self._menu_event(i, event)
            return "ai", ([i for i, *_ in args[0] if i and i not in items],)
        if member == "AboutToShow":
            return "b", (False,)  # the layout is always current
        if member == "AboutToShowGroup":
            return "aiai", ([], [])
        raise _Fail("org.freedesktop.DBus.Error.UnknownMethod", f"no method {member}")

    def _menu_event(self, item: int, event: str) -> None:
        if event != "clicked" or self._state == "stopped":
            return
        if item == MENU_TOGGLE:
            self._toggle()
        elif item == MENU_STOP:
            self._act("stop")
