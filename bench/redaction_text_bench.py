"""Text redaction benchmark: recall and precision per entity type on synthetic text that looks
like what people type and read (terminals, chats, forms, mail lists, config files), and on
typed-text sessions (key events with typos and corrections, rebuilt and mapped back to keys).

Side by side in the same run with a baseline: presidio's own predefined recognizers (offline,
no NLP model, every recognizer presidio ships), the setup a naive integration would use.

    python bench/redaction_text_bench.py [--samples 400] [--seed 7]

Recall: share of true entities entirely covered by findings (whatever label). Precision: share of
findings that overlap a true entity. Wrongly redacted words: ordinary words touched by a finding.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import string
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from redaction import typed  # noqa: E402
from redaction.detect import Detector  # noqa: E402
from redaction.findings import Finding  # noqa: E402
from tests.support.screens import DENY, WORDS, Values, _token  # noqa: E402

B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def _b58check(payload: bytes) -> str:
    raw = payload + hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]
    n = int.from_bytes(raw, "big")
    out = ""
    while n:
        n, r = divmod(n, 58)
        out = B58[r] + out
    return "1" * (len(raw) - len(raw.lstrip(b"\0"))) + out


class MoreValues(Values):
    """Values the screen benchmark does not need, in more formats."""

    def phone(self) -> str:
        r = self.rnd
        return r.choice((
            f"+1 {r.choice(('415', '212', '617'))} 555 01{r.randint(10, 99)}",
            f"({r.choice(('415', '212', '312'))}) 555-01{r.randint(10, 99)}",
            f"+44 20 7946 0{r.randint(100, 999)}",
            f"+49 30 {r.randint(2000000, 9999999)}",
            f"+33 1 {r.randint(10, 99)} {r.randint(10, 99)} {r.randint(10, 99)} {r.randint(10, 99)}",
        ))

    def card(self) -> str:
        raw = super().card().replace(" ", "")
        return self.rnd.choice((raw, "-".join(raw[i:i + 4] for i in range(0, 16, 4)), super().card()))

    def url(self) -> str:
        return self.rnd.choice((
            f"https://www.{self.rnd.choice(('shop', 'mybank', 'clinic'))}-{self.rnd.randint(1, 99)}.com/account?id={self.rnd.randint(1000, 99999)}",
            f"http://portal.{self.rnd.choice(('example.org', 'intranet.net'))}/users/{self.rnd.randint(100, 999)}",
        ))

    def ipv6(self) -> str:
        return "2001:db8:" + ":".join(f"{self.rnd.randint(0, 65535):x}" for _ in range(6))

    def crypto(self) -> str:
        return _b58check(b"\0" + self.rnd.randbytes(20))

    def dob(self) -> str:
        r = self.rnd
        y, m, d = r.randint(1950, 2004), r.randint(1, 12), r.randint(1, 28)
        month = ("January", "March", "June", "October")[m % 4]
        return r.choice((f"{d:02d}/{m:02d}/{y}", f"{y}-{m:02d}-{d:02d}", f"{month} {d}, {y}", f"{d} {month} {y}"))

    def gitlab(self) -> str:
        return "glpat-" + _token(self.rnd, 20, string.ascii_letters + string.digits + "_-")

    def private_key(self) -> str:
        body = "\n".join(_token(self.rnd, 64, string.ascii_letters + string.digits + "+/") for _ in range(3))
        return f"-----BEGIN OPENSSH PRIVATE KEY-----\n{body}\n-----END OPENSSH PRIVATE KEY-----"

    def entropy_token(self) -> str:
        return _token(self.rnd, self.rnd.randint(24, 40))

    def password(self) -> str:
        return self.rnd.choice(("hunter2", "Summer2024!", "correct-horse", "Tr0ub4dor&3", "letmein99"))


@dataclass
class Sample:
    kind: str
    text: str = ""
    truths: list[tuple[int, int, str]] = field(default_factory=list)

    def add(self, part: str, entity: str | None = None) -> Sample:
        if entity:
            self.truths.append((len(self.text), len(self.text) + len(part), entity))
        self.text += part
        return self


def prose(rnd: random.Random, n: int) -> str:
    return " ".join(rnd.choice(WORDS) for _ in range(n))


ORDINARY = ("git status", "ls -la ~/src", "make test", "cd ../build", "python3 -m pytest -q", "v3.11.7",
            "/usr/lib/python3/dist-packages", "docker compose up -d", "commit 3f9a2c1 fixed parser",
            "meeting at 10:30 on 2024-05-14", "build #4821 passed", "npm install --save-dev typescript",
            "get_user_by_id(user_id)", "Total: 1,234.56 EUR", "ticket PROJ-1942", "page 3 of 12",
            # hard negatives: look random or structured, are not personal
            "git checkout 9fceb02d0ae598e95dc970b74767f19372d61af8", "id 123e4567-e89b-12d3-a456-426614174000",
            "AbstractSingletonProxyFactoryBean", "test_redaction_keeps_ordinary_words_2024",
            "version 10.2.3.4 released", "call 1-800 support line")


def sample(v: MoreValues, kind: str) -> Sample:
    r = v.rnd
    s = Sample(kind)
    if kind == "terminal":
        s.add("$ " + r.choice(ORDINARY) + "\n")
        choice = r.randrange(6)
        if choice == 0:
            s.add("$ export GITHUB_TOKEN=").add(v.github(), "SECRET")
        elif choice == 1:
            s.add("$ ssh ").add(v.deny(), "DENY").add("@").add(v.ip(), "IP_ADDRESS")
        elif choice == 2:
            s.add("$ psql ").add(v.conn(), "SECRET")
        elif choice == 3:
            s.add("$ cat ~/.ssh/id_ed25519\n").add(v.private_key(), "SECRET")
        elif choice == 4:
            s.add("$ git remote add origin ").add("https://gitlab.com/x/y.git", "URL").add(" && export CI_TOKEN=")
            s.add(v.gitlab(), "SECRET")
        else:
            s.add("    link/ether ").add(v.mac(), "MAC_ADDRESS").add(" brd ff:ff:ff:ff:ff:ff")
        s.add("\n$ " + r.choice(ORDINARY))
    elif kind == "chat":
        s.add(f"{r.choice(('Maria', 'Omar', 'Wei'))}: {prose(r, 4)} ")
        choice = r.randrange(7)
        if choice == 0:
            s.add("my card is ").add(v.card(), "CREDIT_CARD")
        elif choice == 1:
            s.add("mail me at ").add(v.email(), "EMAIL_ADDRESS")
        elif choice == 2:
            s.add("call me on ").add(v.phone(), "PHONE_NUMBER")
        elif choice == 3:
            s.add("the wifi password is ").add(v.password(), "PASSWORD")
        elif choice == 4:
            s.add("send it to ").add(v.crypto(), "CRYPTO")
        elif choice == 5:
            s.add("ask ").add(v.deny(), "DENY").add(" about it")
        else:
            s.add("see ").add(v.url(), "URL")
        s.add(" " + prose(r, r.randint(2, 8)))
    elif kind == "form":
        for label, value, entity in r.sample([
            ("Email: ", v.email(), "EMAIL_ADDRESS"), ("Phone: ", v.phone(), "PHONE_NUMBER"),
            ("IBAN: ", v.iban(), "IBAN_CODE"), ("Date of birth: ", v.dob(), "DATE_OF_BIRTH"),
            ("SSN: ", v.ssn(), "US_SSN"), ("Card: ", v.card(), "CREDIT_CARD"), ("Name: ", v.deny(), "DENY"),
        ], 3):
            s.add(label).add(value, entity).add("\n")
        s.add("Order date: 2024-05-14   Quantity: 3   [ Submit ]")
    elif kind == "mail":
        for _ in range(3):
            s.add("* ").add(v.email(), "EMAIL_ADDRESS").add(f"   {prose(r, 3)}   {r.randint(8, 18)}:{r.randint(10, 59)}\n")
    else:  # config / code
        choice = r.randrange(6)
        key, value = [("STRIPE_KEY", v.stripe()), ("SLACK_TOKEN", v.slack()), ("OPENAI_API_KEY", v.openai()),
                      ("JWT", v.jwt()), ("AWS_ACCESS_KEY_ID", v.aws()), ("SESSION_SECRET", v.entropy_token())][choice]
        s.add("import os\n").add(f'{key} = "').add(value, "SECRET").add('"\n')
        s.add("def connect(retries=3):\n    return open_pool(os.environ['DATABASE_URL'])\n")
        s.add("# server ").add(v.ipv6(), "IP_ADDRESS").add(" admin ").add(v.email(), "EMAIL_ADDRESS")
    return s


KINDS = ("terminal", "chat", "form", "mail", "code")


def dataset(n: int, seed: int) -> list[Sample]:
    v = MoreValues(random.Random(seed))
    return [sample(v, KINDS[i % len(KINDS)]) for i in range(n)]


@dataclass
class Score:
    tp: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    fn: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    pred: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    pred_ok: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    words: int = 0
    words_hit: int = 0
    seconds: float = 0.0

    def add(self, s: Sample, found: list[Finding]) -> None:
        covered = [False] * len(s.text)
        for f in found:
            for i in range(f.start, min(f.end, len(s.text))):
                covered[i] = True
            self.pred[f.entity] += 1
            self.pred_ok[f.entity] += any(f.start < b and a < f.end for a, b, _ in s.truths)
        truth_mask = [False] * len(s.text)
        for a, b, entity in s.truths:
            ok = all(covered[i] or s.text[i].isspace() for i in range(a, b))
            (self.tp if ok else self.fn)[entity] += 1
            for i in range(a, b):
                truth_mask[i] = True
        pos = 0
        for word in s.text.split():
            start = s.text.index(word, pos)
            pos = start + len(word)
            if any(truth_mask[start:pos]):
                continue
            self.words += 1
            self.words_hit += any(covered[start:pos])

    def recall(self, entity: str) -> float | None:
        n = self.tp[entity] + self.fn[entity]
        return self.tp[entity] / n if n else None

    def precision(self) -> float:
        total = sum(self.pred.values())
        return sum(self.pred_ok.values()) / total if total else 1.0


def run_text(samples: list[Sample], find) -> Score:
    score = Score()
    t0 = time.perf_counter()
    results = [find(s.text) for s in samples]
    score.seconds = time.perf_counter() - t0
    for s, found in zip(samples, results):
        score.add(s, found)
    return score


def presidio_baseline():
    """presidio's predefined recognizers, offline (no NLP model), default threshold."""
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NoOpNlpEngine

    import redaction.presidio_engine  # noqa: F401 - makes tldextract offline first

    nlp = NoOpNlpEngine(models=[{"lang_code": "en", "model_name": "none"}])
    registry = RecognizerRegistry()
    registry.load_predefined_recognizers(nlp_engine=nlp)
    registry.remove_recognizer("SpacyRecognizer")  # no NER without a model
    engine = AnalyzerEngine(registry=registry, nlp_engine=nlp)

    def find(text: str) -> list[Finding]:
        return [Finding(r.start, r.end, r.entity_type, r.score, "presidio") for r in engine.analyze(text, language="en")]

    return find


