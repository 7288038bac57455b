"""The local review page: a small HTTP server on 127.0.0.1 that only its own page can use.

The security layer (`Gate`, `SecureHTTPServer`, `SecureHandler`) is shared by every local page
OwnTrace serves. The browser is handed a URL holding only a one-time code (`/open/<code>`): any
local process can read a browser's command line, so the code is exchanged on first load for an
HttpOnly, SameSite=Strict cookie and is invalid from then on. Every request needs that cookie and
the exact Host `127.0.0.1:<port>` (a DNS-rebound name is refused). State-changing requests are
POSTs with a JSON body, the page's CSRF token in a header and our own Origin. No CORS headers; a
strict Content-Security-Policy with scripts from files only and nothing cached (no-store) on every
response, the stdlib's own error responses included; frames are decrypted into memory per request.
Each request must arrive whole within a deadline, and no slow or idle connection holds a handler
(SecureHTTPServer), so another local user cannot lock the owner out.
"""

from __future__ import annotations

import errno
import hmac
import io
import json
import os
import re
import secrets
import selectors
import socket
import struct
import sys
import threading
import time
from collections import deque
from http import HTTPStatus
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler, HTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

from recorder import limits
from recorder.errors import OwnTraceError
from recorder.redact.view import RedactedView
from recorder.review import approval
from recorder.review.decisions import Decisions, load_review, save_decisions
from recorder.review.plan import BundlePlan, png_pixels_only

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",  # decrypted frames must not land in the browser's disk cache
    "X-Frame-Options": "DENY",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}
STATIC = {"app.js": "text/javascript", "app.css": "text/css"}
MAX_BODY = 4 * 1024 * 1024
PAGE_LIMIT = 500
COOKIE = "owntrace_review"
MAX_CONNECTIONS = 16  # requests handled at once: the page makes a handful at once
# connections whose request has not fully arrived (a socket and a buffer each, no thread); past it
# the oldest of them is closed: an attacker needs more than this many at once to cycle the owner's out
MAX_WAITING = 256
MAX_READY = 64  # whole requests waiting for a handler; past it 503
REQUEST_DEADLINE_S = 10.0  # a whole request, headers and body, must arrive within this long of connecting
MAX_HEAD = 128 * 1024  # request line and headers past this, unfinished: the handler answers 414/431 from them
ACCEPTS_PER_TURN = 16  # between reads of the waiting connections, so a flood of connects cannot starve them
MAX_LINKS = 16  # one-time links handed out and not used yet; past it the oldest stops working
BACKLOG = 64


def _static(name: str) -> bytes:
    return resources.files(__package__).joinpath(name).read_bytes()


class Gate:
    """Who may use a local page: one-time codes, the session cookie, Host, Origin, CSRF."""

    def __init__(self, port: int) -> None:
        self.host = f"127.0.0.1:{port}"
        self.origin = f"http://{self.host}"
        self._codes: dict[str, None] = {}  # unused one-time codes, oldest first
        self._lock = threading.Lock()
        self.open_url = self.new_link()  # the link the command hands to the browser
        self.cookie = secrets.token_urlsafe(32)  # never in a URL
        # a browser sends a host's cookies to all its ports: one name per server, so the timeline
        # and a review it opens do not overwrite each other's
        self.cookie_name = f"{COOKIE}_{port}"
        self.csrf = secrets.token_urlsafe(24)

    def new_link(self) -> str:
        """A link that opens the page once. Every link handed out is a fresh one, so no second
        click (or a process that read the first from a command line) gets a spent code."""
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = None
            while len(self._codes) > MAX_LINKS:
                del self._codes[next(iter(self._codes))]
        return f"{self.origin}/open/{code}"

    def redeem(self, code: str) -> bool:
        """True once for each code handed out; every later use (and any wrong code) is refused."""
        with self._lock:
            for known in self._codes:
                if hmac.compare_digest(code.encode(), known.encode()):
                    del self._codes[known]
                    return True
            return False

    def cookie_header(self) -> str:
        return f"{self.cookie_name}={self.cookie}"

    def set_cookie(self) -> str:
        return f"{self.cookie_header()}; HttpOnly; SameSite=Strict; Path=/"

    def has_cookie(self, header: str | None) -> bool:
        try:
            morsel = SimpleCookie(header or "").get(self.cookie_name)
        except CookieError:
            return False
        return morsel is not None and hmac.compare_digest(morsel.value.encode(), self.cookie.encode())

    def post_refusal(self, headers: Any) -> tuple[int, bytes] | None:
        """Why a POST is refused, or None when it carries our Origin, CSRF token and JSON."""
        if headers.get("Origin") != self.origin:
            return HTTPStatus.FORBIDDEN, b"cross-origin request refused"
        if not hmac.compare_digest(headers.get("X-CSRF-Token", "").encode(), self.csrf.encode()):
            return HTTPStatus.FORBIDDEN, b"missing or wrong CSRF token"
        if headers.get("Content-Type", "").split(";")[0].strip() != "application/json":
            return HTTPStatus.UNSUPPORTED_MEDIA_TYPE, b"JSON only"
        return None


