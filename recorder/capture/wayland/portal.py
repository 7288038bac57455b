"""The xdg-desktop-portal ScreenCast client (org.freedesktop.portal.ScreenCast), over jeepney.

CreateSession -> SelectSources -> Start -> OpenPipeWireRemote. Each of the first three returns a
Request object at once and answers later with its Response signal: the request's path is known in
advance (.../request/<sender>/<handle_token>), so we listen before calling and no answer is missed.

The session lives as long as our D-Bus connection: `ScreenCastSession` keeps it open until close().
A restore token (portal version >= 4, persist_mode=2) lets the next recording start without asking
the person again; it is single-use, so every Start's new token replaces the file's.
"""

from __future__ import annotations

import os
import queue
import secrets
import threading
from dataclasses import dataclass
from enum import IntFlag
from pathlib import Path
from typing import Any

from jeepney import DBusAddress, MatchRule, Message, MessageType, new_method_call
from jeepney.bus_messages import message_bus
from jeepney.io.threading import DBusConnection, DBusRouter, open_dbus_connection
from jeepney.low_level import HeaderFields
from jeepney.wrappers import DBusErrorResponse

from recorder.atomic import write_atomic
from recorder.errors import OwnTraceError

PORTAL = DBusAddress("/org/freedesktop/portal/desktop", bus_name="org.freedesktop.portal.Desktop",
                     interface="org.freedesktop.portal.ScreenCast")
REQUEST_IFACE = "org.freedesktop.portal.Request"
SESSION_IFACE = "org.freedesktop.portal.Session"
CALL_TIMEOUT_S = 30.0  # a plain method call, or a request that asks nobody
START_TIMEOUT_S = 300.0  # Start may show a chooser: the person takes their time
PERSIST_UNTIL_REVOKED = 2
NO_PORTAL_HINT = ("install xdg-desktop-portal and the backend for your desktop (xdg-desktop-portal-wlr on sway and "
                  "other wlroots desktops, -gnome, -kde), then log out and in again")


class SourceType(IntFlag):
    MONITOR = 1
    WINDOW = 2
    VIRTUAL = 4


class CursorMode(IntFlag):
    HIDDEN = 1
    EMBEDDED = 2
    METADATA = 4


@dataclass(frozen=True)
class Stream:
    """One PipeWire stream of a started session."""

    node_id: int
    size: tuple[int, int] | None  # w, h; None when the portal does not say
    position: tuple[int, int] | None  # x, y in the desktop (monitors only)
    source_type: int | None


@dataclass(frozen=True)
class PortalInfo:
    version: int
    source_types: SourceType
    cursor_modes: CursorMode


def token_path(home: os.PathLike[str] | str, window: bool) -> Path:
    """Where the restore token lives: one per kind of source, since a monitor's token cannot
    restore a window session."""
    return Path(home) / f"screencast-{'window' if window else 'monitor'}.token"


def _sender_part(unique_name: str) -> str:
    # the spec's rule for request and session paths: ":1.42" -> "1_42"
    return unique_name.lstrip(":").replace(".", "_")


def _unwrap(value: tuple[str, Any]) -> Any:
    """The value of an `sv` variant, nested variants included."""
    sig, inner = value
    if sig == "v":
        return _unwrap(inner)
    return inner


def _call_error(what: str, e: DBusErrorResponse) -> OwnTraceError:
    if e.name in ("org.freedesktop.DBus.Error.ServiceUnknown", "org.freedesktop.DBus.Error.NameHasNoOwner",
                  "org.freedesktop.DBus.Error.UnknownInterface", "org.freedesktop.DBus.Error.UnknownMethod",
                  "org.freedesktop.DBus.Error.UnknownObject"):
        return OwnTraceError("no screen-cast portal answers on this desktop", NO_PORTAL_HINT)
    detail = e.data[0] if e.data and isinstance(e.data[0], str) else e.name
    return OwnTraceError(f"the screen-cast portal refused {what}: {detail}",
                         "check the portal's log (journalctl --user -u xdg-desktop-portal) and try again")


