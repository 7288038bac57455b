"""The search index on a synthetic 100-hour record, next to a linear scan in the same run.

    python bench/search_bench.py                      # 100 hours in one-hour sessions
    python bench/search_bench.py --hours 10           # quicker

Each recorded hour is modelled on what the recorder stores for an hour of active work: 1800
frames (one every 2 s) each bringing 6 new screen lines of 8 words, 200 typed runs (5400
characters) and 120 window-title changes. Words follow a Zipf law over a 20,000-word
vocabulary, one in ten is an identifier (hex, numbers, paths), as on screens. No OCR: this
measures the index (OCR costs are in the redaction benchmarks), from the docs an index holds.
Every session is a real one in a throwaway OWNTRACE_HOME (SessionWriter: its own key, sealed
to the identity); its index is built and sealed exactly as `owntrace index` does.

  build        fts.build + seal per recorded hour (docs → sealed bytes on disk)
  size         sealed index bytes per recorded hour, and the text it holds
  open         Library(): unseal every session key and index, deserialize into memory
               (after unlock: the passphrase's scrypt is measured on its own)
  query        p50 / p95 over a mix of queries on the open library; and one `owntrace search`
               as a user runs it (open + query, new process), end to end
Baseline (same run, same text): a linear scan, which is what search costs without an index:
every session's docs sealed as JSON lines, unsealed and scanned per query (case-insensitive
word match); and the same scan over the docs already in memory.
Wall times on a shared 2-core machine: compare the columns of one run, not runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from recorder import keys
from recorder.keys import unseal  # noqa: E402
from recorder.search import fts  # noqa: E402
from recorder.search.indexer import INDEX_REL  # noqa: E402
from recorder.search.query import parse  # noqa: E402
from recorder.search.searcher import Library  # noqa: E402
from recorder.search.text import Doc  # noqa: E402
from recorder.store import session as store  # noqa: E402

PASSPHRASE = "bench passphrase"
FRAMES_PER_HOUR, LINES_PER_FRAME, WORDS_PER_LINE = 1800, 6, 8
TYPED_RUNS, TYPED_CHARS, TITLES = 200, 5400, 120
VOCAB = 20_000
APPS = ["xterm", "chromium", "code", "thunderbird", "libreoffice"]
NEEDLE = "quokkafail"  # planted in one session only: "where did I see that error"
SCAN_COPY = "scan/docs.jsonl.age"


def vocabulary(rng: np.random.Generator) -> list[str]:
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    words = set()
    while len(words) < VOCAB:
        n = int(rng.integers(3, 11))
        words.add("".join(rng.choice(letters, n)))
    return sorted(words)


class Text:
    """Zipf-distributed words with identifiers mixed in."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.vocab = vocabulary(self.rng)
        weights = 1.0 / np.arange(1, VOCAB + 1)
        self.p = weights / weights.sum()

    def words(self, n: int) -> list[str]:
        picks = self.rng.choice(VOCAB, n, p=self.p)
        out = [self.vocab[i] for i in picks]
        for k in np.flatnonzero(self.rng.random(n) < 0.1):
            kind = self.rng.integers(3)
            out[k] = (f"{self.rng.integers(1 << 32):08x}" if kind == 0 else str(self.rng.integers(1, 100000))
                      if kind == 1 else f"/src/{out[k]}/{self.vocab[self.rng.integers(VOCAB)]}.py")
        return out


