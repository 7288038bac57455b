"""How tests open OwnTrace's local pages: the system's Chromium (Playwright with executable_path;
no browser download), or plain HTTP through the one-time link, as a browser would."""

from __future__ import annotations

import http.client
import re

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]


def open_link(line: str) -> tuple[http.client.HTTPConnection, str]:
    """Follow the one-time link a command printed in `line`: a connection to the page and the
    Cookie header its server set in exchange for the link."""
    m = re.search(r"http://127\.0\.0\.1:(\d+)(/open/[\w-]+)", line)
    assert m, line
    conn = http.client.HTTPConnection("127.0.0.1", int(m.group(1)), timeout=10)
    conn.request("GET", m.group(2))
    opened = conn.getresponse()
    opened.read()
    assert opened.status == 303, opened.status
    return conn, opened.getheader("Set-Cookie", "").split(";")[0]