class ScreenCastSession:
    """A started portal session: its streams, and the PipeWire remote to read them through.
    Close it to end the screencast (the portal also ends it if our connection drops)."""

    def __init__(self, router: DBusRouter, conn: DBusConnection, handle: str, streams: list[Stream],
                 info: PortalInfo, restore_token: str | None, closed: _ClosedWatch) -> None:
        self.handle = handle
        self.streams = streams
        self.info = info
        self.restore_token = restore_token
        self._router = router
        self._conn = conn
        self._closed_watch = closed
        self._lock = threading.Lock()
        self._closed = False

    def ended(self) -> bool:
        """Whether the portal closed the session (the person stopped sharing, the output went away)."""
        return self._closed or self._closed_watch.fired()

    def open_pipewire_remote(self) -> int:
        """A unix fd to a PipeWire connection that may see this session's streams only; the
        caller owns it (pass it to the child, then close it)."""
        msg = new_method_call(PORTAL, "OpenPipeWireRemote", "oa{sv}", (self.handle, {}))
        try:
            reply = self._router.send_and_get_reply(msg, timeout=CALL_TIMEOUT_S)
        except TimeoutError:
            raise OwnTraceError("the screen-cast portal did not hand over the PipeWire stream in time",
                                "check that pipewire and wireplumber run in your session") from None
        if reply.header.message_type is MessageType.error:
            raise _call_error("to open the PipeWire stream", DBusErrorResponse(reply))
        fd = reply.body[0]
        return int(fd.to_raw_fd())

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        try:
            if not self._closed_watch.fired():
                close = new_method_call(DBusAddress(self.handle, bus_name=PORTAL.bus_name, interface=SESSION_IFACE),
                                        "Close")
                self._router.send_and_get_reply(close, timeout=5)
        except (OSError, TimeoutError, DBusErrorResponse):
            pass  # the portal or the bus went first: the session is over either way
        finally:
            self._closed_watch.close()
            self._router.close()
            self._conn.close()

    def __enter__(self) -> ScreenCastSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _ClosedWatch:
    """The session's Closed signal (the portal ended it), listened for from creation on."""

    def __init__(self, router: DBusRouter, handle: str) -> None:
        self._signal: queue.Queue[Message] = queue.Queue(maxsize=1)
        rule = MatchRule(type="signal", interface=SESSION_IFACE, member="Closed", path=handle)
        self._filter = router.filter(rule, queue=self._signal)
        _add_match(router, rule)

    def fired(self) -> bool:
        return not self._signal.empty()

    def close(self) -> None:
        self._filter.close()


def _add_match(router: DBusRouter, rule: MatchRule) -> None:
    reply = router.send_and_get_reply(message_bus.AddMatch(rule), timeout=CALL_TIMEOUT_S)
    if reply.header.message_type is MessageType.error:
        raise OwnTraceError("the session bus refused a signal subscription", "restart your desktop session")


class _Requests:
    """Requests made on one connection: each gets a fresh handle_token and a known path."""

    def __init__(self, router: DBusRouter) -> None:
        self.router = router
        self.prefix = f"/org/freedesktop/portal/desktop/request/{_sender_part(router.unique_name)}"
        self.responses: queue.Queue[Message] = queue.Queue()
        # every Response to any of our requests: a portal that answers on another path than
        # the one we computed (old versions did) is still heard, and nothing arrives before we listen
        rule = MatchRule(type="signal", interface=REQUEST_IFACE, member="Response", path_namespace=self.prefix)
        self._filter = router.filter(rule, queue=self.responses)
        _add_match(router, rule)

    def call(self, what: str, method: str, signature: str, args: tuple[Any, ...], options: dict[str, Any],
             timeout: float) -> dict[str, Any]:
        token = f"owntrace_{secrets.token_hex(8)}"
        options = {**options, "handle_token": ("s", token)}
        msg = new_method_call(PORTAL, method, signature, (*args, options))
        try:
            reply = self.router.send_and_get_reply(msg, timeout=CALL_TIMEOUT_S)
        except TimeoutError:
            raise OwnTraceError(f"the screen-cast portal did not answer {method}",
                                "check that xdg-desktop-portal runs in your session") from None
        if reply.header.message_type is MessageType.error:
            raise _call_error(what, DBusErrorResponse(reply))
        handle = reply.body[0]
        try:
            while True:
                signal = self.responses.get(timeout=timeout)
                if signal.header.fields.get(HeaderFields.path) == handle:
                    break
        except queue.Empty:
            raise OwnTraceError(f"no answer from the screen-cast portal to {what}",
                                "answer the portal's dialog when it asks which screen to share, then try again") from None
        code, results = signal.body
        if code == 1:
            raise OwnTraceError(f"screen sharing was cancelled ({what})",
                                "start again and allow sharing the screen when the desktop asks")
        if code != 0:
            raise OwnTraceError(f"the screen-cast portal could not {what}",
                                "check that your desktop's portal backend (e.g. xdg-desktop-portal-wlr) is running")
        return {k: _unwrap(v) for k, v in results.items()}

    def close(self) -> None:
        self._filter.close()


