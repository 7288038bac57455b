"""The guards themselves must be able to fail, or the promises they check mean nothing."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.support.guards import scan_plaintext, traced


def test_scan_finds_clear_text_and_images(tmp_path: Path) -> None:
    (tmp_path / "a.log").write_bytes(b"user typed hunter2 here")
    (tmp_path / "b.bin").write_bytes(b"\x89PNG\r\n\x1a\n....")
    (tmp_path / "c.age").write_bytes(b"age-encryption.org/v1\n-> X25519 hunter2")
    hits = scan_plaintext([tmp_path], [b"hunter2"])
    assert any("a.log" in h for h in hits) and any("b.bin" in h for h in hits)
    assert not any("c.age" in h for h in hits)


def test_traced_sees_an_outbound_connect(tmp_path: Path) -> None:
    code = "import socket; s=socket.socket(); s.settimeout(0.2)\ntry: s.connect(('192.0.2.1', 9))\nexcept OSError: pass"
    _, connects = traced([sys.executable, "-c", code], tmp_path / "strace.log")
    assert any(c.outbound and c.address == "192.0.2.1" for c in connects)
    _, connects = traced([sys.executable, "-c", "print(1)"], tmp_path / "strace2.log")
    assert not any(c.outbound for c in connects)
