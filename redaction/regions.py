"""Pure geometry for screenshot redaction: what changed between frames, which pixels hold a text
line, how OCR words become detector text, and how detector spans map back to word boxes.

No OCR and no I/O here: frames come in as numpy arrays, words as `Word` values, so every rule
can be unit-tested on hand-made inputs.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from statistics import median

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


def inside(a: Box, b: Box) -> bool:
    return b[0] <= a[0] and b[1] <= a[1] and right(a) <= right(b) and bottom(a) <= bottom(b)


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


def grow_to_ink(box: Box, ink: np.ndarray, inset: int, limit: int) -> Box:
    """`box` widened left and right while ink goes on right past its edge: OCR's box stops short
    of a thin last glyph (the full stop of "S.A.") or a first one it misjudged. Only the rows
    inside the box (`inset` from its edges) count, so a neighbouring line's descenders do not;
    a gap of two clear columns (a space) must end it within `limit` px, or that side stays as it
    was: ink going on is the next word ("Where: 14 Elm St")."""
    x, y, w, h = box
    cols = np.asarray(ink[y + inset : y + h - inset].any(axis=0))
    if not cols.size:
        return box
    lo, hi = max(0, x - limit), min(len(cols), x + w + limit) - 1
    x0 = _extend(cols, x, -1, 2, lo)
    x1 = _extend(cols, x + w - 1, 1, 2, hi)
    x0 = x if x0 - 2 <= lo and x0 != x else x0  # reached the limit: not a glyph's edge
    x1 = x + w - 1 if x1 + 2 >= hi and x1 != x + w - 1 else x1
    return (x0, y, x1 + 1 - x0, h)


def changed_tiles(prev: np.ndarray, cur: np.ndarray, tile: int = TILE) -> np.ndarray:
    """Boolean grid (rows, cols): True where any pixel of the tile differs between two frames."""
    h, w = cur.shape[:2]
    diff = prev != cur
    if diff.ndim == 3:
        diff = diff.any(axis=2)
    rows, cols = -(-h // tile), -(-w // tile)
    padded = np.zeros((rows * tile, cols * tile), dtype=bool)
    padded[:h, :w] = diff
    return np.asarray(padded.reshape(rows, tile, cols, tile).any(axis=(1, 3)))


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


def changed_area(grid: np.ndarray, size: tuple[int, int], tile: int = TILE) -> Box:
    """One box around every changed tile."""
    rows, cols = np.nonzero(grid)
    return pad((int(cols.min()) * tile, int(rows.min()) * tile, (int(cols.max() - cols.min()) + 1) * tile,
                (int(rows.max() - rows.min()) + 1) * tile), 0, size)


def vertical_shift(prev: np.ndarray, cur: np.ndarray, box: Box) -> int:
    """How many rows the content of `box` scrolled up (negative: down) between two frames, or 0.
    Every row with some detail votes for the offset of an identical row in the previous frame;
    a scroll needs the votes of half of those rows."""
    x, y, w, h = box
    before, after = prev[y : y + h, x : x + w], cur[y : y + h, x : x + w]
    detailed = before.min(axis=1) != before.max(axis=1)
    index: dict[bytes, list[int]] = {}
    for r in np.flatnonzero(detailed):
        index.setdefault(before[r].tobytes(), []).append(int(r))
    votes: Counter[int] = Counter()
    rows = 0
    for r in np.flatnonzero(after.min(axis=1) != after.max(axis=1)):
        rows += 1
        for old in index.get(after[r].tobytes(), [])[:4]:  # repeated rows (rules, blank lines) vote a little
            votes[old - int(r)] += 1
    if not votes:
        return 0
    shift, n = votes.most_common(1)[0]
    return shift if shift and n * 2 >= rows else 0


def scrolled(prev: np.ndarray, box: Box, shift: int) -> np.ndarray:
    """The previous frame with the content of `box` moved by `shift` rows, as it would look now
    had nothing but the scroll happened (rows scrolled in keep their old pixels and so differ)."""
    x, y, w, h = box
    out = prev.copy()
    if shift > 0:
        out[y : y + h - shift, x : x + w] = prev[y + shift : y + h, x : x + w]
    else:
        out[y - shift : y + h, x : x + w] = prev[y : y + h + shift, x : x + w]
    return out


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
        cols = np.asarray(ink[y0:y1].any(axis=0))
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
    """Detector input built from words, with the character range of each word in it.

    A view with `junctions` exists only to find what the plain line view cannot: a finding from
    it counts only when it crosses a junction (and, with `tokens_only`, holds no whitespace)."""

    text: str
    spans: list[tuple[int, int, int]]  # (start, end, word index), in text order
    junctions: list[int] = field(default_factory=list)  # offsets where pieces were glued
    tokens_only: bool = False

    def words_in(self, start: int, end: int) -> list[tuple[int, int, int]]:
        return [s for s in self.spans if s[0] < end and start < s[1]]

    def counts(self, start: int, end: int) -> bool:
        if not self.junctions:
            return True
        if self.tokens_only and any(c.isspace() for c in self.text[start:end]):
            return False
        return any(start < j < end for j in self.junctions)


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


GLUE = 0.25  # without enough gaps to compare, a gap under this many line heights is no space
SPLIT_GAP = 0.7  # a gap under this share of the line's typical word gap is no typed space


def _append_line(parts: list[str], spans: list, pos: int, words: list[Word], line: list[int],
                 glue: float = 0.0, junctions: list[int] | None = None) -> int:
    """Append a line's words separated by spaces, or, with `junctions`, glued where OCR split a
    token: the gap is under `glue` px, or the pieces attach like "name @host" or "john. smith"
    (nobody types a space before an "@", or after a "." followed by a lowercase letter)."""
    column = column_gap(words, line)
    for k, i in enumerate(line):
        if k:
            left, word = words[line[k - 1]], words[i]
            gap = word.bbox[0] - right(left.bbox)
            attached = gap < max(left.bbox[3], word.bbox[3]) and (
                "@" in (left.text[-1], word.text[0])
                or (left.text.endswith(".") and (word.text[0].islower() or word.text[0].isdigit()))
            )
            if junctions is not None and (gap < glue or attached):
                junctions.append(pos)
            else:
                parts.append("\t" if gap > column else " ")
                pos += 1
        spans.append((pos, pos + len(words[i].text), i))
        parts.append(words[i].text)
        pos += len(words[i].text)
    return pos


COLUMN_GAP = 1.2  # line heights: a word gap is under one (a monospace space is about 0.9)


def column_gap(words: list[Word], line: list[int]) -> float:
    """Gap (px) over which two words of a line stand in different columns (table cells, a mail
    list's sender and subject): the line text gets a tab there, which names do not cross."""
    height = float(median([words[i].bbox[3] for i in line]))  # statistics: numpy costs 40 µs a call
    gaps = sorted(g for a, b in zip(line, line[1:]) if (g := words[b].bbox[0] - right(words[a].bbox)) > 0)
    if len(gaps) < 3:  # too few gaps to tell word gaps from column gaps: only a wide one parts
        return 1.5 * height
    return max(COLUMN_GAP * height, 2.5 * gaps[len(gaps) // 4])  # the narrower gaps are the word gaps


def glue_width(words: list[Word], line: list[int]) -> float:
    """Gap (px) under which two OCR words of a line are one token that OCR split. A typed space
    leaves about the same gap all along a line, whatever the font; a split inside a token ("john.
    smith", a monospace "." leaving air) leaves clearly less."""
    gaps = [words[b].bbox[0] - right(words[a].bbox) for a, b in zip(line, line[1:])]
    gaps = [g for g in gaps if g >= 0]
    if len(gaps) < 3:
        return GLUE * max(words[i].bbox[3] for i in line)
    return SPLIT_GAP * float(median(gaps))


def _view(words: list[Word], line: list[int]) -> TextView:
    parts: list[str] = []
    spans: list[tuple[int, int, int]] = []
    _append_line(parts, spans, 0, words, line)
    return TextView("".join(parts), spans)


def line_views(words: list[Word], lines: list[list[int]]) -> list[TextView]:
    """One detector input per text line, words as OCR separated them. Lines that did not change
    between frames give the same text again, which the detector answers from its cache."""
    return [_view(words, line) for line in lines]


def token_views(words: list[Word], lines: list[list[int]]) -> list[TextView]:
    """Lines read again with OCR's token splits glued ("john. smith@example. com", "ghp_abc def").
    Only whole tokens crossing a glue point count from these views."""
    views = []
    for line in lines:
        parts: list[str] = []
        spans: list[tuple[int, int, int]] = []
        junctions: list[int] = []
        _append_line(parts, spans, 0, words, line, glue_width(words, line), junctions)
        if junctions:
            views.append(TextView("".join(parts), spans, junctions, tokens_only=True))
    return views


def next_line(boxes: list[Box], n: int) -> int | None:
    """Where line n (of these line boxes) would continue if it wrapped: in the row right below,
    the line starting farthest right but still left of where line n ends (the start of n's
    column). A line wholly left of n continues it only below text of n's row (a terminal row
    whose far fragment is a line of its own), not in another pane (a mail list's times)."""
    box = boxes[n]
    best = None
    for m in range(n + 1, len(boxes)):
        other = boxes[m]
        if other[1] <= box[1] + box[3] / 2 or other[1] - bottom(box) > box[3] or other[0] >= right(box):
            continue
        if right(other) <= box[0] and not any(
                k not in (n, m) and abs(b[1] + b[3] / 2 - (box[1] + box[3] / 2)) <= box[3] / 2
                and b[0] < right(other) and other[0] < right(b) for k, b in enumerate(boxes)):
            continue
        key = (other[1] // max(1, box[3]), -other[0])  # nearest row first, then rightmost start
        if best is None or key < best[0]:
            best = (key, m)
    return best[1] if best else None


_SENTENCE_END = re.compile(r"[^\W\d_][.!?,;:]$")
_SENTENCE_START = re.compile(r"[A-Z][a-z]")
WRAP_WINDOW = 10  # lines above and below that set a column's right margin
WORD_WRAP = 8  # line heights short of the margin a line may end and still be word-wrapped (the next word did not fit)


def wrapped_views(words: list[Word], lines: list[list[int]]) -> list[TextView]:
    """Lines that wrap into the line below, glued to it without a separator, so an entity
    wrapped across lines (terminal, editor, long URL) reads as one token (a wrapped card
    number keeps its spaces: findings here may hold whitespace). Only character wrap
    splits a token, and a character-wrapped line ends at its column's right margin: within
    about a character of the farthest-reaching nearby line of the same column."""
    boxes = [line_box(words, line) for line in lines]
    views = []
    for n, box in enumerate(boxes):
        m = next_line(boxes, n)
        if m is None:
            continue
        margin = max(
            right(other)
            for other in boxes[max(0, n - WRAP_WINDOW) : n + WRAP_WINDOW + 1]
            if other[0] < right(box) and box[0] < right(other) and abs(other[1] - box[1]) <= WRAP_WINDOW * 2 * box[3]
        )
        if right(box) < margin - WORD_WRAP * box[3]:
            continue
        # a line at the margin may be cut inside a token (glued) or at a space (joined with one:
        # "…, 94088556 Barbosa da" / "Praia."); a line short of it, or one whose sentence ends
        # where the next begins ("continue." / "Please"), only at a space
        last, first = words[lines[n][-1]].text, words[lines[m][0]].text
        sentence = bool(_SENTENCE_END.search(last) and _SENTENCE_START.match(first))
        at_margin = right(box) >= margin - 0.75 * box[3] and not sentence
        for glued in (True, False) if at_margin else (False,):
            # glue OCR's token splits too: a wrapped value is often also split within a line
            parts: list[str] = []
            spans: list[tuple[int, int, int]] = []
            junctions: list[int] = []
            end = _append_line(parts, spans, 0, words, lines[n], glue_width(words, lines[n]), junctions)
            if not glued:
                parts.append(" ")
                end += 1
            junctions.append(end)
            _append_line(parts, spans, end, words, lines[m], glue_width(words, lines[m]), junctions)
            views.append(TextView("".join(parts), spans, junctions))
    return views


def boxes_for_span(words: list[Word], view: TextView, start: int, end: int, cut: bool = True) -> list[Box]:
    """Boxes covering a detector span, merged per line so the gaps between the words of one
    entity are covered too. A word the span covers only in part ("jroe@laptop:~$") is cut at the
    estimated character position, with a margin of 1.5 characters towards the part that stays:
    glyph widths vary, and too much black is better than an edge of the value. With `cut`
    False, partly covered words are filled whole."""
    boxes: list[Box] = []
    for a, b, i in view.words_in(start, end):
        x, y, w, h = words[i].bbox
        per_char = w / max(1, b - a)
        x0 = x if start <= a or not cut else max(x, int(x + (start - a - 1.5) * per_char))
        x1 = x + w if end >= b or not cut else min(x + w, int(x + (end - a + 1.5) * per_char + 1))
        box = (x0, y, x1 - x0, h)
        for k, other in enumerate(boxes):
            if abs((other[1] + other[3] / 2) - (y + h / 2)) <= max(other[3], h) / 2:
                boxes[k] = union(other, box)
                break
        else:
            boxes.append(box)
    return boxes