def _properties(router: DBusRouter) -> PortalInfo:
    msg = new_method_call(DBusAddress(PORTAL.object_path, bus_name=PORTAL.bus_name,
                                      interface="org.freedesktop.DBus.Properties"), "GetAll", "s", (PORTAL.interface,))
    try:
        reply = router.send_and_get_reply(msg, timeout=CALL_TIMEOUT_S)
    except TimeoutError:
        raise OwnTraceError("the desktop portal did not answer", "check that xdg-desktop-portal runs in your session") from None
    if reply.header.message_type is MessageType.error:
        e = DBusErrorResponse(reply)
        if e.name == "org.freedesktop.DBus.Error.InvalidArgs":  # "No such interface": no backend offers screen casts
            raise OwnTraceError("the desktop portal has no screen-cast support", NO_PORTAL_HINT)
        raise _call_error("to describe itself", e)
    props = {k: _unwrap(v) for k, v in reply.body[0].items()}
    if "version" not in props:  # an old portal without the screen-cast interface answers with nothing
        raise OwnTraceError("the desktop portal has no screen-cast support", NO_PORTAL_HINT)
    return PortalInfo(int(props["version"]), SourceType(int(props.get("AvailableSourceTypes", SourceType.MONITOR))),
                      CursorMode(int(props.get("AvailableCursorModes", 0))))


def _streams(results: dict[str, Any]) -> list[Stream]:
    out = []
    for node_id, props in results.get("streams", []):
        p = {k: _unwrap(v) for k, v in props.items()}
        size, pos = p.get("size"), p.get("position")
        out.append(Stream(int(node_id), (int(size[0]), int(size[1])) if size else None,
                          (int(pos[0]), int(pos[1])) if pos else None, p.get("source_type")))
    return out


def cursor_mode(available: CursorMode) -> CursorMode | None:
    """Metadata keeps the pointer out of the pixels (its position is recorded as events);
    embedded draws it in. None: leave the portal's default (hidden)."""
    for mode in (CursorMode.METADATA, CursorMode.EMBEDDED):
        if mode in available:
            return mode
    return None


def start_screencast(home: os.PathLike[str] | str | None, *, window: bool = False, bus: str = "SESSION",
                     start_timeout: float = START_TIMEOUT_S) -> ScreenCastSession:
    """Ask the portal for the screen (or, with `window`, one window the person picks) and
    start the screencast. `home`: the OwnTrace home, where the restore token is kept (None:
    neither read nor written). `bus`: 'SESSION' or a D-Bus address."""
    try:
        conn = open_dbus_connection(bus, enable_fds=True)
    except (OSError, KeyError, ValueError) as e:
        raise OwnTraceError(f"cannot reach the desktop's session bus: {e}",
                            "run from inside your desktop session (DBUS_SESSION_BUS_ADDRESS must be set)") from None
    router = DBusRouter(conn)
    requests: _Requests | None = None
    try:
        info = _properties(router)
        wanted = SourceType.WINDOW if window else SourceType.MONITOR
        if wanted not in info.source_types:
            offered = ", ".join(t.name.lower() for t in SourceType if t in info.source_types and t.name) or "nothing"
            if window:
                raise OwnTraceError(
                    f"this desktop's screen-cast portal cannot share single windows (it offers: {offered})",
                    "record the whole screen instead (without --window) and exclude apps with `[exclude]` rules")
            raise OwnTraceError(f"this desktop's screen-cast portal cannot share a whole screen (it offers: {offered})",
                                "record one window instead (--window)")
        requests = _Requests(router)
        session_token = f"owntrace_{secrets.token_hex(8)}"
        created = requests.call("create a session", "CreateSession", "a{sv}", (),
                                {"session_handle_token": ("s", session_token)}, CALL_TIMEOUT_S)
        handle = str(created.get("session_handle") or
                     f"/org/freedesktop/portal/desktop/session/{_sender_part(router.unique_name)}/{session_token}")
        closed = _ClosedWatch(router, handle)
        options: dict[str, Any] = {"types": ("u", int(wanted)), "multiple": ("b", False)}
        mode = cursor_mode(info.cursor_modes)
        if mode is not None:
            options["cursor_mode"] = ("u", int(mode))
        path = token_path(home, window) if home is not None else None
        if info.version >= 4 and path is not None:  # restore tokens came with version 4; without a home, nowhere to keep one
            options["persist_mode"] = ("u", PERSIST_UNTIL_REVOKED)
            old = _read_token(path)
            if old:
                options["restore_token"] = ("s", old)
        requests.call("select what to share", "SelectSources", "oa{sv}", (handle,), options, CALL_TIMEOUT_S)
        started = requests.call("start sharing the screen", "Start", "osa{sv}", (handle, ""), {}, start_timeout)
        streams = _streams(started)
        if not streams:
            raise OwnTraceError("the screen-cast portal started no stream", "pick a screen or window when asked, then try again")
        token = started.get("restore_token")
        if path is not None and isinstance(token, str) and token:
            write_atomic(path, token.encode())  # single use: the next session needs this one
        session = ScreenCastSession(router, conn, handle, streams, info, token if isinstance(token, str) else None,
                                    closed)
    except BaseException:
        router.close()
        conn.close()
        raise
    finally:
        if requests is not None:
            requests.close()
    return session


def _read_token(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        return path.read_text().strip() or None
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError):
        return None  # an unreadable token only costs asking the person again