# ---- typed-text sessions ----------------------------------------------------------------

def keystrokes(text: str, rnd: random.Random, t: int) -> tuple[list[dict], int]:
    """Key events typing `text` at 80-400 ms a key with a 1-3 s pause before one key in ten (so
    entities span journal segments), typos fixed by backspace (5 % of keys), enter for newlines."""
    out = []

    def press(key: str, char: str) -> None:
        nonlocal t
        t += (rnd.randint(1000, 3000) if rnd.random() < 0.1 else rnd.randint(80, 400)) * 1_000_000
        out.append({"t": t, "kind": "key_down", "key": key, "char": char, "mods": []})
        out.append({"t": t + 30_000_000, "kind": "key_up", "key": key, "mods": []})

    for ch in text:
        if ch.isalnum() and rnd.random() < 0.05:
            wrong = rnd.choice(string.ascii_lowercase)
            press(wrong, wrong)
            press("backspace", "")
        if ch == "\n":
            press("enter", "\n")
        else:
            press("space" if ch == " " else ch, ch)
    return out, t


def typed_session(samples: list[Sample], seed: int) -> tuple[list[dict], list[Sample]]:
    """One journal: each sample typed into its own window; a password typed after `sudo`."""
    rnd = random.Random(seed)
    events: list[dict] = []
    t = 0
    kept = []
    for i, s in enumerate(samples):
        if s.kind == "terminal" and i % 3 == 0:
            s = Sample(s.kind, s.text, list(s.truths)).add("\n$ sudo apt upgrade\n").add(
                MoreValues(rnd).password(), "PASSWORD").add("\n")
        events.append({"t": t, "kind": "window", "wid": i, "app": "XTerm", "title": f"{s.kind} {i}", "pid": 1,
                       "x": 0, "y": 0, "w": 800, "h": 600, "excluded": False})
        keys, t = keystrokes(s.text, rnd, t)
        events += keys
        kept.append(s)
    return events, kept