def _canned(status: bytes) -> bytes:
    return b"".join([b"HTTP/1.0 " + status + b"\r\n", *(f"{k}: {v}\r\n".encode() for k, v in SECURITY_HEADERS.items()),
                     b"Content-Length: 0\r\nConnection: close\r\n\r\n"])


BUSY = _canned(b"503 Service Unavailable")
TOO_SLOW = _canned(b"408 Request Timeout")
_HEAD_END = re.compile(rb"\r?\n\r?\n")
_CONTENT_LENGTH = re.compile(rb"(?im)^content-length[ \t]*:[ \t]*(\d{1,15})[ \t]*\r?$")


def request_complete(data: bytes | bytearray) -> bool:
    """Whether `data` holds a whole request (headers, then Content-Length bytes of body), or
    enough for the handler to refuse it (headers past MAX_HEAD, a body past MAX_BODY)."""
    end = _HEAD_END.search(data)
    if end is None:
        return len(data) > MAX_HEAD
    length = _CONTENT_LENGTH.search(data, 0, end.start())
    body = int(length.group(1)) if length else 0
    return body > MAX_BODY or len(data) >= end.end() + body


_SOCK_DIAG_BY_FAMILY = 20  # linux/sock_diag.h
_NETLINK_SOCK_DIAG = 4


def peer_uid(sock: socket.socket) -> int | None:
    """The user owning the other end of a loopback TCP connection (Linux sock_diag, one netlink
    round trip of ~25 us), or None where the kernel does not say."""
    try:
        here, there = sock.getsockname()[:2], sock.getpeername()[:2]
        # the peer's socket is the one from `there` to `here`: an exact-match inet_diag_req_v2
        addr = [socket.inet_aton(h).ljust(16, b"\0") for h in (there[0], here[0])]
        sockid = struct.pack("!HH16s16s", there[1], here[1], *addr) + struct.pack("=III", 0, 0xFFFFFFFF, 0xFFFFFFFF)
        body = struct.pack("=BBBBI", socket.AF_INET, socket.IPPROTO_TCP, 0, 0, 0xFFFFFFFF) + sockid
        with socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, _NETLINK_SOCK_DIAG) as nl:
            nl.settimeout(1)
            nl.send(struct.pack("=IHHII", 16 + len(body), _SOCK_DIAG_BY_FAMILY, 1, 1, 0) + body)
            reply = nl.recv(4096)
        if struct.unpack_from("=H", reply, 4)[0] != _SOCK_DIAG_BY_FAMILY:
            return None
        return int(struct.unpack_from("=I", reply, 16 + 4 + 48 + 12)[0])  # inet_diag_msg.idiag_uid
    except (OSError, struct.error, AttributeError):
        return None


class _Waiting:
    """A connection whose request has not fully arrived yet."""

    __slots__ = ("sock", "address", "deadline", "data", "foreign")

    def __init__(self, sock: socket.socket, address: Any, deadline: float, foreign: bool) -> None:
        self.sock, self.address, self.deadline, self.data = sock, address, deadline, bytearray()
        self.foreign = foreign  # another user's (or of an unknown user): the first to give way


