"""A seeded mutation fuzzer for OwnTrace's parsers of outside input (used by test_fuzz_parsers.py).

Each parser runs in a worker process that takes its cases in order and reports one JSON line per
case; the parent gives every case a deadline, so a hang is counted (and the worker restarted past
it) instead of stalling the suite, and a worker's memory is capped (RLIMIT_AS), so a bomb shows as
an outcome. The seeds are real files (bundles, a donation, a profile, a session, the config); case
i of a parser is always the same mutation of them.

Outcomes:
  clean-error        a one-line OwnTraceError, a rejection, or a verify result naming problems
  accepted-unchanged accepted, and what was read is what the seed holds (the mutation hit bytes
                     that carry nothing: padding, a zip comment, TOML whitespace)
  accepted-valid     accepted with different content where that is legitimate: a config with
                     in-range values, a donation or segment its own key signed/sealed again
  accepted-changed   an integrity-checked input accepted with different content: a defect
  traceback          any other exception: a defect
  hang               past the deadline: a defect

    python -m tests.support.fuzz_kit worker PARSER   (reads its job as JSON on stdin; for the parent only)
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import resource
import select
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OUTCOMES = ("clean-error", "accepted-unchanged", "accepted-valid", "accepted-changed", "traceback", "hang")
DEFECTS = ("accepted-changed", "traceback", "hang")
MEMORY_CAP = 3 * 1024**3
HOSTILE_JSON: list[Any] = ["x", "", -1, 0, 2**70, 1e308, -1e308, None, True, [], {}, [[[]]], "9" * 5000,
                           {"a": [1, {"b": None}]}, "A" * 100_000, 1.5]
HOSTILE_TOML = ["nan", "inf", "-inf", "-1", "0", "1e-300", "9999999999999", '"x"', "[1]", "{a = 1}", "true",
                "[" * 500 + "]" * 500, '"' + "A" * 100_000 + '"', "1979-05-27T07:32:00Z", "[[1], [2]]", '""']


@dataclass
class Tally:
    counts: Counter = field(default_factory=Counter)
    defects: list[str] = field(default_factory=list)

    def add(self, i: int, outcome: str, detail: str = "") -> None:
        self.counts[outcome] += 1
        if outcome in DEFECTS:
            self.defects.append(f"case {i}: {outcome}: {detail[:300]}")

    def row(self) -> dict[str, int]:
        return {o: self.counts.get(o, 0) for o in OUTCOMES}


# --- mutations ---

def mutate_bytes(rng: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    if not b:
        return bytes(rng.randbytes(rng.randint(1, 64)))
    op = rng.randrange(9)
    pos = rng.randrange(len(b))
    if op == 0:
        b[pos] ^= 1 << rng.randrange(8)
    elif op == 1:
        b[pos] = rng.randrange(256)
    elif op == 2:
        del b[pos:pos + rng.randint(1, 512)]
    elif op == 3:
        b[pos:pos] = rng.randbytes(rng.randint(1, 256))
    elif op == 4:
        b = b[:pos]
    elif op == 5:
        end = min(len(b), pos + rng.randint(1, 256))
        b[pos:pos] = b[pos:end] * rng.randint(2, 200)
    elif op == 6:
        b[pos:pos] = rng.choice([b"[", b"{", b"-> X25519 ", b"A", b"\n"]) * rng.randint(100, 200_000)
    elif op == 7:
        for _ in range(rng.randint(2, 20)):
            b[rng.randrange(len(b))] = rng.randrange(256)
    else:
        b[pos:pos] = rng.choice([b"\x00", b"\xff\xfe", b"\r\n", b'"', b"\\u0000", b"NaN", b"1e999"])
    return bytes(b)


def _paths(obj: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj[:50]):
            out += _paths(v, prefix + (i,))
    return out


def _deep(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


def mutate_json_value(rng: random.Random, obj: Any) -> Any:
    """A structural mutation: one value (at a random path) swapped for a hostile one, deleted,
    or a key added."""
    paths = _paths(obj)
    path = rng.choice(paths)
    if not path:
        return rng.choice(HOSTILE_JSON + [_deep(rng.choice([40, 600]))])
    parent = obj
    for k in path[:-1]:
        parent = parent[k]
    op = rng.randrange(4)
    if op == 0 and isinstance(parent, dict):
        del parent[path[-1]]
    elif op == 1 and isinstance(parent, dict):
        parent[rng.choice(["x", "size", "path", "9" * 30, ""])] = rng.choice(HOSTILE_JSON)
    elif op == 2:
        parent[path[-1]] = _deep(rng.choice([33, 40, 600]))
    else:
        parent[path[-1]] = rng.choice(HOSTILE_JSON)
    return obj


def mutate_json_text(rng: random.Random, data: bytes) -> bytes:
    """JSON (or JSON lines) mutated structurally when it parses, byte-wise otherwise; NaN
    and non-UTF-8 encodings now and then."""
    lines = data.decode().splitlines() if data.count(b"\n") > 1 and not data.lstrip().startswith(b"{\n") else [data.decode()]
    k = rng.randrange(len(lines))
    try:
        obj = json.loads(lines[k])
    except ValueError:
        return mutate_bytes(rng, data)
    op = rng.randrange(10)
    if op == 0:
        text = json.dumps(obj).replace("1", "NaN", 1)
    else:
        text = json.dumps(mutate_json_value(rng, obj))
    lines[k] = text
    out = "\n".join(lines) + ("\n" if len(lines) > 1 else "")
    return out.encode("utf-16") if op == 1 else out.encode()


def mutate_toml(rng: random.Random, text: str) -> str:
    lines = text.splitlines()
    valued = [i for i, ln in enumerate(lines) if "=" in ln and not ln.lstrip().startswith("#")]
    op = rng.randrange(6)
    if op <= 2 and valued:
        i = rng.choice(valued)
        lines[i] = lines[i].split("=", 1)[0] + "= " + rng.choice(HOSTILE_TOML)
    elif op == 3 and lines:
        del lines[rng.randrange(len(lines))]
    elif op == 4:
        lines.insert(rng.randrange(len(lines) + 1), rng.choice(["[capture]", "[x]", "x = 1", "[[a]]", "capture = 5",
                                                                 "redaction = [1]", "[retention]", "= 1"]))
    else:
        return mutate_bytes(rng, text.encode()).decode("utf-8", "replace")
    return "\n".join(lines) + "\n"


# --- the parsers, each on its seed ---

def tar_of(files: dict[str, bytes]) -> bytes:
    """A plain tar of `files`, as export writes one inside an age bundle."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _bundle_outcome(result: Any, seed_files: dict[str, bytes]) -> tuple[str, str]:
    if not result.ok:
        return "clean-error", result.problems[0]
    if result.files == seed_files:
        return "accepted-unchanged", ""
    return "accepted-changed", f"verify passed a changed bundle: {sorted(set(result.files) ^ set(seed_files))}"


