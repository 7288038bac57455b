"""Held-out evaluation: OwnTrace vs presidio-image-redactor on screens neither was built on.

    python bench/redaction_eval_bench.py                 # the held-out half (60 screens), both sides
    python bench/redaction_eval_bench.py --half tune     # the tuning half, OwnTrace only
    python bench/redaction_eval_bench.py --half extra --misses   # 120 more tuning screens, each miss

The screens come from bench/eval_screens.py (HTML rendered in headless Chromium, Faker values
in 13 locales, gold boxes from the DOM), a different generator from the detectors' own
tests/support/screens.py. The split is frozen in bench/eval_split.json; only "test" is a
result. No deny-list on either side: every name must be found by the detectors. `--misses`
lists every missed value and wrongly redacted word, and is refused on the test half, whose
values nobody tuning should read.

Per entity type: recall (every ink pixel of the value filled); per-image zero-leak (every
personal value on the screen filled); words wrongly redacted; seconds per frame (each screen
OCR'd whole, one thread).
"""

from __future__ import annotations

import os

os.environ["OMP_THREAD_LIMIT"] = "1"  # both sides; must precede any tesseract load

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.eval_screens import COUNT, LOCALES, render, split  # noqa: E402
from bench.redaction_image_bench import OwnTrace, Presidio, Score, fill_mask, filled, wrongly  # noqa: E402
from redaction.detect import Detector, SessionDetector  # noqa: E402
from redaction.image import FrameRedactor  # noqa: E402
from tests.support.screens import PARTIAL  # noqa: E402

GROUPS = {  # entity -> row of the report (the targets are per group)
    "PERSON": "person names", "ORGANIZATION": "organisations", "ADDRESS": "addresses",
    "EMAIL_ADDRESS": "structured", "PHONE_NUMBER": "structured", "CREDIT_CARD": "structured",
    "IBAN_CODE": "structured", "HANDLE": "work identifiers", "CHANNEL": "work identifiers",
    "REPOSITORY": "work identifiers", "WORK_ID": "work identifiers",
}


class OwnTraceScreen(OwnTrace):
    """One screenshot as `owntrace redact-image` does it: OCR'd whole, names found anywhere
    on it filled everywhere on it."""

    def boxes(self, image) -> list:
        redactor = FrameRedactor(SessionDetector(self.detector, []))
        result = redactor.redact(image)
        return [f.bbox for f in (redactor.again(image, result) or result).findings]


class EvalScore(Score):
    def __init__(self) -> None:
        super().__init__()
        self.images = [0, 0]  # screens without a leak, screens
        self.misses: list[str] = []  # "entity: value" of every value not filled, and wrongly filled words

    def add(self, screen, boxes, small: bool = False) -> None:
        before = {k: tuple(v) for k, v in self.found.items()}
        super().add(screen, boxes)
        leaked = any(v[1] - before.get(k, (0, 0))[1] != v[0] - before.get(k, (0, 0))[0] for k, v in self.found.items())
        self.images[1] += 1
        self.images[0] += not leaked
        mask = fill_mask(screen.image.size, boxes)
        self.misses += [f"{t.entity}: {t.text!r}" for t in screen.truths if t.entity != PARTIAL and not filled(mask, t.boxes)]
        self.misses += [f"wrongly redacted: {w!r}" for w, b in screen.words if wrongly(mask, b)]

    def group(self, name: str) -> tuple[int, int]:
        pairs = [v for k, v in self.found.items() if GROUPS.get(k) == name]
        return sum(p[0] for p in pairs), sum(p[1] for p in pairs)


def pct(got: int, total: int) -> str:
    return f"{100 * got / total:.1f} % ({got}/{total})" if total else "-"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--half", choices=("test", "tune", "extra"), default="test",
                    help=f"extra: ids {COUNT}-{2 * COUNT - 1}, same generator, outside the split (tuning only)")
    ap.add_argument("--misses", action="store_true", help="list each miss per screen (not on the test half)")
    ap.add_argument("--no-baseline", action="store_true", help="OwnTrace only (the tuning half never runs the baseline)")
    args = ap.parse_args()
    if args.misses and args.half == "test":
        ap.error("--misses is for tuning: the test half is only ever reported in aggregate")
    ids = list(range(COUNT, 2 * COUNT)) if args.half == "extra" else split()[args.half]
    own = OwnTraceScreen(Detector())
    sides = [own] if args.half != "test" or args.no_baseline else [own, Presidio()]
    score = {s.name: EvalScore() for s in sides}
    seconds = {s.name: 0.0 for s in sides}
    kinds: Counter[str] = Counter()
    scales: Counter[int] = Counter()
    for spec, screen in render(ids):
        kinds[spec.kind] += 1
        scales[spec.scale] += 1
        for side in sides:
            t = time.perf_counter()
            boxes = side.boxes(screen.image)
            seconds[side.name] += time.perf_counter() - t
            seen = len(score[side.name].misses)
            score[side.name].add(screen, boxes)
            if args.misses:
                for line in score[side.name].misses[seen:]:
                    print(f"{spec.id} {spec.kind} {spec.locale} {spec.scale}x {spec.px}px {spec.theme}: {line}")
    n = len(ids)
    names = [s.name for s in sides]
    print(f"## Held-out evaluation: {args.half} half, {n} screens ({', '.join(f'{k} {v}' for k, v in sorted(kinds.items()))}; "
          f"1x {scales[1]}, 2x {scales[2]}; {len(LOCALES)} Faker locales; no deny-list)\n")
    print("| entity (recall) | " + " | ".join(names) + " |\n|---|" + "---|" * len(names))
    for e in sorted(set().union(*(score[k].found for k in names))):
        print(f"| {e} | " + " | ".join(score[k].recall(e) for k in names) + " |")
    for g in dict.fromkeys(GROUPS.values()):
        print(f"| **{g}** | " + " | ".join(pct(*score[k].group(g)) for k in names) + " |")
    print("| **per-image zero-leak** | " + " | ".join(pct(*score[k].images) for k in names) + " |")
    print("| words wrongly redacted | " + " | ".join(score[k].wrong() for k in names) + " |")
    print("| seconds per frame | " + " | ".join(f"{seconds[k] / n:.2f}" for k in names) + " |")


if __name__ == "__main__":
    main()
