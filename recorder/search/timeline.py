"""The timeline page: days → sessions → steps with their frames, and the search box.

It follows the review server's rules by reusing its machinery rather than copying it: the
request handler is a SecureHandler behind the same Gate (127.0.0.1 only, exact Host check, a
one-time code exchanged for an HttpOnly cookie, the same strict CSP and security headers,
no-store, no logging of request lines, bounded connections). The page only reads: every route is a GET, the rest is refused. Frames are the raw
ones (this page is for the person who recorded them), decoded into memory per request.
"""

from __future__ import annotations

import io
import threading
from collections import defaultdict
from importlib import resources
from typing import Any

from recorder.errors import OwnTraceError
from recorder.keys import UnlockedIdentity
from recorder.redact.view import RedactedView
from recorder.review.server import PAGE_LIMIT, LocalServer, ReviewServer, SecureHandler
from recorder.search.indexer import is_indexed
from recorder.search.query import parse, parse_when
from recorder.search.searcher import Library, own_sessions, started
from recorder.steps import Screen, derive_steps, pyautogui_call
from recorder.store.session import Session

STATIC = {"timeline.js": "text/javascript", "timeline.css": "text/css"}
SEARCH_LIMIT = 50


def _static(name: str) -> bytes:
    return resources.files(__package__).joinpath(name).read_bytes()


class TimelineServer(LocalServer):
    """Serves the timeline of one unlocked home until stopped. Review servers it starts for a
    session (the page's link into review and export) live as long as it does."""

    def __init__(self, library: Library, user: UnlockedIdentity, port: int = 0) -> None:
        self.library = library
        self.user = user
        self.reviews: dict[str, ReviewServer] = {}
        self._steps: dict[str, list[dict[str, Any]]] = {}
        super().__init__(_TimelineHandler, port, "timeline-server")

    def wait(self) -> None:
        """Serve until Ctrl-C."""
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
        self.stop()

    def stop(self) -> None:
        for review in self.reviews.values():
            review.finish("closed")
            review.stop()
        super().stop()

    # --- the API, called by the handler with the lock held ---

    def _session(self, sid: str) -> Session:
        for s in own_sessions(self.library.root):
            if s.id == sid:
                return s
        raise OwnTraceError(f"no session {sid}", "it may have been deleted")

    def days(self) -> dict[str, Any]:
        by_day: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for s in reversed(own_sessions(self.library.root)):
            local = started(s).astimezone()
            by_day[local.date().isoformat()].append({
                "id": s.id, "name": s.meta.name, "started_at": s.meta.started_at, "local_time": local.strftime("%H:%M"),
                "duration_s": s.meta.duration_s, "state": s.meta.state, "study": s.meta.study,
                "indexed": is_indexed(s), "frames": s.meta.frames,
            })
        return {"days": [{"day": d, "sessions": v} for d, v in by_day.items()],
                "not_indexed": len(self.library.not_indexed)}

    def steps(self, sid: str, offset: int, limit: int) -> dict[str, Any]:
        if sid not in self._steps:
            s = self._session(sid)
            if s.meta.state == "raw-deleted":
                raise OwnTraceError(f"session {sid}: its raw capture was deleted", "its redacted view is in review")
            events = list(s.events(s.key(self.user), damaged=[]))
            sizes = [(int(e.get("w", 1)), int(e.get("h", 1))) for e in events if e.kind == "frame"]
            screen = Screen.union(s.meta.screens, fallback=sizes[0] if sizes else (1, 1))
            self._steps[sid] = [{
                "index": st.step_index, "t_start": st.t_start, "wall_time": st.wall_time,
                "action": pyautogui_call(st.action), "window": st.window, "frame": st.frame,
            } for st in derive_steps(events, started_at=s.meta.started_at, screen=screen)]
        steps = self._steps[sid]
        return {"session": sid, "total": len(steps), "offset": offset, "steps": steps[offset:offset + limit]}

    def frame(self, sid: str, n: int) -> bytes:
        s = self._session(sid)
        buf = io.BytesIO()
        s.frame_image(s.key(self.user), n).save(buf, format="PNG", compress_level=1)
        return buf.getvalue()

    def search(self, q: str, since: str, until: str) -> dict[str, Any]:
        query = parse(q, parse_when(since) if since else None, parse_when(until, end=True) if until else None)
        self.library.refresh()  # sessions indexed, rebuilt or deleted since the page opened
        self.library.require_content()
        return {"hits": [h.to_obj() for h in self.library.search(query, SEARCH_LIMIT)],
                "not_indexed": len(self.library.not_indexed)}

    def review_url(self, sid: str) -> str:
        """A fresh one-time link into the session's review server (its redacted view), started on
        first use: every click gets its own link, since a used one never opens the page again."""
        review = self.reviews.get(sid)
        if review is not None and review.finished.is_set():  # approved or closed: a fresh review
            review.stop()
            review = None
        if review is None:
            review = ReviewServer(RedactedView(self._session(sid), self.user))
            review.start()
            self.reviews[sid] = review
        return review.gate.new_link()


class _TimelineHandler(SecureHandler):
    server_version = "owntrace-timeline"

    def get(self, rest: str, query_lists: dict[str, list[str]]) -> None:
        r: TimelineServer = self.server.review  # type: ignore[attr-defined]
        query = {k: v[0] for k, v in query_lists.items()}
        parts = rest.split("/")
        try:
            if rest == "":
                return self._send(200, _static("timeline.html"), "text/html; charset=utf-8")
            if rest in STATIC:
                return self._send(200, _static(rest), STATIC[rest])
            with r.lock:
                if rest == "api/days":
                    return self._json(r.days())
                if rest == "api/search":
                    return self._json(r.search(query.get("q", ""), query.get("since", ""), query.get("until", "")))
                if len(parts) == 3 and parts[:2] == ["api", "steps"]:
                    offset = max(0, int(query.get("offset", "0")))
                    limit = min(PAGE_LIMIT, max(1, int(query.get("limit", "100"))))
                    return self._json(r.steps(parts[2], offset, limit))
                if len(parts) == 3 and parts[0] == "frame" and parts[2].isdigit():
                    return self._send(200, r.frame(parts[1], int(parts[2])), "image/png")
                if len(parts) == 2 and parts[0] == "review":
                    return self._send(303, headers={"Location": r.review_url(parts[1])})
        except ValueError:
            return self._send(400, b"bad request")
        except OwnTraceError as e:
            return self._json({"error": e.message, "hint": e.hint}, 409)
        self._send(404, b"not found")

    do_POST = SecureHandler._refuse  # the page only reads
