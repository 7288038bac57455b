"""Checks behind two promises: nothing recorded in clear on disk, no network but loopback.

`scan_plaintext` looks for needles (typed strings) and image signatures in every file under the
given roots that is not an age file. `traced` runs a command under strace and returns every
connect() it made, so a test can assert that only the X socket (or 127.0.0.1) was reached.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

AGE_MAGIC = b"age-encryption.org/v1\n"
IMAGE_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF8", b"BM", b"P6\n", b"RIFF")


def scan_plaintext(roots: list[Path], needles: list[bytes]) -> list[str]:
    """Files (outside age ciphertext) that contain a needle or start like an image."""
    hits = []
    for root in roots:
        if not root.exists():
            continue
        # os.walk skips directories that vanish mid-walk (other runs share /tmp)
        for dirpath, _dirs, files in os.walk(root):
            for name in files:
                p = Path(dirpath, name)
                try:
                    if p.is_symlink() or not p.is_file():
                        continue
                    data = p.read_bytes()
                except OSError:
                    continue
                if data.startswith(AGE_MAGIC):
                    continue
                for n in needles:
                    if n in data:
                        hits.append(f"{p}: contains {n[:20]!r}")
                if p.suffix.lower() in (".png", ".jpg", ".jpeg", ".ppm", ".bmp", ".webp") or any(
                    data.startswith(sig) for sig in IMAGE_SIGNATURES[:2]
                ):
                    hits.append(f"{p}: image data in clear")
    return hits


@dataclass
class Connect:
    family: str  # AF_UNIX, AF_INET, AF_INET6, AF_NETLINK...
    address: str

    @property
    def outbound(self) -> bool:
        """True for anything that leaves the machine (not unix sockets, not loopback)."""
        if self.family in ("AF_UNIX", "AF_NETLINK", "AF_LOCAL"):
            return False
        return not (self.address.startswith("127.") or self.address in ("::1", "::ffff:127.0.0.1"))


_CONNECT_RE = re.compile(r"connect\(\d+, \{sa_family=(AF_\w+)(.*?)\}")
_ADDR_RE = re.compile(r'sun_path=@?"([^"]*)"|inet_addr\("([^"]+)"\)|inet_pton\(AF_INET6?, "([^"]+)"')


def parse_connects(strace_output: str) -> list[Connect]:
    out = []
    for m in _CONNECT_RE.finditer(strace_output):
        a = _ADDR_RE.search(m.group(2))
        out.append(Connect(m.group(1), next((g for g in a.groups() if g), "") if a else ""))
    return out


def traced(cmd: list[str], log: Path, **run_kwargs) -> tuple[subprocess.CompletedProcess, list[Connect]]:
    """Run `cmd` under `strace -f -e trace=connect` and return its result and every connect()."""
    proc = subprocess.run(["strace", "-f", "-qq", "-e", "trace=connect", "-o", str(log), *cmd], **run_kwargs)
    return proc, parse_connects(log.read_text(errors="replace"))


def traced_sandboxed(cmd: list[str], tmp_path: Path) -> tuple[subprocess.CompletedProcess, list[Connect], list[Path]]:
    """`traced`, with TMPDIR and HOME in fresh folders under `tmp_path`; also returns the folders
    to scan with `scan_plaintext` (TMPDIR first: a clean run leaves it empty)."""
    tmp, userhome = tmp_path / "tmpdir", tmp_path / "userhome"
    tmp.mkdir()
    env = dict(os.environ, TMPDIR=str(tmp), HOME=str(userhome))
    proc, connects = traced(cmd, tmp_path / "strace.log", env=env, capture_output=True, text=True)
    return proc, connects, [tmp, userhome]
