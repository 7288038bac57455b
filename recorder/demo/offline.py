"""Run a program that must not touch the network: the kernel refuses it every socket but local
ones (AF_UNIX for X11 and its own IPC, AF_NETLINK to read addresses), by a seccomp filter that
it and all its children inherit.

Why not flags or a network namespace: Chromium opens a UDP "routing probe" to a public resolver
whatever its flags say, and a namespace needs unprivileged user namespaces, which chroots and
hardened kernels refuse. A seccomp filter needs no privilege (only no_new_privs) and holds by
construction: there is no IP socket to connect.

    python -m recorder.demo.offline PROGRAM [ARGS...]
"""

from __future__ import annotations

import ctypes
import os
import platform
import socket
import struct
import sys

PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2
RET_ALLOW, RET_KILL = 0x7FFF0000, 0x80000000
RET_ERRNO = 0x00050000 | 97  # EAFNOSUPPORT: "address family not supported", what a socket() caller handles
X32_SYSCALL_BIT = 0x40000000
LD_W_ABS, JEQ_K, JGE_K, RET_K = 0x20, 0x15, 0x35, 0x06
# seccomp_data: nr at 0, arch at 4, args[0] at 16 (its low half on little-endian machines)
OFF_NR, OFF_ARCH, OFF_ARG0 = 0, 4, 16
# machine -> (AUDIT_ARCH_*, __NR_socket, __NR_io_uring_setup): io_uring can make sockets too
ARCHES = {"x86_64": (0xC000003E, 41, 425), "aarch64": (0xC00000B7, 198, 425)}
ALLOWED_FAMILIES = (socket.AF_UNIX, socket.AF_NETLINK)


def program(machine: str) -> list[tuple[int, int, int, int]]:
    """The filter as BPF instructions (code, jt, jf, k); jumps are resolved from labels."""
    try:
        arch, nr_socket, nr_io_uring = ARCHES[machine]
    except KeyError:
        raise OSError(f"no network filter for {machine} machines") from None
    # (label, code, k, jump-if-true label, jump-if-false label)
    steps: list[tuple[str, int, int, str | None, str | None]] = [
        ("", LD_W_ABS, OFF_ARCH, None, None),
        ("", JEQ_K, arch, None, "kill"),  # a foreign ABI could name syscalls by other numbers
        ("", LD_W_ABS, OFF_NR, None, None),
        ("", JGE_K, X32_SYSCALL_BIT, "deny", None),
        ("", JEQ_K, nr_io_uring, "deny", None),
        ("", JEQ_K, nr_socket, None, "allow"),
        ("", LD_W_ABS, OFF_ARG0, None, None),
        *[("", JEQ_K, family, "allow", None) for family in ALLOWED_FAMILIES],
        ("deny", RET_K, RET_ERRNO, None, None),
        ("allow", RET_K, RET_ALLOW, None, None),
        ("kill", RET_K, RET_KILL, None, None),
    ]
    where = {label: i for i, (label, *_rest) in enumerate(steps) if label}
    out = []
    for i, (_, code, k, jt, jf) in enumerate(steps):
        out.append((code, where[jt] - i - 1 if jt else 0, where[jf] - i - 1 if jf else 0, k))
    return out


def install() -> None:
    """Apply the filter to this process (and so to whatever it executes next)."""
    instructions = program(platform.machine())
    raw = b"".join(struct.pack("HBBI", *ins) for ins in instructions)
    buf = ctypes.create_string_buffer(raw)

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    prog = SockFprog(len(instructions), ctypes.addressof(buf))
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong]
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, None, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_SECCOMP)")


def prefix() -> tuple[str, ...]:
    """The command prefix that runs a program under the filter."""
    return (sys.executable, "-m", __name__)


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python -m recorder.demo.offline PROGRAM [ARGS...]", file=sys.stderr)
        return 2
    try:
        install()
    except OSError as e:  # fail closed: the program does not run unfiltered
        print(f"error: cannot cut {argv[0]} off the network: {e}", file=sys.stderr)
        return 2
    os.execvp(argv[0], argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
