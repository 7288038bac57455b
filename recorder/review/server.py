"""The local review page: a small HTTP server on 127.0.0.1 that only its own page can use.

Every request needs the random token in the URL path (`/<token>/...`, so relative links keep
it) and the exact Host `127.0.0.1:<port>` (a DNS-rebound name is refused). State-changing
requests are POSTs with a JSON body, the page's CSRF token in a header and our own Origin.
No CORS headers; a strict Content-Security-Policy with scripts from files only; nothing is
cached by the browser (no-store), and frames are decrypted into memory per request.
"""

from __future__ import annotations

import hmac
import json
import secrets
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .. import approval
from ..approval import Decisions, RedactedView, png_pixels_only
from ..errors import OwnTraceError

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # the token is in the URL
    "Cache-Control": "no-store",  # decrypted frames must not land in the browser's disk cache
    "X-Frame-Options": "DENY",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}
STATIC = {"app.js": "text/javascript", "app.css": "text/css"}
MAX_BODY = 4 * 1024 * 1024
PAGE_LIMIT = 500


def _static(name: str) -> bytes:
    return resources.files(__package__).joinpath(name).read_bytes()


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if not isinstance(exc, (BrokenPipeError, ConnectionResetError)):  # a closed tab is no error
            print(f"review server: a request failed: {exc!r}", file=sys.stderr)


class ReviewServer:
    """Serves one session's review until it is approved or closed."""

    def __init__(self, view: RedactedView, port: int = 0) -> None:
        self.view = view
        self.token = secrets.token_urlsafe(24)
        self.csrf = secrets.token_urlsafe(24)
        self.lock = threading.Lock()
        self.record = view.load_review()
        self.finished = threading.Event()
        self.outcome = ""  # approved | closed
        self.httpd = _HTTPServer(("127.0.0.1", port), _Handler)
        self.httpd.review = self  # type: ignore[attr-defined]
        self.port = self.httpd.server_address[1]
        self.host = f"127.0.0.1:{self.port}"
        self.origin = f"http://{self.host}"
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"{self.origin}/{self.token}/"

    def start(self) -> None:
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="review-server", daemon=True)
        self._thread.start()

    def wait(self, timeout: float | None = None) -> str:
        """Block until the review ends; Ctrl-C ends it too. Returns the outcome."""
        try:
            self.finished.wait(timeout)
        except KeyboardInterrupt:
            self.outcome = self.outcome or "interrupted"
        self.stop()
        return self.outcome

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread is not None:
            self._thread.join(5)

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
            "summary": approval.summary(v, self.record.decisions),
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
        self.record = approval.save_decisions(self.view, decisions)
        return self.session_info()

    def approve(self, obj: Any) -> dict[str, Any]:
        decisions = Decisions.from_obj(obj, self.view)
        result = approval.approve(self.view, decisions)
        self.record = self.view.load_review()
        return {"approved_at": result.approved_at, "items": len(result.items), "summary": result.summary}


def _groups(findings: list[dict[str, Any]]) -> dict[str, list[int]]:
    """Finding numbers per value group, for "keep it everywhere"."""
    out: dict[str, list[int]] = {}
    for j, f in enumerate(findings):
        if isinstance(f.get("group"), int):
            out.setdefault(str(f["group"]), []).append(j)
    return out


class _Handler(BaseHTTPRequestHandler):
    server_version = "owntrace-review"
    sys_version = ""

    @property
    def review(self) -> ReviewServer:
        return self.server.review  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:
        return None  # request lines hold the token: never logged

    def _send(self, status: int, body: bytes = b"", ctype: str = "text/plain; charset=utf-8") -> None:
        self.send_response(status)
        for k, v in SECURITY_HEADERS.items():
            self.send_header(k, v)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, obj: Any, status: int = 200) -> None:
        self._send(status, json.dumps(obj).encode(), "application/json")

    def _route(self) -> str | None:
        """The path after the token, or None when the request is refused (response sent)."""
        r = self.review
        if self.headers.get("Host") != r.host:
            self._send(HTTPStatus.MISDIRECTED_REQUEST, b"wrong host")
            return None
        path = urlsplit(self.path).path
        prefix, _, rest = path.lstrip("/").partition("/")
        if not hmac.compare_digest(prefix.encode(), r.token.encode()):
            self._send(HTTPStatus.FORBIDDEN, b"forbidden")
            return None
        return rest

    def do_GET(self) -> None:
        rest = self._route()
        if rest is None:
            return
        r = self.review
        query = parse_qs(urlsplit(self.path).query)
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

    def do_POST(self) -> None:
        rest = self._route()
        if rest is None:
            return
        r = self.review
        if self.headers.get("Origin") != r.origin:
            return self._send(HTTPStatus.FORBIDDEN, b"cross-origin request refused")
        if not hmac.compare_digest(self.headers.get("X-CSRF-Token", "").encode(), r.csrf.encode()):
            return self._send(HTTPStatus.FORBIDDEN, b"missing or wrong CSRF token")
        if self.headers.get("Content-Type", "").split(";")[0].strip() != "application/json":
            return self._send(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, b"JSON only")
        try:
            length = int(self.headers.get("Content-Length", "0"))
            if not 0 <= length <= MAX_BODY:
                raise ValueError
            body = json.loads(self.rfile.read(length) or b"null")
        except ValueError:
            return self._send(400, b"bad request")
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

    def do_HEAD(self) -> None:
        self.do_GET()

    def _refuse(self) -> None:
        self._send(HTTPStatus.METHOD_NOT_ALLOWED, b"method not allowed")

    do_PUT = do_DELETE = do_OPTIONS = do_PATCH = _refuse