def _close(sock: socket.socket, answer: bytes = b"") -> None:
    try:
        if answer:
            sock.send(answer)  # best effort: the socket is non-blocking and the answer small
        sock.close()
    except OSError:
        pass


class SecureHTTPServer(HTTPServer):
    """Reads each request whole before a handler thread sees it, so no client can hold a handler.

    One loop (serve_forever) accepts connections and reads them without blocking; a connection
    must deliver its whole request within `request_deadline` of connecting, however it spreads
    the bytes (the deadline is per request, not per read), and when MAX_WAITING are still
    incomplete, a new one closes the oldest of them. Every peer is 127.0.0.1, but the kernel
    says which user owns each one (peer_uid): another user's connections give way first and can
    never push out one of the owner's, so a fresh request of the owner's is served however many
    slow or idle sockets another local user holds open. Whole requests go to at most
    `max_handlers` threads."""

    request_queue_size = BACKLOG

    def __init__(self, address: tuple[str, int], handler: type, *, request_deadline: float = REQUEST_DEADLINE_S,
                 max_handlers: int = MAX_CONNECTIONS, max_waiting: int = MAX_WAITING) -> None:
        super().__init__(address, handler)
        self.socket.setblocking(False)
        self.request_deadline = request_deadline
        self.max_handlers, self.max_waiting = max_handlers, max_waiting
        self.gate = Gate(self.server_address[1])
        self._waiting: dict[socket.socket, _Waiting] = {}  # oldest first
        self._ready: deque[tuple[socket.socket, Any, bytes]] = deque()
        self._busy = 0
        self._lock = threading.Lock()
        self._wake_r, self._wake_w = socket.socketpair()
        self._stop = threading.Event()
        self._stopped = threading.Event()
        self._stopped.set()  # a shutdown() before serve_forever() returns at once
        self._selector: selectors.BaseSelector | None = None
        self._uid = os.getuid()

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        self._stopped.clear()
        try:
            with selectors.DefaultSelector() as sel:
                self._selector = sel
                sel.register(self.socket, selectors.EVENT_READ, None)
                sel.register(self._wake_r, selectors.EVENT_READ, None)
                while not self._stop.is_set():
                    oldest = next(iter(self._waiting.values()), None)
                    timeout = poll_interval if oldest is None else min(poll_interval, oldest.deadline - time.monotonic())
                    for key, _ in sel.select(max(0.0, timeout)):
                        if key.fileobj is self.socket:
                            self._accept()
                        elif key.fileobj is self._wake_r:
                            self._wake_r.recv(64)
                        elif self._waiting.get(key.fileobj) is key.data:  # type: ignore[call-overload]  # not closed this turn
                            self._receive(key.data)
                    self._expire()
                for w in list(self._waiting.values()):
                    self._drop(w)
        finally:
            with self._lock:
                while self._ready:
                    _close(self._ready.popleft()[0])
            self._selector = None
            self._stopped.set()

    def shutdown(self) -> None:
        self._stop.set()
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass
        self._stopped.wait()

    def server_close(self) -> None:
        super().server_close()
        self._wake_r.close()
        self._wake_w.close()

    def _accept(self) -> None:
        for _ in range(ACCEPTS_PER_TURN):
            try:
                sock, address = self.socket.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:
                if e.errno not in (errno.EMFILE, errno.ENFILE):
                    return
                if not self._waiting:  # nothing of ours to free: let the deadlines of the handlers run
                    time.sleep(0.05)
                    return
                self._drop(next(iter(self._waiting.values())), BUSY)  # out of descriptors: the oldest gives way
                continue
            sock.setblocking(False)
            foreign = peer_uid(sock) != self._uid
            if len(self._waiting) >= self.max_waiting:
                victim = self._victim(foreign)
                if victim is None:  # another user's, and every waiting one is the owner's
                    _close(sock, BUSY)
                    continue
                self._drop(victim, BUSY)
            w = _Waiting(sock, address, time.monotonic() + self.request_deadline, foreign)
            self._waiting[sock] = w
            assert self._selector is not None
            self._selector.register(sock, selectors.EVENT_READ, w)
            self._receive(w)  # a browser's request is usually there already

    def _victim(self, foreign: bool) -> _Waiting | None:
        """The waiting connection a new one replaces: another user's oldest; the owner's own
        oldest only for one of the owner's."""
        oldest = None
        for w in self._waiting.values():
            if w.foreign:
                return w
            oldest = oldest or w
        return None if foreign else oldest

    def _receive(self, w: _Waiting) -> None:
        try:
            chunk = w.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if not chunk:
            return self._drop(w)
        w.data += chunk
        if request_complete(w.data):
            self._forget(w)
            self._dispatch(w.sock, w.address, bytes(w.data))

    def _expire(self) -> None:
        now = time.monotonic()
        while self._waiting:
            w = next(iter(self._waiting.values()))
            if w.deadline > now:
                return
            self._drop(w, TOO_SLOW)

    def _forget(self, w: _Waiting) -> None:
        del self._waiting[w.sock]
        if self._selector is not None:
            self._selector.unregister(w.sock)

    def _drop(self, w: _Waiting, answer: bytes = b"") -> None:
        self._forget(w)
        _close(w.sock, answer)

    def _dispatch(self, sock: socket.socket, address: Any, data: bytes) -> None:
        with self._lock:
            if self._busy >= self.max_handlers:
                if len(self._ready) >= MAX_READY:
                    return _close(sock, BUSY)
                self._ready.append((sock, address, data))
                return
            self._busy += 1
        threading.Thread(target=self._work, args=((sock, address, data),), name="local-page", daemon=True).start()

    def _work(self, item: tuple[socket.socket, Any, bytes] | None) -> None:
        while item is not None:
            sock, address, data = item
            try:
                sock.setblocking(True)
                sock.settimeout(self.request_deadline)  # a reader that stops reading the answer
                self.finish_request((sock, data), address)  # type: ignore[arg-type]
            except Exception:
                self.handle_error(sock, address)
            finally:
                self.shutdown_request(sock)
            with self._lock:
                item = self._ready.popleft() if self._ready else None
                if item is None:
                    self._busy -= 1

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if not isinstance(exc, (BrokenPipeError, ConnectionResetError, socket.timeout)):  # a closed tab is no error
            print(f"local page: a request failed: {exc!r}", file=sys.stderr)


