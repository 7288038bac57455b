"""The network filter the demo's Chromium runs under: real kernel, real sockets."""

from __future__ import annotations

import subprocess
import sys

import pytest

from recorder.demo import offline

PROBE = """
import socket, sys
socket.socket(socket.AF_UNIX).close()
socket.socket(socket.AF_NETLINK, socket.SOCK_RAW).close()
refused = []
for family, kind in ((socket.AF_INET, socket.SOCK_STREAM), (socket.AF_INET6, socket.SOCK_DGRAM), (socket.AF_PACKET, socket.SOCK_DGRAM)):
    try:
        socket.socket(family, kind).close()
    except OSError as e:
        refused.append(e.errno)
print(refused)
"""


def test_a_filtered_program_and_its_children_get_no_ip_socket():
    out = subprocess.run([*offline.prefix(), sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[97, 97, 97]"
    child = f"import subprocess, sys; sys.exit(subprocess.run([sys.executable, '-c', {PROBE!r}]).returncode)"
    nested = subprocess.run([*offline.prefix(), sys.executable, "-c", child], capture_output=True, text=True, check=True)
    assert nested.stdout.strip() == "[97, 97, 97]"


def test_an_unfiltered_program_is_not_affected():
    out = subprocess.run([sys.executable, "-c", "import socket; socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); print('ok')"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"


@pytest.mark.parametrize("machine", sorted(offline.ARCHES))
def test_every_jump_lands_inside_the_program(machine):
    prog = offline.program(machine)
    for i, (code, jt, jf, _k) in enumerate(prog):
        if code in (offline.JEQ_K, offline.JGE_K):
            assert i + 1 + jt < len(prog) and i + 1 + jf < len(prog)
    assert prog[-1][0] == offline.RET_K


def test_an_unknown_machine_fails_closed():
    with pytest.raises(OSError, match="no network filter"):
        offline.program("sparc64")
    out = subprocess.run([*offline.prefix()], capture_output=True, text=True)
    assert out.returncode == 2 and out.stderr.startswith("usage:")