def hour_docs(text: Text, hour: int, offset_ns: int = 0) -> list[Doc]:
    docs: list[Doc] = []
    sec = 1_000_000_000
    app, title = "xterm", ""
    for k in range(TITLES):
        t = offset_ns + int(k * 3600 / TITLES * sec)
        app = APPS[k % len(APPS)]
        title = " ".join(text.words(5))
        docs.append(Doc("title", title, t, t, None, app, title))
    words = text.words(FRAMES_PER_HOUR * LINES_PER_FRAME * WORDS_PER_LINE)
    per_frame = LINES_PER_FRAME * WORDS_PER_LINE
    for n in range(FRAMES_PER_HOUR):
        t = offset_ns + n * 2 * sec
        chunk = words[n * per_frame:(n + 1) * per_frame]
        lines = [" ".join(chunk[i:i + WORDS_PER_LINE]) for i in range(0, per_frame, WORDS_PER_LINE)]
        docs.append(Doc("screen", "\n".join(lines), t, t, n + 1, APPS[n % len(APPS)], title))
    per_run = TYPED_CHARS // TYPED_RUNS
    for r in range(TYPED_RUNS):
        t = offset_ns + int(r * 3600 / TYPED_RUNS * sec)
        s = ""
        while len(s) < per_run:
            s += " ".join(text.words(3)) + " "
        docs.append(Doc("typed", s[:per_run], t, t + 10 * sec, None, "xterm", title))
    return docs


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def scan(docs_by_session: list[list[Doc]], words: list[str]) -> int:
    pats = [re.compile(rf"\b{re.escape(w)}", re.IGNORECASE) for w in words]
    return sum(1 for docs in docs_by_session for d in docs if all(p.search(d.text) for p in pats))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hours", type=int, default=100)
    ap.add_argument("--session-minutes", type=int, default=60)
    ap.add_argument("--runs", type=int, default=5, help="times each query runs")
    args = ap.parse_args()
    per_session_h = args.session_minutes / 60
    n_sessions = max(1, round(args.hours / per_session_h))

    with tempfile.TemporaryDirectory(prefix="owntrace-search-bench-") as tmp:
        root = Path(tmp) / "home"
        os.environ["OWNTRACE_HOME"] = str(root)
        t = time.perf_counter()
        keys.init_identity(root, passphrase=PASSPHRASE)
        user = keys.unlock(root, PASSPHRASE)
        unlock_s = time.perf_counter() - t

        text = Text(13)
        build_s = seal_s = 0.0
        index_bytes = text_bytes = scan_bytes = n_docs = 0
        planted = n_sessions // 2
        for k in range(n_sessions):
            docs = []
            for h in range(max(1, round(per_session_h))) if per_session_h >= 1 else [0]:
                docs += hour_docs(text, h, h * 3600 * 1_000_000_000)
            if per_session_h < 1:
                docs = [d for d in docs if d.t < per_session_h * 3600e9]
            if k == planted:
                d = docs[len(docs) // 3]
                docs[len(docs) // 3] = Doc(d.source, d.text + f"\nError: {NEEDLE} in step deploy", d.t, d.t_end,
                                           d.frame, d.app, d.title)
            w = store.SessionWriter.create(root, name=f"bench {k}")
            w.close()
            # one session after another, the last ending now
            begin = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=args.session_minutes * (n_sessions - k))
            w.meta.started_at = begin.isoformat(timespec="milliseconds").replace("+00:00", "Z")
            w.meta.duration_s = args.session_minutes * 60
            w._write_meta()
            s = store.resolve(root, w.meta.id)
            t = time.perf_counter()
            data = fts.build(docs, {"session": s.id})
            t1 = time.perf_counter()
            s.write_sealed(INDEX_REL, data)
            t2 = time.perf_counter()
            build_s += t1 - t
            seal_s += t2 - t1
            index_bytes += (s.path / INDEX_REL).stat().st_size
            text_bytes += sum(len(d.text.encode()) for d in docs)
            n_docs += len(docs)
            # the baseline's copy of the same docs: sealed JSON lines
            jl = "".join(json.dumps(d.__dict__) + "\n" for d in docs).encode()
            s.write_sealed(SCAN_COPY, jl)
            scan_bytes += (s.path / SCAN_COPY).stat().st_size
            print(f"\rbuilt {k + 1}/{n_sessions} sessions", end="", file=sys.stderr)
        print(file=sys.stderr)

        common, mid, rare = text.vocab[int(np.argsort(-text.p)[5])], text.vocab[300], text.vocab[15000]
        queries = {
            "common word": common,
            "mid-frequency word": mid,
            "rare word": rare,
            "planted word (one hit)": NEEDLE,
            "phrase": f'"{NEEDLE} in step"',
            "prefix": rare[:4] + "*",
            "two words": f"{mid} {common}",
            "filter app: + word": f"app:chromium {mid}",
            "filter typed: + word": f"typed:{mid}",
            "--since: last half": mid,
        }

        rss0 = rss_mb()
        t = time.perf_counter()
        library = Library(root, user)
        open_s = time.perf_counter() - t
        rss1 = rss_mb()

        lat: dict[str, list[float]] = {}
        hits: dict[str, int] = {}
        first = min(store.list_sessions(root), key=lambda s: s.meta.started_at)
        for name, q in queries.items():
            since = None
            if name.startswith("--since"):
                since = dt.datetime.fromisoformat(first.meta.started_at.replace("Z", "+00:00")) + dt.timedelta(
                    hours=args.hours / 2)
            query = parse(q, since=since)
            lat[name] = []
            for _ in range(args.runs):
                t = time.perf_counter()
                found = library.search(query, 20)
                lat[name].append(time.perf_counter() - t)
            hits[name] = len(found)
        all_lat = [x for v in lat.values() for x in v]
        library.close()

        # baseline: linear scan, unsealing every session's docs per query, and in memory
        sessions = store.list_sessions(root)
        base_sealed, base_mem = [], []
        for q in list(queries.values())[:4]:
            words = re.findall(r"\w+", q)
            t = time.perf_counter()
            docs_by_session = []
            for s in sessions:
                raw = unseal((s.path / SCAN_COPY).read_bytes(), [s.key(user)], "scan copy").decode()
                docs_by_session.append([Doc(**json.loads(line)) for line in raw.splitlines()])
            scan(docs_by_session, words)
            base_sealed.append(time.perf_counter() - t)
            t = time.perf_counter()
            scan(docs_by_session, words)
            base_mem.append(time.perf_counter() - t)

        # end to end, as a user runs it: a new process, open + query
        env = dict(os.environ, OWNTRACE_PASSPHRASE=PASSPHRASE)
        t = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", "from recorder.cli import main; main()", "search", NEEDLE, "--json"],
                              capture_output=True, text=True, env=env)
        cli_s = time.perf_counter() - t
        assert proc.returncode == 0, proc.stderr
        assert len(json.loads(proc.stdout)["hits"]) == 1

    hours = args.hours
    print(f"\n{hours} recorded hours in {n_sessions} sessions of {args.session_minutes} min; {n_docs} docs, "
          f"{text_bytes / 1e6:.1f} MB of text")
    print("\n| measure | search index (FTS5, sealed per session) | baseline: linear scan |")
    print("|---|---|---|")
    print(f"| build, s per recorded hour | {build_s / hours:.2f} (+ seal {seal_s / hours:.3f}) | — (writes JSON lines) |")
    print(f"| sealed size per recorded hour, MB | {index_bytes / hours / 1e6:.2f} (text {text_bytes / hours / 1e6:.2f}) | "
          f"{scan_bytes / hours / 1e6:.2f} |")
    print(f"| open after unlock, s | {open_s:.2f} (RSS +{rss1 - rss0:.0f} MB) | per query |")
    print(f"| query p50 / p95, ms | {percentile(all_lat, 0.5) * 1000:.1f} / {percentile(all_lat, 0.95) * 1000:.1f} | "
          f"unseal + scan {statistics.median(base_sealed) * 1000:.0f}; in memory {statistics.median(base_mem) * 1000:.0f} |")
    print(f"| `owntrace search` end to end (new process), s | {cli_s:.2f} | — |")
    print(f"\nunlock (scrypt, once per command) {unlock_s:.2f} s")
    print("\n| query | p50 ms | max ms | hits |")
    print("|---|---|---|---|")
    for name in queries:
        print(f"| {name} | {statistics.median(lat[name]) * 1000:.1f} | {max(lat[name]) * 1000:.1f} | {hits[name]} |")


if __name__ == "__main__":
    main()
