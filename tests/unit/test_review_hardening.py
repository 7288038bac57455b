"""Issue 14, items 3 and 7: the review server's one-time link, its cookie, and its behaviour under
idle sockets, hostile bodies and the stdlib's own error responses. Issue 22, items 1 and 5: slow
and idle connections cannot lock the owner out; HEAD spends no link, and every link is fresh."""

from __future__ import annotations

import http.client
import json
import os
import socket
import threading
import time
from pathlib import Path

import pytest

from recorder.redact.view import RedactedView
from recorder.review.decisions import load_review
from recorder.review.server import (
    MAX_CONNECTIONS,
    MAX_WAITING,
    SECURITY_HEADERS,
    ReviewServer,
    peer_uid,
    request_complete,
)
from tests.support.attack import attack, other_user
from tests.support.review_kit import standard_session

DEADLINE_S = 3.0  # the server's per-request deadline in these tests (10 s by default)
WAIT_S = 30  # how long a test waits for the server to act on it (a hang fails)
OWNER_S = 1.0  # issue 22: under attack, the owner's requests are answered within a second
WAITING = 32  # the servers' MAX_WAITING in the tests that go past it (256 by default): fewer sockets


@pytest.fixture
def server(home: Path, user):
    srv = ReviewServer(RedactedView(standard_session(home), user), request_deadline=DEADLINE_S)
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


def owner_get(srv: ReviewServer) -> None:
    """The owner's browser: a fresh connection with the cookie, answered 200 within OWNER_S."""
    t0 = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=OWNER_S)
    conn.request("GET", "/api/session", headers={"Host": srv.host, "Cookie": srv.gate.cookie_header()})
    r = conn.getresponse()
    r.read()
    conn.close()
    assert r.status == 200 and time.monotonic() - t0 < OWNER_S


def closed_within(s: socket.socket, seconds: float) -> bytes:
    """What the server sent before closing `s`; fails if it is still open after `seconds`."""
    s.settimeout(seconds)
    out = b""
    while chunk := s.recv(4096):
        out += chunk
    return out


@pytest.mark.parametrize("kind", ["slowloris", "idle"])
@pytest.mark.parametrize("n", [MAX_CONNECTIONS, WAITING * 2])
def test_slow_or_idle_connections_cannot_lock_the_owner_out(server: ReviewServer, kind: str, n: int) -> None:
    # issue 22, item 1: 16 connections sending a header byte every 4 s (inside the 10 s read
    # timeout) held every slot, and the owner got 503 for as long as the attack went on; plain
    # idle connections reopened every 10 s did the same. Replayed at the tests' deadline of 3 s
    # (a byte every 1 s), with as many connections as there were slots and with more than the
    # server keeps waiting, each reopened the moment it is closed.
    if n > WAITING and not other_user():
        pytest.skip("past the cap, the owner's connections are kept because another user's give way: "
                    "only root can start another user here")
    every_s = DEADLINE_S / 3 if kind == "slowloris" else None
    server.httpd.max_waiting = WAITING
    with attack(server.port, server.host, kind, n, every_s or 0) as counts:
        end = time.monotonic() + DEADLINE_S * 2 + 1  # past two rounds of deadlines
        while time.monotonic() < end:
            owner_get(server)
            time.sleep(0.2)
    # every attacker connection was closed at the deadline at the latest, however it trickled
    assert counts["closed"] >= n, counts


def test_a_slow_request_is_closed_at_its_deadline_not_per_read(server: ReviewServer) -> None:
    s = socket.create_connection(("127.0.0.1", server.port), timeout=WAIT_S)
    t0 = time.monotonic()
    try:
        for b in b"GET / HTTP/1.1\r\nHost: x\r\n":
            s.send(bytes([b]))
            time.sleep(DEADLINE_S / 10)  # well inside any per-read timeout
            if time.monotonic() - t0 > DEADLINE_S + 1:
                break
    except OSError:
        pass
    answer = closed_within(s, WAIT_S)
    s.close()
    assert answer.startswith(b"HTTP/1.0 408") and time.monotonic() - t0 < DEADLINE_S + 1.5
    assert f"{next(iter(SECURITY_HEADERS))}:".encode() in answer


def test_idle_connections_hold_no_thread_and_the_oldest_give_way(server: ReviewServer) -> None:
    assert MAX_WAITING >= WAITING
    server.httpd.max_waiting = WAITING
    before = threading.active_count()
    idle = [socket.create_connection(("127.0.0.1", server.port), timeout=WAIT_S) for _ in range(WAITING + 10)]
    try:
        # past MAX_WAITING, the oldest incomplete connections are closed (503) to make room
        for s in idle[:10]:
            assert closed_within(s, WAIT_S).startswith(b"HTTP/1.0 503")
        assert threading.active_count() == before  # waiting connections cost no thread
        owner_get(server)  # the owner's connection, too, made room: the next oldest gave way
        assert closed_within(idle[10], WAIT_S).startswith(b"HTTP/1.0 503")
        # the rest are closed at the deadline, with a 408
        for s in idle[11:]:
            assert closed_within(s, DEADLINE_S + 2).startswith(b"HTTP/1.0 408")
    finally:
        for s in idle:
            s.close()
    owner_get(server)


def test_the_kernel_names_the_user_at_the_other_end() -> None:
    with socket.create_server(("127.0.0.1", 0)) as srv, socket.create_connection(srv.getsockname()) as _c:
        conn, _ = srv.accept()
        with conn:
            assert peer_uid(conn) == os.getuid()


def test_a_request_is_handed_on_whole() -> None:
    head = b"POST /api/decisions HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n"
    assert not request_complete(b"GET / HTTP/1.1\r\nHost: h\r\n")
    assert request_complete(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n") and request_complete(b"GET / HTTP/1.0\n\n")
    assert not request_complete(head + b"{}") and request_complete(head + b"{}  \n")
    assert request_complete(b"POST / HTTP/1.1\r\ncontent-length: 99999999999\r\n\r\n")  # refused at once: 400
    assert request_complete(b"GET /" + b"a" * 200_000)  # the handler answers 414 from what came


def test_head_spends_no_link_and_every_link_is_fresh(server: ReviewServer) -> None:
    # issue 22, item 5: a link preview's HEAD redeemed the one-time code
    path = server.url.removeprefix(server.origin)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=WAIT_S)
    conn.request("HEAD", path, headers={"Host": server.host})
    r = conn.getresponse()
    r.read()
    conn.close()
    assert r.status == 405 and "Set-Cookie" not in dict(r.getheaders())
    assert get(server, path)[0] == 303  # the person's own click still opens the page
    assert get(server, path)[0] == 403
    # every link handed out opens the page once, independently of the others
    links = [server.gate.new_link().removeprefix(server.origin) for _ in range(3)]
    assert len(set(links)) == 3 and path not in links
    for link in links:
        assert get(server, link)[0] == 303
        assert get(server, link)[0] == 403


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
