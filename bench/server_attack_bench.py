"""Issue 22: the review server under a local attacker, and every reader given an endless or huge file.

    python bench/server_attack_bench.py            # about 6 minutes on 2 loaded cores
    python bench/server_attack_bench.py --part server --seconds 20

1. Server. A real review server (review_kit's session, its own process) is attacked by another
   process (tests/support/attack.py) while "the owner" (a fresh connection with the page's
   cookie, as the browser makes one per request) asks for /api/session every 0.5 s from this
   one; each owner request may take 5 s:
     slowloris   N connections each sending one header byte every 4 s, reconnecting when closed
     idle        N connections sending nothing, reopened as soon as the server closes them
   The attacker runs as another user (uid 65534) when the bench runs as root, else as the same
   user. Reported: the owner's requests answered 200, their median and worst latency, and how
   many got 503 or nothing.
2. Readers. Each command that reads a file the person names (or config.toml) is given
   /dev/zero and a 300 MB sparse file, in a process capped at 3 GiB of address space: peak
   memory (VmHWM) and the first line it printed.
Run it on a checkout to measure that checkout: the figures in BENCHMARKS.md are this script
on the code before issue 22 (an unpacked `git archive`) and after.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.attack import attack, other_user  # noqa: E402

OWNER_TIMEOUT_S = 5.0
MEMORY_CAP = 3 * 1024**3

SERVE = r"""
import json, sys, tempfile
from pathlib import Path
from recorder import keys
from recorder.redact.view import RedactedView
from recorder.review.server import ReviewServer
from tests.support.review_kit import standard_session
tmp = tempfile.TemporaryDirectory(prefix="owntrace-bench-")
home = Path(tmp.name)
keys.init_identity(home, passphrase="bench")
srv = ReviewServer(RedactedView(standard_session(home), keys.unlock(home, "bench")))
srv.start()
print(json.dumps({"port": srv.port, "host": srv.host, "cookie": srv.gate.cookie_header()}), flush=True)
sys.stdin.read()  # until the bench closes the pipe
srv.stop()
tmp.cleanup()
"""


def owner_request(port: int, host: str, cookie: str) -> tuple[str, float]:
    t0 = time.perf_counter()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=OWNER_TIMEOUT_S) as s:
            s.sendall(f"GET /api/session HTTP/1.1\r\nHost: {host}\r\nCookie: {cookie}\r\n\r\n".encode())
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        status = data.split(b" ", 2)[1].decode() if data.startswith(b"HTTP/") else "closed"
    except (TimeoutError, OSError):
        status = "timeout" if time.perf_counter() - t0 >= OWNER_TIMEOUT_S - 0.01 else "refused"
    return status, time.perf_counter() - t0


def probe(port: int, host: str, cookie: str, seconds: float) -> dict[str, object]:
    results = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        results.append(owner_request(port, host, cookie))
        time.sleep(0.5)
    ok = [t for s, t in results if s == "200"]
    failed: dict[str, int] = {}
    for s, _ in results:
        if s != "200":
            failed[s] = failed.get(s, 0) + 1
    return {"requests": len(results), "answered": len(ok),
            "median_s": statistics.median(ok) if ok else None, "worst_s": max(ok) if ok else None, "failed": failed}


def server_part(seconds: float, sizes: list[int]) -> None:
    proc = subprocess.Popen([sys.executable, "-c", SERVE], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert proc.stdout is not None and proc.stdin is not None
    info = json.loads(proc.stdout.readline())
    port, host, cookie = info["port"], info["host"], info["cookie"]
    who = "another user (uid 65534)" if other_user() else "the same user"
    print(f"\n## Server under attack by {who} ({seconds:.0f} s each, owner asks every 0.5 s, "
          f"{OWNER_TIMEOUT_S:.0f} s timeout)\n")
    print("| attack | owner's requests answered | median | worst | not answered |")
    print("|---|---|---|---|---|")
    try:
        runs = [("none", 0)] + [(kind, n) for kind in ("slowloris", "idle") for n in sizes]
        for kind, n in runs:
            if n:
                with attack(port, host, kind, n) as counts:
                    r = probe(port, host, cookie, seconds)
                opened = f", {counts['opened']} attacker connections opened"
            else:
                r, opened = probe(port, host, cookie, seconds), ""
            med = f"{r['median_s'] * 1000:.0f} ms" if r["median_s"] is not None else "—"
            worst = f"{r['worst_s'] * 1000:.0f} ms" if r["worst_s"] is not None else "—"
            failed = ", ".join(f"{v} {k}" for k, v in sorted(r["failed"].items())) or "0"  # type: ignore[attr-defined]
            label = "none" if not n else f"{kind}, {n} connections{opened}"
            print(f"| {label} | {r['answered']} of {r['requests']} | {med} | {worst} | {failed} |", flush=True)
            time.sleep(11)  # the previous attack's connections time out before the next run
    finally:
        proc.stdin.close()
        proc.wait(10)


READ = r"""
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, ({cap}, {cap}))
sys.argv = ["owntrace", *{args!r}]
outcome = "exit 0"
try:
    from recorder.cli import main
    main()