class SecureHandler(BaseHTTPRequestHandler):
    """Sends the security headers on every response and admits only the gate's own browser.
    Subclasses implement `get(rest, query)` and `post(rest, body)` over the admitted path."""

    server_version = "owntrace"
    sys_version = ""
    # the stdlib answers unparseable requests as HTTP/0.9, which has no headers at all
    default_request_version = "HTTP/1.0"

    @property
    def gate(self) -> Gate:
        return self.server.gate  # type: ignore[attr-defined]

    def setup(self) -> None:
        # SecureHTTPServer hands over the connection with its request, received whole
        self.connection, data = self.request
        self.rfile = io.BytesIO(data)
        self.wfile = self.connection.makefile("wb")

    def end_headers(self) -> None:
        for k, v in SECURITY_HEADERS.items():
            self.send_header(k, v)
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return None  # request lines may hold the one-time code: never logged

    def _send(self, status: int, body: bytes = b"", ctype: str = "text/plain; charset=utf-8",
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, obj: Any, status: int = 200) -> None:
        self._send(status, json.dumps(obj).encode(), "application/json")

    def _route(self) -> str | None:
        """The path without its leading slash, or None when the request is refused or was the
        one-time code's exchange (response sent)."""
        g = self.gate
        if self.headers.get("Host") != g.host:
            self._send(HTTPStatus.MISDIRECTED_REQUEST, b"wrong host")
            return None
        path = urlsplit(self.path).path
        if path.startswith("/open/"):
            if self.command != "GET":  # a link preview's HEAD must not spend the code
                self._send(HTTPStatus.METHOD_NOT_ALLOWED, b"open the link with GET", headers={"Allow": "GET"})
            elif g.redeem(path[len("/open/"):]):
                self._send(HTTPStatus.SEE_OTHER, b"", headers={"Location": "/", "Set-Cookie": g.set_cookie()})
            else:
                self._send(HTTPStatus.FORBIDDEN, b"this link was used already: it opens the page once. If you did "
                           b"not open it, another program on this machine may have: stop the review (Ctrl-C).")
            return None
        if not g.has_cookie(self.headers.get("Cookie")):
            self._send(HTTPStatus.FORBIDDEN, b"forbidden: open the link the command printed")
            return None
        return path.lstrip("/")

    def do_GET(self) -> None:
        rest = self._route()
        if rest is not None:
            self.get(rest, parse_qs(urlsplit(self.path).query))

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_POST(self) -> None:
        rest = self._route()
        if rest is None:
            return
        refusal = self.gate.post_refusal(self.headers)
        if refusal is not None:
            return self._send(*refusal)
        try:
            length = int(self.headers.get("Content-Length", "0"))
            if not 0 <= length <= MAX_BODY:
                raise ValueError
            body = limits.loads(self.rfile.read(length) or b"null")
        except ValueError:
            return self._send(400, b"bad request: a JSON body of at most 4 MiB, nested 32 deep at most")
        self.post(rest, body)

    def _refuse(self) -> None:
        self._send(HTTPStatus.METHOD_NOT_ALLOWED, b"method not allowed")

    do_PUT = do_DELETE = do_OPTIONS = do_PATCH = _refuse

    def get(self, rest: str, query: dict[str, list[str]]) -> None:
        self._send(404, b"not found")

    def post(self, rest: str, body: Any) -> None:
        self._send(404, b"not found")


