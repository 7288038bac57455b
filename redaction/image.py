"""Redact screenshots: OCR the words, run the text detectors on them, fill the boxes solid.

`FrameRedactor` works through the frames of a session in order and OCRs only what changed
since the previous frame; `redact_image` is the one-off version. Both fail closed: when OCR or
a detector cannot run they raise `RedactionFailed` and the caller withholds the image.
Boxes are filled solid black (a blur can be reversed or read by OCR; a fill cannot).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field, replace
from typing import Protocol

import numpy as np
from PIL import Image, ImageDraw

from redaction import columns
from redaction.findings import Finding
from redaction.ocr import Ocr, OcrUnavailable
from redaction.regions import (
    INK_LEVEL,
    Box,
    Word,
    boxes_for_span,
    changed_area,
    changed_tiles,
    expand_to_text,
    group_lines,
    grow_to_ink,
    inside,
    intersects,
    line_views,
    merge_boxes,
    pad,
    scrolled,
    tile_boxes,
    token_views,
    union,
    vertical_shift,
    wrapped_views,
)

PAD = 3  # px around every filled box: anti-aliased glyph edges reach past the OCR box
FILL = (0, 0, 0)
FULL_OCR_SHARE = 0.5  # when more than this share of a frame changed, OCR it whole
# an OCR misread inside a random token ends the detector's match early: the rest of the word is
# still secret, so words these touch are filled whole; so are names and places, where a misread
# letter ends a word's match ("Wrze$nia" for "Września")
WHOLE_WORD_ENTITIES = frozenset({"SECRET", "PASSWORD", "CRYPTO", "PERSON", "ORGANIZATION", "ADDRESS", "LOCATION"})
COLUMN_SCORE = 0.7  # a cell under a "Phone" or "Customer" header
BULLETS = re.compile(r"^[•●∙·⚫◦*]{3,}$")


class RedactionFailed(Exception):
    """OCR or detection could not run on an image: the caller withholds it (fail closed)."""


class TextDetector(Protocol):
    def find(self, text: str) -> list: ...  # Finding(start, end, entity, score, detector)


@dataclass
class BoxFinding:
    bbox: Box  # x, y, w, h of the filled area (padding included)
    entity: str
    score: float
    detector: str
    value: str = ""  # the OCR text found (in memory only: the report keeps a group number, not it)


@dataclass
class ImageResult:
    image: Image.Image
    findings: list[BoxFinding]
    flagged: list[tuple[Box, str]] = field(default_factory=list)  # low-confidence text regions
    words: list[Word] = field(default_factory=list)  # the frame's OCR words (kept in memory only)


def find_boxes(words: list[Word], detector: TextDetector, size: tuple[int, int]) -> list[BoxFinding]:
    """Detector findings on the OCR text, mapped back to padded word boxes."""
    lines = group_lines(words)
    found: dict[Box, BoxFinding] = {}  # one finding per box: the best-scoring entity
    for view in line_views(words, lines) + token_views(words, lines) + wrapped_views(words, lines):
        for f in detector.find(view.text):
            if not view.counts(f.start, f.end):
                continue  # the plain line view has it already
            for box in boxes_for_span(words, view, f.start, f.end, cut=f.entity not in WHOLE_WORD_ENTITIES):
                key = pad(box, PAD, size)
                if key not in found or found[key].score < f.score:
                    found[key] = BoxFinding(key, f.entity, float(f.score), f.detector, view.text[f.start:f.end])
    names = getattr(detector, "names", None)  # a session detector learns the names tables show
    for cell in columns.cells(words):
        box = words[cell.words[0]].bbox
        for i in cell.words[1:]:
            box = union(box, words[i].bbox)
        key = pad(box, PAD, size)
        if key not in found or found[key].score < COLUMN_SCORE:
            found[key] = BoxFinding(key, cell.entity, COLUMN_SCORE, "column", cell.text)
        if names is not None:
            names.learn(cell.text, [Finding(0, len(cell.text), cell.entity, COLUMN_SCORE, "column")])
    return join_on_lines(list(found.values()))


def grown(findings: list[BoxFinding], norm: np.ndarray) -> list[BoxFinding]:
    """Findings whose boxes take in the ink OCR's word boxes left out at their ends."""
    ink = norm < INK_LEVEL
    return [replace(f, bbox=grow_to_ink(f.bbox, ink, PAD + 1, max(PAD, f.bbox[3] // 2))) for f in findings]


def join_on_lines(findings: list[BoxFinding]) -> list[BoxFinding]:
    """One box for findings that overlap or nearly touch on one line (two views of one value, or
    two values side by side): a sliver left between them shows nothing worth keeping. The
    joined finding keeps the best-scoring entity."""
    out: list[BoxFinding] = []
    for f in sorted(findings, key=lambda b: (b.bbox[0], b.bbox[1])):
        b = f.bbox
        for k, g in enumerate(out):
            a = g.bbox
            h = max(a[3], b[3])
            if abs((a[1] + a[3] / 2) - (b[1] + b[3] / 2)) <= h / 2 and b[0] - (a[0] + a[2]) < h / 2:
                best = g if g.score >= f.score else f
                out[k] = BoxFinding(union(a, b), best.entity, best.score, best.detector, best.value)
                break
        else:
            out.append(f)
    return sorted(out, key=lambda b: (b.bbox[1], b.bbox[0]))


def low_confidence(words: list[Word], findings: list[BoxFinding], threshold: float) -> list[tuple[Box, str]]:
    """Text OCR could not read with confidence (and is not redacted anyway), merged per line."""
    flagged: list[tuple[Box, str]] = []
    for w in words:
        if any(intersects(w.bbox, f.bbox) for f in findings):
            continue
        if BULLETS.match(w.text):
            flagged.append((w.bbox, "password field (bullets)"))
        elif w.conf < threshold and sum(c.isalnum() for c in w.text) >= 2:
            flagged.append((w.bbox, "text OCR could not read with confidence"))
    merged: list[tuple[Box, str]] = []
    for box, reason in flagged:
        for k, (other, why) in enumerate(merged):
            if why == reason and intersects(box, other, margin=box[3]):
                merged[k] = (union(box, other), why)
                break
        else:
            merged.append((box, reason))
    return merged


def fill(image: Image.Image, boxes: list[Box]) -> Image.Image:
    out = image.copy()
    draw = ImageDraw.Draw(out)
    for x, y, w, h in boxes:
        draw.rectangle([x, y, x + w - 1, y + h - 1], fill=FILL)
    return out


class FrameRedactor:
    """Redacts the frames of one session in order, re-reading only regions that changed.

    Text detection always runs on the whole frame's words (reused + re-read), so an entity
    that spans a changed and an unchanged region is still found as a whole."""

    def __init__(self, detector: TextDetector, *, ocr: Ocr | None = None) -> None:
        self.detector = detector
        try:
            self.ocr = ocr or Ocr()
        except OcrUnavailable as e:
            raise RedactionFailed(str(e)) from e
        self._prev: np.ndarray | None = None
        self._words: list[Word] = []
        self.frame_pixels = 0  # totals, so a benchmark can report the share actually OCR'd
        self.ocr_pixels = 0

    @property
    def engine(self) -> str:
        return getattr(self.ocr, "name", type(self.ocr).__name__)

    def redact(self, frame: Image.Image) -> ImageResult:
        frame = frame.convert("RGB")
        try:
            norm = self.ocr.prepare(frame)
            words = self._read(norm)
            findings = grown(find_boxes(words, self.detector, frame.size), norm)
            flagged = low_confidence(words, findings, self.ocr.low_confidence)
        except Exception as e:  # fail closed: whatever broke, this frame must not pass unredacted
            self._prev, self._words = None, []
            raise RedactionFailed(f"{type(e).__name__}: {e}") from e
        self._prev, self._words = norm, words
        return ImageResult(fill(frame, [f.bbox for f in findings]), findings, flagged, words)

    def again(self, frame: Image.Image, result: ImageResult) -> ImageResult | None:
        """The frame redacted anew from its words when the detector now finds more (names the
        session showed later), or None when nothing changed."""
        frame = frame.convert("RGB")
        findings = find_boxes(result.words, self.detector, frame.size)
        # the earlier boxes were grown to the ink: a box inside one of them is nothing new
        if all(any(inside(f.bbox, g.bbox) for g in result.findings) for f in findings):
            return None
        findings = grown(findings, self.ocr.prepare(frame))
        flagged = low_confidence(result.words, findings, self.ocr.low_confidence)
        return ImageResult(fill(frame, [f.bbox for f in findings]), findings, flagged, result.words)

    def _read(self, norm: np.ndarray) -> list[Word]:
        h, w = norm.shape
        self.frame_pixels += h * w
        if self._prev is None or self._prev.shape != norm.shape:
            return self._read_all(norm)
        prev, old = self._prev, self._words
        grid = changed_tiles(prev, norm)
        if not grid.any():
            return old
        area = changed_area(grid, (w, h))
        shift = vertical_shift(prev, norm, area)
        dirty: list[Box] = []
        if shift:  # a scroll: move the old words with their pixels, read only what scrolled in
            prev = scrolled(prev, area, shift)
            old, dirty = _scroll_words(old, area, shift)
            grid = changed_tiles(prev, norm)
        ink = (norm < INK_LEVEL) | (prev < INK_LEVEL)  # old ink too: deleted text
        regions = merge_boxes([pad(expand_to_text(b, ink), 2, (w, h)) for b in tile_boxes(grid, (w, h)) + dirty])
        regions = _cover_words(regions, old)
        if sum(r[2] * r[3] for r in regions) > FULL_OCR_SHARE * h * w:
            return self._read_all(norm)
        kept = [word for word in old if not any(intersects(word.bbox, r) for r in regions)]
        for r in regions:
            self.ocr_pixels += r[2] * r[3]
            kept.extend(self.ocr.read(norm, r))
        return kept

    def _read_all(self, norm: np.ndarray) -> list[Word]:
        self.ocr_pixels += norm.size
        return self.ocr.read(norm)



def _cover_words(regions: list[Box], words: list[Word]) -> list[Box]:
    """Widen regions to whole previous words they touch, so no word is half re-read."""
    while True:
        grown = []
        for r in regions:
            for word in words:
                if intersects(word.bbox, r):
                    r = union(r, word.bbox)
            grown.append(r)
        grown = merge_boxes(grown)
        if grown == regions:
            return regions
        regions = grown


def _scroll_words(words: list[Word], area: Box, shift: int) -> tuple[list[Word], list[Box]]:
    """Words moved with a scroll of `area`; words that straddle its edge are returned as boxes to
    read again (only part of them moved)."""
    moved: list[Word] = []
    dirty: list[Box] = []
    top, end = area[1], area[1] + area[3]
    for word in words:
        x, y, bw, bh = word.bbox
        if not intersects(word.bbox, area):
            moved.append(word)
        elif x < area[0] or x + bw > area[0] + area[2] or y < top or y + bh > end:
            dirty.append(word.bbox)
        elif top <= y - shift and y - shift + bh <= end:
            moved.append(Word(word.text, (x, y - shift, bw, bh), word.conf))
    return moved, dirty


_shared_ocr: Ocr | None = None
_shared_lock = threading.Lock()


def redact_image(image: Image.Image, detector: TextDetector) -> ImageResult:
    """One image, OCR'd whole. Reuses one tesseract instance (loading the model takes a while)."""
    global _shared_ocr
    from redaction.detect import Detector, SessionDetector

    if isinstance(detector, Detector):
        detector = SessionDetector(detector, [])
    with _shared_lock:
        if _shared_ocr is None:
            try:
                _shared_ocr = Ocr()
            except OcrUnavailable as e:
                raise RedactionFailed(str(e)) from e
        redactor = FrameRedactor(detector, ocr=_shared_ocr)
        result = redactor.redact(image)
        # a name found in one place of the screen is filled everywhere on it
        return redactor.again(image, result) or result
