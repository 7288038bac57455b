"""Screenshot redaction: OwnTrace vs presidio-image-redactor, side by side, same frames.

    python bench/redaction_image_bench.py            # 50 screens + a 5-minute typing session
    python bench/redaction_image_bench.py --quick    # CI size: 20 screens + a 1-minute session

Recall per entity type (a value counts as redacted when all of its ink is filled, give or take
the outermost anti-aliased pixel),
words wrongly redacted, full frames per second, and seconds to redact a typing session at
2 fps. Both sides use tesseract in-process with one thread (OMP_THREAD_LIMIT=1) and the same
offline presidio AnalyzerEngine; the baseline gets a small OCR adapter because
presidio-image-redactor's own TesseractOCR is pytesseract (a tesseract binary and a temp file
per image). The baseline's session time is measured on every k-th frame and scaled to the whole
session (it has no incremental mode: every frame costs the same). Figures are wall time on
whatever else the machine is doing: compare the two columns of one run, not runs.
"""

from __future__ import annotations

import os

os.environ["OMP_THREAD_LIMIT"] = "1"  # both sides; must precede any tesseract load

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from redaction import presidio_engine  # noqa: E402
from redaction.detect import Detector  # noqa: E402
from redaction.image import FrameRedactor  # noqa: E402
from redaction.ocr import tessdata_dir  # noqa: E402
from tests.support.screens import DENY, PARTIAL, Screen, screens, typing_session  # noqa: E402

Box = tuple[int, int, int, int]


class TesserocrForPresidio:
    """presidio-image-redactor's OCR interface (pytesseract's image_to_data dict) over tesserocr,
    with tesseract's defaults as pytesseract would run them (automatic page layout)."""

    def __init__(self) -> None:
        import tesserocr

        self.tess = tesserocr
        self.api = tesserocr.PyTessBaseAPI(path=str(tessdata_dir()), lang="eng")

    def perform_ocr(self, image, **kwargs) -> dict:
        self.api.SetImage(image)
        self.api.Recognize()
        level = self.tess.RIL.WORD
        out: dict[str, list] = {k: [] for k in ("left", "top", "width", "height", "conf", "text")}
        for it in self.tess.iterate_level(self.api.GetIterator(), level):
            try:
                text = it.GetUTF8Text(level) or ""
            except RuntimeError:
                continue
            x0, y0, x1, y1 = it.BoundingBox(level)
            for k, val in zip(out, (x0, y0, x1 - x0, y1 - y0, it.Confidence(level), text)):
                out[k].append(val)
        return out

    @staticmethod
    def get_text_from_ocr_dict(ocr_result: dict, separator: str = " ") -> str:
        return separator.join(ocr_result["text"])


class Presidio:
    name = "presidio-image-redactor"

    def __init__(self) -> None:
        from presidio_analyzer import PatternRecognizer
        from presidio_analyzer.predefined_recognizers import PhoneRecognizer
        from presidio_image_redactor import ImageAnalyzerEngine, ImageRedactorEngine

        analyzer = presidio_engine.build()
        # presidio's own phone recognizer: OwnTrace's analyzer leaves phones to redaction.structured
        analyzer.engine.registry.add_recognizer(PhoneRecognizer(supported_regions=["US", "GB", "DE", "FR"]))
        self.entities = list(analyzer.entities) + ["DENY"]
        self.engine = ImageRedactorEngine(ImageAnalyzerEngine(analyzer_engine=analyzer.engine, ocr=TesserocrForPresidio()))
        self.ad_hoc = [PatternRecognizer(supported_entity="DENY", deny_list=list(DENY))]

    def boxes(self, image) -> list[Box]:
        _, found = self.engine.redact_and_return_bbox(image, ad_hoc_recognizers=self.ad_hoc, entities=self.entities)
        return [(b.left, b.top, b.width, b.height) for b in found]


class OwnTrace:
    name = "owntrace"

    def __init__(self, detector: Detector) -> None:
        self.detector = detector
        self.redactor = FrameRedactor(detector)

    def boxes(self, image) -> list[Box]:
        """One frame of a session (incremental: the previous frame's OCR is reused)."""
        return [f.bbox for f in self.redactor.redact(image).findings]

    def fresh(self) -> OwnTrace:
        """A redactor with no previous frame: every image is OCR'd whole."""
        return OwnTrace(self.detector)


def fill_mask(size: tuple[int, int], boxes: list[Box]) -> np.ndarray:
    mask = np.zeros(size[::-1], bool)
    for x, y, w, h in boxes:
        mask[max(0, y) : y + h, max(0, x) : x + w] = True
    return mask


def filled(mask: np.ndarray, ink: list[Box]) -> bool:
    """Every pixel of a value's ink filled, give or take the outermost anti-aliased pixel."""
    return all(mask[y + 1 : y + h - 1, x + 1 : x + w - 1].all() for x, y, w, h in ink)


def wrongly(mask: np.ndarray, word: Box) -> bool:
    """A word that is not personal counts as redacted when most of its box is filled."""
    x, y, w, h = word
    return bool(mask[y : y + h, x : x + w].mean() > 0.5)