class LocalServer:
    """A local page's server on 127.0.0.1 behind its Gate (the review, and the search timeline,
    whose handler is a SecureHandler too and so keeps every rule above)."""

    def __init__(self, handler: type[SecureHandler], port: int, name: str, *,
                 request_deadline: float = REQUEST_DEADLINE_S) -> None:
        self.lock = threading.Lock()
        self.httpd = SecureHTTPServer(("127.0.0.1", port), handler, request_deadline=request_deadline)
        self.httpd.review = self  # type: ignore[attr-defined]
        self.gate = self.httpd.gate
        self.port = self.httpd.server_address[1]
        self.host, self.origin, self.csrf = self.gate.host, self.gate.origin, self.gate.csrf
        self._name = name
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The first link for the browser: it opens the page once (see Gate; new_link for more)."""
        return self.gate.open_url

    def start(self) -> None:
        self._thread = threading.Thread(target=self.httpd.serve_forever, name=self._name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread is not None:
            self._thread.join(5)


class ReviewServer(LocalServer):
    """Serves one session's review until it is approved or closed."""

    def __init__(self, view: RedactedView, port: int = 0, *, request_deadline: float = REQUEST_DEADLINE_S) -> None:
        self.view = view
        self.record = load_review(view)
        self.finished = threading.Event()
        self.outcome = ""  # approved | closed
        super().__init__(_Handler, port, "review-server", request_deadline=request_deadline)

    def wait(self, timeout: float | None = None) -> str:
        """Block until the review ends; Ctrl-C ends it too. Returns the outcome."""
        try:
            self.finished.wait(timeout)
        except KeyboardInterrupt:
            self.outcome = self.outcome or "interrupted"
        self.stop()
        return self.outcome

    def finish(self, outcome: str) -> None:
        self.outcome = outcome
        self.finished.set()

    # --- the API, called by the handler with the lock held ---

    def session_info(self) -> dict[str, Any]:
        v = self.view
        return {
            "session": v.meta.id,
            "task": v.task,
            "started_at": v.meta.started_at,
            "duration_s": v.meta.duration_s,
            "steps": len(v.steps),
            "findings": len(v.findings),
            "withheld": v.withheld,
            "flagged": [{k: f[k] for k in ("item", "reason", "bbox") if k in f} for f in v.flagged],
            "decisions": self.record.decisions.to_obj(),
            "approved": self.record.approval is not None,
            "summary": approval.summary(BundlePlan(v, self.record.decisions)),
            "groups": _groups(v.findings),
        }

    def steps_page(self, offset: int, limit: int) -> dict[str, Any]:
        v = self.view
        out = []
        for s in v.steps[offset:offset + limit]:
            frame = s.frame if s.frame is not None and v.session.has(f"redacted/frames/{s.frame:06d}.png.age") else None
            findings = [{"id": j, **{k: v.findings[j][k] for k in ("entity", "source", "bbox", "span", "score",
                                                                   "detector", "group") if k in v.findings[j]}}
                        for j in v.step_findings(s)]
            out.append({
                "index": s.step_index, "t_start": s.t_start, "t_end": s.t_end, "wall_time": s.wall_time,
                "action": s.action.to_obj(), "pyautogui": s.pyautogui, "window": s.window,
                "frame": frame, "frame_size": v.frame_sizes.get(s.frame) if s.frame is not None else None,
                "withheld": s.frame is not None and frame is None,
                "findings": findings,
                "flagged": [{k: f[k] for k in ("reason", "bbox") if k in f} for f in v.flagged
                            if s.frame is not None and f.get("item") == f"frame:{s.frame}"],
            })
        return {"total": len(v.steps), "offset": offset, "steps": out}

    def frame(self, n: int) -> bytes | None:
        data = self.view.redacted_frame(n) if n in self.view.frame_sizes else None
        return png_pixels_only(data, f"frame {n}")[0] if data is not None else None

    def save(self, obj: Any) -> dict[str, Any]:
        decisions = Decisions.from_obj(obj, self.view)
        self.record = save_decisions(self.view, decisions)
        return self.session_info()

    def approve(self, obj: Any) -> dict[str, Any]:
        decisions = Decisions.from_obj(obj, self.view)
        result = approval.approve(self.view, decisions)
        self.record = load_review(self.view)
        return {"approved_at": result.approved_at, "items": len(result.items), "summary": result.summary}


