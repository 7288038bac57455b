"""sway's windows through its IPC (the i3-ipc binary protocol on $SWAYSOCK), in pure Python.

A message is the magic "i3-ipc", then the payload's length and the message type as native
32-bit integers, then the JSON payload; the reply has the same shape. GET_TREE gives every
node with its focus, app_id (or X11 class under XWayland), title, pid and rectangles.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import threading
from collections.abc import Iterator, Mapping
from typing import Any

from recorder.capture.backend import Rect
from recorder.capture.exclusion import ExclusionRules
from recorder.capture.gate import NO_WINDOW, WindowFacts
from recorder.errors import OwnTraceError

MAGIC = b"i3-ipc"
HEADER = struct.Struct("=6sII")
RUN_COMMAND, GET_WORKSPACES, GET_OUTPUTS, GET_TREE = 0, 1, 3, 4
IPC_TIMEOUT_S = 5.0
MAX_REPLY = 64 << 20  # a tree of thousands of windows is a few MB


def socket_path(env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    path = env.get("SWAYSOCK", "")
    if not path:
        raise OwnTraceError("SWAYSOCK is not set: this does not look like a sway session",
                            "run inside your sway session, or record with the portal backend")
    return path


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("sway closed its IPC socket")
        buf += chunk
    return bytes(buf)


def ipc_exchange(sock: socket.socket, kind: int, payload: str = "") -> Any:
    """One request and its reply on an open IPC socket (events are not subscribed: the next
    message is our reply)."""
    data = payload.encode()
    sock.sendall(HEADER.pack(MAGIC, len(data), kind) + data)
    magic, length, reply_kind = HEADER.unpack(_recv_exact(sock, HEADER.size))
    if magic != MAGIC or reply_kind != kind or length > MAX_REPLY:
        raise ConnectionError("unexpected reply on sway's IPC socket")
    return json.loads(_recv_exact(sock, length))


def connect(path: str, timeout: float = IPC_TIMEOUT_S) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(path)
    except OSError:
        sock.close()
        raise
    return sock


def ipc_call(path: str, kind: int, payload: str = "", timeout: float = IPC_TIMEOUT_S) -> Any:
    """One request on a fresh connection."""
    with connect(path, timeout) as sock:
        return ipc_exchange(sock, kind, payload)


def walk(node: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    yield node
    for child in (*node.get("nodes", ()), *node.get("floating_nodes", ())):
        yield from walk(child)


def is_view(node: Mapping[str, Any]) -> bool:
    """A node that shows a client (Wayland or XWayland), not a split container or workspace."""
    return node.get("type") in ("con", "floating_con") and (
        node.get("app_id") is not None or node.get("window_properties") is not None or node.get("pid") is not None)


def wm_class(node: Mapping[str, Any]) -> tuple[str, ...]:
    """(app_id,) for Wayland clients; (instance, class) as X gives it for XWayland ones."""
    app_id = node.get("app_id")
    if app_id:
        return (str(app_id),)
    props = node.get("window_properties") or {}
    names = tuple(str(props[k]) for k in ("instance", "class") if props.get(k))
    return names


def frame_rect(node: Mapping[str, Any]) -> Rect:
    """The window with its border and title bar, in desktop pixels. sway reports `rect`
    without the title bar (i3's convention) and the title bar's height in `deco_rect`; in
    tabbed and stacked layouts the tab sits elsewhere, and only the strip above is covered."""
    r, deco = node["rect"], node.get("deco_rect") or {}
    title_h = int(deco.get("height", 0))
    return (int(r["x"]), int(r["y"]) - title_h, int(r["width"]), int(r["height"]) + title_h)


def focused_view(tree: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The view that has the keyboard: the focused node, or, when a parent container is
    focused, the child it last focused, down to a view."""
    node = next((n for n in walk(tree) if n.get("focused")), None)
    while node is not None and not is_view(node):
        order = node.get("focus") or []
        children = {c["id"]: c for c in (*node.get("nodes", ()), *node.get("floating_nodes", ()))}
        node = children.get(order[0]) if order else None
    return node


class SwayWindows:
    """WindowSource over sway's IPC: one persistent socket behind a lock, reconnected once
    when sway restarted it (or it broke)."""

    def __init__(self, rules: ExclusionRules, env: Mapping[str, str] | None = None) -> None:
        self.rules = rules
        self._path = socket_path(env)
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._call(GET_OUTPUTS)  # fail now, with a clear error, rather than at the first key press

    def _call(self, kind: int, payload: str = "") -> Any:
        with self._lock:
            for attempt in (1, 2):
                try:
                    if self._sock is None:
                        self._sock = connect(self._path)
                    return ipc_exchange(self._sock, kind, payload)
                except (OSError, ConnectionError, ValueError) as e:
                    if self._sock is not None:
                        self._sock.close()
                        self._sock = None
                    if attempt == 2:
                        raise OwnTraceError(f"lost sway's IPC socket ({e})",
                                            "the desktop session ended or sway restarted: start recording again") from None
        raise AssertionError("unreachable")

    def tree(self) -> Any:
        return self._call(GET_TREE)

    def outputs(self) -> list[dict[str, object]]:
        """The active outputs as SessionMeta.screens: x, y, w, h (logical pixels) and scale."""
        out: list[dict[str, object]] = []
        for o in self._call(GET_OUTPUTS):
            if o.get("active"):
                r = o["rect"]
                out.append({"x": r["x"], "y": r["y"], "w": r["width"], "h": r["height"],
                            "scale": float(o.get("scale") or 1.0), "name": o.get("name", "")})
        return out

    def active(self, geometry: bool = True) -> WindowFacts:
        """The focused view now. One GET_TREE answers everything, so `geometry` saves nothing."""
        node = focused_view(self.tree())
        if node is None:
            return NO_WINDOW
        pid = node.get("pid")
        return WindowFacts(int(node["id"]), wm_class(node), str(node.get("name") or ""),
                           int(pid) if pid else None, frame_rect(node))

    def excluded_rects(self) -> list[Rect]:
        """Every visible view the rules exclude, focused or not."""
        return [frame_rect(n) for n in walk(self.tree())
                if is_view(n) and n.get("visible") and self.rules.reason(wm_class(n), str(n.get("name") or "")) is not None]

    def known(self) -> bool:
        return True

    def close(self) -> None:
        with self._lock:
            if self._sock is not None:
                self._sock.close()
                self._sock = None