class Score:
    def __init__(self) -> None:
        self.found: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # entity -> [redacted, total]
        self.words = [0, 0]  # wrongly redacted, total

    def add(self, screen: Screen, boxes: list[Box], small: bool = False) -> None:
        mask = fill_mask(screen.image.size, boxes)
        for t in screen.truths:
            if t.entity == PARTIAL:
                continue
            key = t.entity + (" (<12 px)" if small else "")
            self.found[key][1] += 1
            self.found[key][0] += filled(mask, t.boxes)
        for _, box in screen.words:
            self.words[1] += 1
            self.words[0] += wrongly(mask, box)

    def recall(self, entity: str) -> str:
        n, total = self.found.get(entity, (0, 0))
        return f"{100 * n / total:.1f} % ({n}/{total})" if total else "-"

    def overall(self, small: bool = False) -> tuple[int, int]:
        pairs = [v for k, v in self.found.items() if k.endswith("px)") == small]
        return sum(p[0] for p in pairs), sum(p[1] for p in pairs)

    def wrong(self) -> str:
        return f"{100 * self.words[0] / max(1, self.words[1]):.1f} % ({self.words[0]}/{self.words[1]})"


def timed(fn, *args):
    t = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t


def run_screens(sides, shots: list[Screen]) -> dict:
    score = {s.name: Score() for s in sides}
    seconds = {s.name: 0.0 for s in sides}
    for screen in shots:
        for side in sides:
            fresh = side.fresh() if isinstance(side, OwnTrace) else side
            boxes, dt = timed(fresh.boxes, screen.image)
            seconds[side.name] += dt
            score[side.name].add(screen, boxes, small=screen.px < 12)
    return {"score": score, "seconds": seconds}


def run_session(sides, seconds: int, sample_every: int) -> dict:
    own, base = sides
    score = {own.name: Score(), base.name: Score(), own.name + " (all frames)": Score()}
    own_time = base_time = 0.0
    n = sampled = 0
    for n, screen in enumerate(typing_session(seconds), 1):
        boxes, dt = timed(own.boxes, screen.image)
        own_time += dt
        score[own.name + " (all frames)"].add(screen, boxes)
        if (n - 1) % sample_every == 0:
            score[own.name].add(screen, boxes)
            bboxes, bdt = timed(base.boxes, screen.image)
            base_time += bdt
            score[base.name].add(screen, bboxes)
            sampled += 1
    return {"frames": n, "sampled": sampled, "own": own_time, "base": base_time / sampled * n, "score": score,
            "ocr_share": own.redactor.ocr_pixels / max(1, own.redactor.frame_pixels)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="20 screens and a 1-minute session")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    sizes = (12, 16) if args.quick else (11, 12, 14, 16, 18)
    session_s, sample_every = (60, 12) if args.quick else (300, 20)

    detector = Detector(deny=list(DENY))
    own, base = OwnTrace(detector), Presidio()
    shots = screens(args.seed, sizes=sizes)
    res = run_screens([own, base], shots)
    n = len(shots)
    print(f"## Screens: {n} synthetic 1280x800 screens (mail, form, terminal, chat, code; light+dark; "
          f"{', '.join(map(str, sizes))} px; {len({s.font for s in shots})} fonts)\n")
    print(f"| entity (recall, >= 12 px unless noted) | {own.name} | {base.name} |\n|---|---|---|")
    entities = sorted(set(res["score"][own.name].found) | set(res["score"][base.name].found))
    for e in entities:
        print(f"| {e} | {res['score'][own.name].recall(e)} | {res['score'][base.name].recall(e)} |")
    for label, small in (("all, >= 12 px", False), ("all, 11 px", True)):
        cells = []
        for side in (own, base):
            got, total = res["score"][side.name].overall(small)
            cells.append(f"{100 * got / total:.1f} % ({got}/{total})" if total else "-")
        print(f"| **{label}** | {cells[0]} | {cells[1]} |")
    print(f"| words wrongly redacted | {res['score'][own.name].wrong()} | {res['score'][base.name].wrong()} |")
    print(f"| full frames per second | {n / res['seconds'][own.name]:.2f} | {n / res['seconds'][base.name]:.2f} |")

    ses = run_session([own, base], session_s, sample_every)
    print(f"\n## Typing session: {session_s} s at 2 fps = {ses['frames']} frames of 1280x800, dark terminal, 14 px\n")
    print(f"| | {own.name} | {base.name} |\n|---|---|---|")
    print(f"| seconds to redact the session | {ses['own']:.1f} | {ses['base']:.1f} (measured on {ses['sampled']} frames, x{ses['frames'] / ses['sampled']:.0f}) |")
    print(f"| speed-up | {ses['base'] / ses['own']:.1f}x | 1x |")
    print(f"| share of pixels OCR'd | {100 * ses['ocr_share']:.1f} % | 100 % |")
    for e in sorted(ses["score"][own.name].found):
        print(f"| recall {e} (sampled frames) | {ses['score'][own.name].recall(e)} | {ses['score'][base.name].recall(e)} |")
    print(f"| words wrongly redacted (sampled frames) | {ses['score'][own.name].wrong()} | {ses['score'][base.name].wrong()} |")
    allf = ses["score"][own.name + " (all frames)"]
    print("| recall, all frames (owntrace) | " + ", ".join(f"{e} {allf.recall(e)}" for e in sorted(allf.found)) + " | |")


if __name__ == "__main__":
    main()
