"""Issue 14, items 3 and 7: the review server's one-time link, its cookie, and its behaviour under
idle sockets, hostile bodies and the stdlib's own error responses."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from pathlib import Path

import pytest

from recorder.redact.view import RedactedView
from recorder.review.decisions import load_review
from recorder.review.server import MAX_CONNECTIONS, SECURITY_HEADERS, ReviewServer
from tests.support.review_kit import standard_session

IDLE_S = 3.0  # the server's idle timeout in these tests (10 s by default); long enough to accept 40 sockets
WAIT_S = 30  # how long a test waits for the server to act on it (a hang fails)


@pytest.fixture
def server(home: Path, user):
    srv = ReviewServer(RedactedView(standard_session(home), user), idle_timeout=IDLE_S)
    srv.start()
    yield srv
    if not srv.finished.is_set():
        srv.finish("closed")
    srv.wait(5)


def raw(srv: ReviewServer, data: bytes) -> bytes:
    """Send bytes as they are and read the whole answer."""
    with socket.create_connection(("127.0.0.1", srv.port), timeout=WAIT_S) as s:
        s.sendall(data)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
    return out


def get(srv: ReviewServer, path: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=WAIT_S)
    conn.request("GET", path, headers={"Host": srv.host, **(headers or {})})
    r = conn.getresponse()
    body = r.read()
    conn.close()
    return r.status, dict(r.getheaders()), body


def post(srv: ReviewServer, path: str, body: bytes) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=WAIT_S)
    conn.request("POST", path, body=body, headers={
        "Host": srv.host, "Origin": srv.origin, "X-CSRF-Token": srv.csrf, "Content-Type": "application/json",
        "Cookie": srv.gate.cookie_header()})
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, data


def test_the_link_opens_the_page_once_and_the_cookie_is_strict(server: ReviewServer) -> None:
    path = server.url.removeprefix(server.origin)
    assert server.gate.cookie not in server.url and server.csrf not in server.url
    assert get(server, path.replace(path[-4:], "AAAA"))[0] == 403  # a wrong code does not spend the right one
    status, headers, _ = get(server, path)
    assert status == 303 and headers["Location"] == "/"
    cookie = headers["Set-Cookie"]
    assert cookie.startswith(f"{server.gate.cookie_header()};")
    assert {"HttpOnly", "SameSite=Strict", "Path=/"} <= {p.strip() for p in cookie.split(";")}
    status, _, body = get(server, path)  # a process that read the link from a command line
    assert status == 403 and b"used already" in body
    assert get(server, "/", {"Cookie": cookie.split(";")[0]})[0] == 200
    assert get(server, "/")[0] == 403


def test_idle_sockets_are_bounded_and_timed_out(server: ReviewServer) -> None:
    before = threading.active_count()
    idle = [socket.create_connection(("127.0.0.1", server.port), timeout=WAIT_S) for _ in range(40)]
    try:
        # past the bound, connections are answered 503 (with the security headers) and closed
        refused = [s for s in idle[MAX_CONNECTIONS:] if s.recv(4096).startswith(b"HTTP/1.0 503")]
        assert len(refused) == 40 - MAX_CONNECTIONS
        assert threading.active_count() - before <= MAX_CONNECTIONS
        # the bounded ones are closed once idle for IDLE_S, without an answer
        for s in idle[:MAX_CONNECTIONS]:
            assert s.recv(4096) == b""
    finally:
        for s in idle:
            s.close()
    deadline = time.monotonic() + WAIT_S
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert threading.active_count() <= before
    assert get(server, "/", {"Cookie": server.gate.cookie_header()})[0] == 200


@pytest.mark.parametrize("body", [
    b'{"boxes":[{"frame":[1],"bbox":[0,0,1,1]}]}',
    json.dumps({"texts": {"9" * 5000: "x"}}).encode(),
    b'{"boxes":' + b"[" * 100000 + b"]" * 100000 + b"}",
    b'{"deleted_ranges":[[NaN, Infinity]]}',
])
def test_hostile_decision_bodies_get_an_answer(server: ReviewServer, body: bytes) -> None:
    status, data = post(server, "/api/decisions", body)
    assert status in (400, 409), (status, data)
    if status == 409:
        assert json.loads(data)["error"].startswith("invalid review decisions")
    assert load_review(server.view).decisions.boxes == []


@pytest.mark.parametrize("request_bytes,status", [
    (b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n", 414),
    (b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(120)) + b"\r\n", 431),
    (b"BREW / HTTP/1.1\r\nHost: x\r\n\r\n", 501),
    (b"GET / HTTP/3.0\r\n\r\n", 505),
    (b"GET\r\n\r\n", 400),
])
def test_stdlib_error_responses_carry_the_security_headers(server: ReviewServer, request_bytes: bytes, status: int) -> None:
    answer = raw(server, request_bytes)
    head = answer.split(b"\r\n\r\n", 1)[0].decode()
    assert head.split()[1] == str(status), head
    for name, value in SECURITY_HEADERS.items():
        assert f"{name}: {value}" in head, name
