"""The local review page: a small HTTP server on 127.0.0.1 that only its own page can use.

The security layer (`Gate`, `SecureHTTPServer`, `SecureHandler`) is shared by every local page
OwnTrace serves. The browser is handed a URL holding only a one-time code (`/open/<code>`): any
local process can read a browser's command line, so the code is exchanged on first load for an
HttpOnly, SameSite=Strict cookie and is invalid from then on. Every request needs that cookie and
the exact Host `127.0.0.1:<port>` (a DNS-rebound name is refused). State-changing requests are
POSTs with a JSON body, the page's CSRF token in a header and our own Origin. No CORS headers; a
strict Content-Security-Policy with scripts from files only and nothing cached (no-store) on every
response, the stdlib's own error responses included; frames are decrypted into memory per request.
Connections are bounded (a few at once, idle ones closed after seconds).
"""

from __future__ import annotations

import hmac
import json
import secrets
import socket
import sys
import threading
from http import HTTPStatus
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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
MAX_CONNECTIONS = 16  # the page makes a handful at once
IDLE_TIMEOUT_S = 10.0  # a connection that sends no complete request in this long is closed
BACKLOG = 64


def _static(name: str) -> bytes:
    return resources.files(__package__).joinpath(name).read_bytes()


class Gate:
    """Who may use a local page: the one-time code, the session cookie, Host, Origin, CSRF."""

    def __init__(self, port: int) -> None:
        self.host = f"127.0.0.1:{port}"
        self.origin = f"http://{self.host}"
        self._code: str | None = secrets.token_urlsafe(24)  # in the URL handed to the browser
        self.open_url = f"{self.origin}/open/{self._code}"
        self.cookie = secrets.token_urlsafe(32)  # never in a URL
        # a browser sends a host's cookies to all its ports: one name per server, so the timeline
        # and a review it opens do not overwrite each other's
        self.cookie_name = f"{COOKIE}_{port}"
        self.csrf = secrets.token_urlsafe(24)
        self._lock = threading.Lock()

    def redeem(self, code: str) -> bool:
        """True once, for the right code; every later use (and any wrong code) is refused."""
        with self._lock:
            if self._code is None or not hmac.compare_digest(code.encode(), self._code.encode()):
                return False
            self._code = None
            return True

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


BUSY = b"".join([b"HTTP/1.0 503 Service Unavailable\r\n",
                 *(f"{k}: {v}\r\n".encode() for k, v in SECURITY_HEADERS.items()),
                 b"Content-Length: 0\r\nConnection: close\r\n\r\n"])


class SecureHTTPServer(ThreadingHTTPServer):
    """At most MAX_CONNECTIONS handled at once; more are answered 503 and closed at once, so idle
    sockets cannot pile up threads. Handlers time out idle connections (SecureHandler)."""

    daemon_threads = True
    request_queue_size = BACKLOG

    def __init__(self, address: tuple[str, int], handler: type, *, idle_timeout: float = IDLE_TIMEOUT_S,
                 max_connections: int = MAX_CONNECTIONS) -> None:
        super().__init__(address, handler)
        self.idle_timeout = idle_timeout
        self._slots = threading.BoundedSemaphore(max_connections)
        self.gate = Gate(self.server_address[1])

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            try:
                request.sendall(BUSY)
            except OSError:
                pass
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

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
        self.timeout = self.server.idle_timeout  # type: ignore[attr-defined,misc]  # socketserver reads it per connection
        super().setup()

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
        if path.startswith("/open/") and self.command in ("GET", "HEAD"):
            if g.redeem(path[len("/open/"):]):
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
                 idle_timeout: float = IDLE_TIMEOUT_S) -> None:
        self.lock = threading.Lock()
        self.httpd = SecureHTTPServer(("127.0.0.1", port), handler, idle_timeout=idle_timeout)
        self.httpd.review = self  # type: ignore[attr-defined]
        self.gate = self.httpd.gate
        self.port = self.httpd.server_address[1]
        self.host, self.origin, self.csrf = self.gate.host, self.gate.origin, self.gate.csrf
        self._name = name
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The link for the browser: it opens the page once (see Gate)."""
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

    def __init__(self, view: RedactedView, port: int = 0, *, idle_timeout: float = IDLE_TIMEOUT_S) -> None:
        self.view = view
        self.record = load_review(view)
        self.finished = threading.Event()
        self.outcome = ""  # approved | closed
        super().__init__(_Handler, port, "review-server", idle_timeout=idle_timeout)

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