class Cases:
    """One parser's cases: `run(i)` mutates the seed with Random(seed, i) and parses it."""

    def __init__(self, job: dict[str, Any], work: Path) -> None:
        from pyrage import x25519

        self.job, self.work = job, work
        self.identity = x25519.Identity.from_str(job["identity"])

    def rng(self, i: int) -> random.Random:
        return random.Random(f"{self.job['seed']}:{self.job['parser']}:{i}")

    def dir(self, i: int) -> tuple[str, str]:
        from recorder.export.verify import read_bundle, verify_bundle

        rng, src = self.rng(i), Path(self.job["dir"])
        seed_files = read_bundle(src)[1]
        target = self.work / f"d{i}"
        shutil.copytree(src, target)
        names = sorted(seed_files)
        op = rng.randrange(10)
        name = rng.choice(names)
        if op == 0:
            (target / name).unlink()
        elif op == 1:
            (target / f"extra{rng.randrange(3)}.bin").write_bytes(rng.randbytes(8))
        elif op == 2:
            os.mkfifo(target / "fifo")
        elif op == 3:
            os.symlink(target / name, target / "link")
        elif op <= 6 and name.endswith((".json", ".jsonl")):
            (target / name).write_bytes(mutate_json_text(rng, seed_files[name]))
        else:
            (target / name).write_bytes(mutate_bytes(rng, seed_files[name]))
        try:
            return _bundle_outcome(verify_bundle(target), seed_files)
        finally:
            shutil.rmtree(target)

    def _file_bundle(self, i: int, key: str, identities: list) -> tuple[str, str]:
        from recorder.export.verify import read_bundle, verify_bundle

        src = Path(self.job[key])
        seed_files = read_bundle(src, identities)[1]
        target = self.work / f"b{i}{src.suffix}"
        target.write_bytes(mutate_bytes(self.rng(i), src.read_bytes()))
        try:
            return _bundle_outcome(verify_bundle(target, identities), seed_files)
        finally:
            target.unlink()

    def zip(self, i: int) -> tuple[str, str]:
        return self._file_bundle(i, "zip", [])

    def age(self, i: int) -> tuple[str, str]:
        return self._file_bundle(i, "age", [self.identity])

    def donation(self, i: int) -> tuple[str, str]:
        import pyrage
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        from recorder.export.bundle import sign_manifest
        from recorder.export.verify import read_bundle
        from recorder.keys import parse_recipient
        from recorder.study import ingest, profile

        rng = self.rng(i)
        researcher = ingest.read_identity(Path(self.job["study_identity"]))
        seed_files = read_bundle(Path(self.job["donation"]), [researcher])[1]
        files = dict(seed_files)
        name = rng.choice(sorted(files))
        files[name] = mutate_json_text(rng, files[name]) if name.endswith((".json", ".jsonl")) else mutate_bytes(rng, files[name])
        resign = rng.random() < 0.6 and name != "manifest.json"
        if resign:  # as the participant would: the hashes match, so the deep parsers are reached
            manifest = json.loads(files["manifest.json"])
            for f in manifest["files"]:
                if f["path"] in files:
                    f["size"] = len(files[f["path"]])
                    f["sha256"] = hashlib.sha256(files[f["path"]]).hexdigest()
            key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(self.job["participant_key"]))
            files["manifest.json"], files["manifest.sig"] = sign_manifest(manifest, key)
        plain = tar_of(files)
        if rng.random() < 0.3:
            plain = mutate_bytes(rng, plain)
        target = self.work / f"don{i}.age"
        target.write_bytes(pyrage.encrypt(plain, [parse_recipient(self.job["study_recipient"])]))
        profiles = [profile.load(Path(self.job["profile"]))]
        try:
            report = ingest.ingest([target], researcher, profiles, self.work / f"ds{i}")
            if report.rejected:
                return "clean-error", report.rejected[0].reason
            if resign:
                return "accepted-valid", name
            unchanged = read_bundle(target, [researcher])[1] == seed_files
            return ("accepted-unchanged" if unchanged else "accepted-changed"), name
        finally:
            shutil.rmtree(self.work / f"ds{i}", ignore_errors=True)
            target.unlink()

    def profile(self, i: int) -> tuple[str, str]:
        from recorder.study import profile

        seed = profile.load(Path(self.job["profile"]))
        text = Path(self.job["profile"]).read_text()
        mutated = mutate_toml(self.rng(i), text)
        p = profile.parse(mutated)
        p.verify()
        return ("accepted-unchanged" if p.sha256 == seed.sha256 else "accepted-changed"), ""

    def segment(self, i: int) -> tuple[str, str]:
        from pyrage import x25519

        from recorder.keys import seal
        from recorder.steps import Screen, derive_steps
        from recorder.store import session as store

        rng = self.rng(i)
        src = Path(self.job["session"])
        target = self.work / src.name
        shutil.copytree(src, target)
        try:
            s = store.Session.load(target)
            key = x25519.Identity.from_str(self.job["session_key"])
            segs = s.segment_files()
            seg = rng.choice(segs)
            plain = s.read_sealed(key, f"journal/{seg.name}")
            seg.write_bytes(seal(mutate_json_text(rng, plain) if rng.random() < 0.7 else mutate_bytes(rng, plain),
                                 [s.recipient()]))
            damaged: list[str] = []
            events = list(s.events(key, damaged=damaged))
            derive_steps(events, started_at=s.meta.started_at, screen=Screen.union(s.meta.screens))
            return ("clean-error", damaged[0]) if damaged else ("accepted-valid", "")
        finally:
            shutil.rmtree(target)

    def config(self, i: int) -> tuple[str, str]:
        from recorder import config

        home = self.work / f"c{i}"
        home.mkdir()
        try:
            (home / "config.toml").write_text(mutate_toml(self.rng(i), config.DEFAULT_CONFIG))
            cfg = config.load(home)
            return ("accepted-unchanged" if cfg == config.Config() else "accepted-valid"), ""
        finally:
            shutil.rmtree(home)