def _groups(findings: list[dict[str, Any]]) -> dict[str, list[int]]:
    """Finding numbers per value group, for "keep it everywhere"."""
    out: dict[str, list[int]] = {}
    for j, f in enumerate(findings):
        if isinstance(f.get("group"), int):
            out.setdefault(str(f["group"]), []).append(j)
    return out


class _Handler(SecureHandler):
    @property
    def review(self) -> ReviewServer:
        return self.server.review  # type: ignore[attr-defined]

    def get(self, rest: str, query: dict[str, list[str]]) -> None:
        r = self.review
        try:
            if rest == "":
                html = _static("index.html").replace(b"{{CSRF}}", r.csrf.encode())
                return self._send(200, html, "text/html; charset=utf-8")
            if rest in STATIC:
                return self._send(200, _static(rest), STATIC[rest])
            if rest == "api/session":
                with r.lock:
                    return self._json(r.session_info())
            if rest == "api/steps":
                offset = max(0, int(query.get("offset", ["0"])[0]))
                limit = min(PAGE_LIMIT, max(1, int(query.get("limit", ["100"])[0])))
                with r.lock:
                    return self._json(r.steps_page(offset, limit))
            if rest.startswith("frame/") and rest[6:].isdigit():
                data = r.frame(int(rest[6:]))
                return self._send(200, data, "image/png") if data else self._send(404, b"withheld or unknown frame")
        except ValueError:
            return self._send(400, b"bad request")
        except OwnTraceError as e:
            return self._json({"error": e.message, "hint": e.hint}, 409)
        self._send(404, b"not found")

    def post(self, rest: str, body: Any) -> None:
        r = self.review
        try:
            with r.lock:
                if rest == "api/decisions":
                    return self._json(r.save(body))
                if rest == "api/approve":
                    result = r.approve(body)
                    self._json(result)
                    r.finish("approved")
                    return
                if rest == "api/close":
                    self._json({"closed": True})
                    r.finish("closed")
                    return
        except OwnTraceError as e:
            return self._json({"error": e.message, "hint": e.hint}, 409)
        self._send(404, b"not found")