def run_typed(samples: list[Sample], detector: Detector, seed: int) -> tuple[Score, float, int, float]:
    """Redact a typed session; score what is left in the redacted journal's rebuilt text."""
    events, samples = typed_session(samples, seed)
    t0 = time.perf_counter()
    found = typed.find(events, detector.find)
    over = typed.redactions(events, found)
    seconds = time.perf_counter() - t0
    redacted = [{**e, **over.get(i, {})} for i, e in enumerate(events)]
    texts = [r.text for r in typed.rebuild(redacted)]
    score = Score()
    for s, text in zip(samples, texts):
        gone = []
        for a, b, entity in s.truths:
            ok = s.text[a:b] not in text and not any(part in text for part in s.text[a:b].split() if len(part) >= 4)
            (score.tp if ok else score.fn)[entity] += 1
            gone.append((a, b))
        pos = 0
        for word in s.text.split():
            start = s.text.index(word, pos)
            pos = start + len(word)
            if any(a <= start < b for a, b in gone):
                continue
            score.words += 1
            score.words_hit += word not in text
    typed_chars = sum(1 for e in events if e["kind"] == "key_down")
    return score, seconds, typed_chars, events[-1]["t"] / 1e9


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--samples", type=int, default=400)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    samples = dataset(args.samples, args.seed)
    t0 = time.perf_counter()
    detector = Detector(deny=list(DENY))
    build_s = time.perf_counter() - t0
    ours = run_text(samples, detector.find)
    base = run_text(samples, presidio_baseline())
    entities = sorted({e for s in samples for _, _, e in s.truths})
    print(f"# text redaction benchmark: {len(samples)} samples, seed {args.seed}, NER {detector.status()['ner']}")
    print(f"detector built in {build_s:.1f} s\n")
    print("| entity | n | recall (OwnTrace) | recall (presidio defaults) |")
    print("|---|---:|---:|---:|")
    for e in entities:
        n = ours.tp[e] + ours.fn[e]
        rb = base.recall(e)
        print(f"| {e} | {n} | {ours.recall(e):.1%} | {rb:.1%} |")
    print(f"| precision (findings on a true entity) | | {ours.precision():.1%} | {base.precision():.1%} |")
    print(f"| ordinary words wrongly redacted | {ours.words} | {ours.words_hit / ours.words:.1%} | "
          f"{base.words_hit / base.words:.1%} |")
    print(f"| texts per second | | {len(samples) / ours.seconds:.0f} | {len(samples) / base.seconds:.0f} |")
    print("\nPrecision per predicted type (OwnTrace): " + ", ".join(
        f"{k} {ours.pred_ok[k] / ours.pred[k]:.0%} of {ours.pred[k]}" for k in sorted(ours.pred)))

    tscore, tsec, keys, span_s = run_typed(samples[:150], detector, args.seed)
    print(f"\n## typed-text session: {keys} key presses over {span_s / 60:.0f} min of typing, typos corrected")
    print("| entity | n | removed from the redacted journal |")
    print("|---|---:|---:|")
    for e in sorted(set(tscore.tp) | set(tscore.fn)):
        print(f"| {e} | {tscore.tp[e] + tscore.fn[e]} | {tscore.recall(e):.1%} |")
    print(f"| ordinary words lost | {tscore.words} | {tscore.words_hit / tscore.words:.1%} |")
    print(f"\nredacting the typed session took {tsec:.2f} s ({keys / tsec:.0f} key presses per second); "
          f"a 5-minute typing session (1500 key presses) takes about {1500 / (keys / tsec):.2f} s")


if __name__ == "__main__":
    main()