def worker(parser: str) -> None:
    """Run cases job["start"]..job["n"]-1 of `parser`, one JSON line each."""
    from recorder.errors import OwnTraceError
    from recorder.study.ingest import Rejected

    job = json.loads(sys.stdin.read())
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))
    with tempfile.TemporaryDirectory(prefix="owntrace-fuzz-") as work:
        cases = Cases(job, Path(work))
        run: Callable[[int], tuple[str, str]] = getattr(cases, parser)
        for i in range(job["start"], job["n"]):
            try:
                outcome, detail = run(i)
            except (OwnTraceError, Rejected) as e:
                outcome, detail = "clean-error", str(e)
            except BaseException as e:  # noqa: BLE001 (what the fuzzer is for)
                if isinstance(e, KeyboardInterrupt):
                    raise
                outcome, detail = "traceback", f"{type(e).__name__}: {e}"
            print(json.dumps({"i": i, "outcome": outcome, "detail": detail[:300]}), flush=True)


def fuzz(parser: str, job: dict[str, Any], n: int, deadline_s: float) -> Tally:
    """Run n cases of `parser` in workers; each case gets `deadline_s` before it counts as a hang."""
    tally, start = Tally(), 0
    while start < n:
        proc = subprocess.Popen([sys.executable, "-m", "tests.support.fuzz_kit", "worker", parser], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                cwd=Path(__file__).resolve().parents[2])
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(json.dumps({**job, "parser": parser, "start": start, "n": n}))
        proc.stdin.close()
        deadline = time.monotonic() + deadline_s * 2  # the first case also pays for the worker's start
        while start < n:
            ready, _, _ = select.select([proc.stdout], [], [], max(0.0, deadline - time.monotonic()))
            line = proc.stdout.readline() if ready else ""
            if not line:
                alive = proc.poll() is None
                tally.add(start, "hang" if alive else "traceback",
                          f"no answer in {deadline_s:.0f} s" if alive else f"the worker died (exit {proc.returncode})")
                proc.kill()
                proc.wait()
                start += 1
                break
            rec = json.loads(line)
            tally.add(rec["i"], rec["outcome"], rec["detail"])
            start = rec["i"] + 1
            deadline = time.monotonic() + deadline_s
        else:
            proc.wait()
    return tally


if __name__ == "__main__" and len(sys.argv) == 3 and sys.argv[1] == "worker":
    worker(sys.argv[2])