except SystemExit as e:
    outcome = f"exit {{e.code}}"
except MemoryError:
    outcome = "MemoryError (the 3 GiB cap)"
finally:
    peak = [int(l.split()[1]) // 1024 for l in open("/proc/self/status") if l.startswith("VmHWM")][0]
    print(f"PEAK {{peak}} {{outcome}}", flush=True)
"""


def readers(work: Path) -> tuple[Path, dict[str, tuple[list[str], dict[str, str]]]]:
    """A home with an identity, and each reader: its owntrace arguments ({P} is the file given)
    and environment changes."""
    from recorder import keys
    from recorder.study import profile as prof
    from tests.support.study import researcher

    home = work / "home"
    keys.init_identity(home, passphrase="bench")
    res = researcher(work / "researcher")
    good = work / "profile.toml"
    good.write_text(prof.to_toml(res.signed()))
    unsigned = work / "unsigned.toml"
    unsigned.write_text(prof.to_toml(res.profile()))
    cfg_home = work / "cfg-home"
    cfg_home.mkdir()
    ingest = ["study", "ingest", "/dev/null", "--profile", str(good), "--out", str(work / "dataset")]
    return home, {
        "study profile (`study join P`)": (["study", "join", "{P}", "-y"], {}),
        "detached signature (`study join --signature P`)": (["study", "join", str(unsigned), "--signature", "{P}", "-y"], {}),
        "config.toml": (["delete", "nothing", "-y"], {"OWNTRACE_HOME": str(cfg_home), "CONFIG": "{P}"}),
        "withdrawal notice (`ingest --withdrawals P`)": (
            [*ingest, "--identity", str(res.keys.identity_path), "--withdrawals", "{P}"], {}),
        "donations identity (`ingest --identity P`)": ([*ingest, "--identity", "{P}"], {}),
        "verify identity (`verify --identity P`)": (["verify", str(work / "none.age"), "--identity", "{P}"], {}),
        "consent text (`study create --consent-file P`)": (
            ["study", "create", "--id", "s", "--title", "t", "--researcher", "r", "--consent-file", "{P}",
             "--recipient", res.keys.recipient, "--out", str(work / "new.toml")], {}),
        "signing key (`study sign --key P`)": (["study", "sign", str(unsigned), "--key", "{P}"], {}),
        "passphrase file (`--passphrase-file P`)": (["recover", "nothing", "--passphrase-file", "{P}"], {}),
        "text (`redact-text P`)": (["redact-text", "{P}"], {}),
    }


def reader_part(work: Path) -> None:
    sparse = work / "sparse-300MB"
    with open(sparse, "wb") as f:
        f.truncate(300 * 1024**2)
    home, table = readers(work)
    print("\n## Readers given an endless or a huge file (peak memory, VmHWM; 3 GiB address-space cap)\n")
    print("| reader | /dev/zero | 300 MB sparse file |")
    print("|---|---|---|")
    for name, (args, env_changes) in table.items():
        cells = []
        for given in ("/dev/zero", str(sparse)):
            env = dict(os.environ, OWNTRACE_HOME=str(home), OWNTRACE_PASSPHRASE="bench", PYTHONPATH=str(ROOT))
            if "CONFIG" in env_changes:
                cfg_home = Path(env_changes["OWNTRACE_HOME"])
                (cfg_home / "config.toml").unlink(missing_ok=True)
                (cfg_home / "config.toml").symlink_to(given)
                env["OWNTRACE_HOME"] = str(cfg_home)
            argv = [a.replace("{P}", given) for a in args]
            code = READ.format(cap=MEMORY_CAP, args=argv)
            t0 = time.perf_counter()
            try:
                p = subprocess.run([sys.executable, "-c", code], cwd=work, env=env, capture_output=True, text=True,
                                   timeout=180, stdin=subprocess.DEVNULL)
                peak_line = next((ln for ln in p.stdout.splitlines() if ln.startswith("PEAK ")), "PEAK ? no answer")
                _, peak, outcome = peak_line.split(" ", 2)
                said = next((ln for ln in p.stderr.splitlines() if ln.startswith("error:")), outcome)
                cells.append(f"{peak} MB, {time.perf_counter() - t0:.1f} s: {said[:90]}")
            except subprocess.TimeoutExpired:
                cells.append("stopped after 180 s")
        print(f"| {name} | {cells[0]} | {cells[1]} |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--part", choices=("server", "readers", "all"), default="all")
    ap.add_argument("--seconds", type=float, default=30.0, help="how long the owner probes under each attack")
    ap.add_argument("--connections", default="16,200,600", help="attacker connections per attack, comma-separated")
    a = ap.parse_args()
    if a.part in ("server", "all"):
        server_part(a.seconds, [int(n) for n in a.connections.split(",")])
    if a.part in ("readers", "all"):
        with tempfile.TemporaryDirectory(prefix="owntrace-bench-") as tmp:
            reader_part(Path(tmp))


if __name__ == "__main__":
    main()
