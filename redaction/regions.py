"""Pure geometry for screenshot redaction: what changed between frames, which pixels hold a text
line, how OCR words become detector text, and how detector spans map back to word boxes.

No OCR and no I/O here: frames come in as numpy arrays, words as `Word` values, so every rule
can be unit-tested on hand-made inputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Box = tuple[int, int, int, int]  # x, y, w, h in frame pixels

TILE = 16  # diff granularity: small enough that one typed character dirties one or two tiles
INK_LEVEL = 128  # on a normalised frame (dark text on light), darker than this is ink


@dataclass(frozen=True)
class Word:
    """One OCR word on a frame."""

    text: str
    bbox: Box
    conf: float  # tesseract's 0..100


# ---- boxes -------------------------------------------------------------------------------


def right(b: Box) -> int:
    return b[0] + b[2]


def bottom(b: Box) -> int:
    return b[1] + b[3]


def union(a: Box, b: Box) -> Box:
    x0, y0 = min(a[0], b[0]), min(a[1], b[1])
    return (x0, y0, max(right(a), right(b)) - x0, max(bottom(a), bottom(b)) - y0)


def intersects(a: Box, b: Box, margin: int = 0) -> bool:
    return (
        a[0] < right(b) + margin
        and b[0] < right(a) + margin
        and a[1] < bottom(b) + margin
        and b[1] < bottom(a) + margin
    )


def pad(b: Box, px: int, size: tuple[int, int]) -> Box:
    """Grow a box by `px` on every side, clipped to an image of `size` (w, h)."""
    x0, y0 = max(0, b[0] - px), max(0, b[1] - px)
    x1, y1 = min(size[0], right(b) + px), min(size[1], bottom(b) + px)
    return (x0, y0, max(0, x1 - x0), max(0, y1 - y0))


def merge_boxes(boxes: list[Box], gap: int = 0) -> list[Box]:
    """Union boxes that overlap or lie within `gap` pixels of each other, until none do."""
    out = list(boxes)
    merged = True
    while merged:
        merged = False
        result: list[Box] = []
        for b in out:
            for i, r in enumerate(result):
                if intersects(b, r, gap):
                    result[i] = union(b, r)
                    merged = True
                    break
            else:
                result.append(b)
        out = result
    return sorted(out, key=lambda b: (b[1], b[0]))


# ---- change detection ---------------------------------------------------------------------


def changed_tiles(prev: np.ndarray, cur: np.ndarray, tile: int = TILE) -> np.ndarray:
    """Boolean grid (rows, cols): True where any pixel of the tile differs between two frames."""
    h, w = cur.shape[:2]
    diff = prev != cur
    if diff.ndim == 3:
        diff = diff.any(axis=2)
    rows, cols = -(-h // tile), -(-w // tile)
    padded = np.zeros((rows * tile, cols * tile), dtype=bool)
    padded[:h, :w] = diff
    return padded.reshape(rows, tile, cols, tile).any(axis=(1, 3))


def tile_boxes(grid: np.ndarray, size: tuple[int, int], tile: int = TILE) -> list[Box]:
    """Rectangles (frame pixels) covering the True tiles: row runs merged into touching boxes."""
    boxes = []
    for r in range(grid.shape[0]):
        row = grid[r]
        c = 0
        while c < row.size:
            if not row[c]:
                c += 1
                continue
            start = c
            while c < row.size and row[c]:
                c += 1
            boxes.append((start * tile, r * tile, (c - start) * tile, tile))
    clipped = [pad(b, 0, size) for b in merge_boxes(boxes)]
    return [b for b in clipped if b[2] and b[3]]


def expand_to_text(box: Box, ink: np.ndarray, max_grow: int = 256) -> Box:
    """Grow a changed region until its edges fall on ink-free rows and on gaps between text
    columns, so no text line is cut by the region (OCR of a half line reads garbage)."""
    h, w = ink.shape
    x0, y0, x1, y1 = box[0], box[1], right(box), bottom(box)
    for _ in range(4):
        before = (x0, y0, x1, y1)
        band = ink[:, x0:x1]
        limit = max(0, box[1] - max_grow)
        while y0 > limit and band[y0 - 1].any():
            y0 -= 1
        limit = min(h, bottom(box) + max_grow)
        while y1 < limit and band[y1].any():
            y1 += 1
        # a word gap is under one line height; a gap wider than that separates columns/panes
        gap = max(8, y1 - y0)
        cols = ink[y0:y1].any(axis=0)
        x0 = _extend(cols, x0, -1, gap, max(0, box[0] - 4 * max_grow))
        x1 = _extend(cols, x1 - 1, 1, gap, min(w, right(box) + 4 * max_grow) - 1) + 1
        if (x0, y0, x1, y1) == before:
            break
    return (x0, y0, x1 - x0, y1 - y0)


def _extend(cols: np.ndarray, edge: int, step: int, gap: int, limit: int) -> int:
    """Move `edge` (an included column) towards `limit` while ink lies within `gap` columns."""
    while True:
        if step > 0:
            hits = np.flatnonzero(cols[edge + 1 : min(limit, edge + gap) + 1])
            if not hits.size:
                return edge
            edge += 1 + int(hits[-1])
        else:
            lo = max(limit, edge - gap)
            hits = np.flatnonzero(cols[lo:edge])
            if not hits.size:
                return edge
            edge = lo + int(hits[0])


# ---- words to text and back ---------------------------------------------------------------


@dataclass(frozen=True)
class TextView:
    """Detector input built from words, with the character range of each word in it."""

    text: str
    spans: list[tuple[int, int, int]]  # (start, end, word index), in text order
    junctions: list[int]  # offsets where two lines were glued (wrapped views only)

    def words_in(self, start: int, end: int) -> list[int]:
        return [i for a, b, i in self.spans if a < end and start < b]


def group_lines(words: list[Word]) -> list[list[int]]:
    """Word indices grouped into text lines (top to bottom, then left to right).

    Words share a line when their vertical centres are within half a word height and the
    horizontal gap between them is under three line heights (farther apart is another pane)."""
    order = sorted(range(len(words)), key=lambda i: (words[i].bbox[0]))
    lines: list[list[int]] = []
    for i in order:
        b = words[i].bbox
        cy = b[1] + b[3] / 2
        for line in lines:
            last = words[line[-1]].bbox
            lcy = last[1] + last[3] / 2
            hgt = max(last[3], b[3])
            if abs(cy - lcy) <= hgt / 2 and b[0] - right(last) <= 3 * hgt:
                line.append(i)
                break
        else:
            lines.append([i])
    return sorted(lines, key=lambda ln: (min(words[i].bbox[1] for i in ln), words[ln[0]].bbox[0]))


def line_box(words: list[Word], line: list[int]) -> Box:
    box = words[line[0]].bbox
    for i in line[1:]:
        box = union(box, words[i].bbox)
    return box


def _append_line(parts: list[str], spans: list, pos: int, words: list[Word], line: list[int]) -> int:
    for k, i in enumerate(line):
        if k:
            # OCR splits a token where glyphs sit far apart; a gap under a quarter of the
            # height is not a typed space, so glue the pieces back together
            prev = words[line[k - 1]].bbox
            sep = "" if words[i].bbox[0] - right(prev) < words[i].bbox[3] / 4 else " "
            parts.append(sep)
            pos += len(sep)
        spans.append((pos, pos + len(words[i].text), i))
        parts.append(words[i].text)
        pos += len(words[i].text)
    return pos


def _view(words: list[Word], first: list[int], second: list[int] | None = None) -> TextView:
    parts: list[str] = []
    spans: list[tuple[int, int, int]] = []
    end = _append_line(parts, spans, 0, words, first)
    if second is None:
        return TextView("".join(parts), spans, [])
    _append_line(parts, spans, end, words, second)
    return TextView("".join(parts), spans, [end])


def line_views(words: list[Word], lines: list[list[int]]) -> list[TextView]:
    """One detector input per text line: lines that did not change between frames give the same
    text again, which the detector answers from its cache."""
    return [_view(words, line) for line in lines]


def next_line(words: list[Word], lines: list[list[int]], n: int) -> int | None:
    """The line right below line n in the same column (x ranges overlap), if any."""
    box = line_box(words, lines[n])
    best = None
    for m in range(n + 1, len(lines)):
        other = line_box(words, lines[m])
        if other[1] <= box[1] or other[1] - bottom(box) > box[3]:
            continue
        if other[0] < right(box) and box[0] < right(other) and (best is None or other[1] < best[0]):
            best = (other[1], m)
    return best[1] if best else None


def wrapped_views(words: list[Word], lines: list[list[int]]) -> list[TextView]:
    """Lines that may wrap into the line below, glued to it without a separator, so an entity
    wrapped across lines (terminal, editor, narrow column) reads as one token. A line that
    wraps reaches (within two line heights) the right margin of its neighbours; a short line
    such as a command above its output is not glued."""
    views = []
    above: dict[int, int] = {}
    for n in range(len(lines)):
        m = next_line(words, lines, n)
        if m is None:
            continue
        above[m] = n
        box, below = line_box(words, lines[n]), line_box(words, lines[m])
        margin = max(right(box), right(below))
        if n in above:
            margin = max(margin, right(line_box(words, lines[above[n]])))
        if right(box) >= margin - 2 * box[3]:
            views.append(_view(words, lines[n], lines[m]))
    return views


def boxes_for_span(words: list[Word], view: TextView, start: int, end: int) -> list[Box]:
    """Boxes covering a detector span: every word it touches (whole words: a partial word box
    estimated from character widths could leave an edge of the secret readable), merged per line
    so the gaps between the words of one entity are covered too."""
    idx = view.words_in(start, end)
    boxes: list[Box] = []
    for i in idx:
        b = words[i].bbox
        for k, other in enumerate(boxes):
            if abs((other[1] + other[3] / 2) - (b[1] + b[3] / 2)) <= max(other[3], b[3]) / 2:
                boxes[k] = union(other, b)
                break
        else:
            boxes.append(b)
    return boxes
