"""Frame encoding: full pictures (keyframes) and delta pictures, lossless WebP (what sessions
store) or PNG (the baseline in bench/frame_format_bench.py), exact by construction.

A delta frame is a picture with alpha covering the bounding box of the tiles that differ from
its base keyframe; changed tiles are opaque copies of the new pixels, unchanged ones fully
transparent (and zero, so they compress to almost nothing). Its header names the base frame and
where the box sits (PNG: tEXt chunks; WebP: the EXIF ImageDescription); composing it on the base
gives back the captured picture exactly. As PNG, all-grey pictures are stored as 8-bit grey and
pictures with at most 255 colours as palette PNGs (WebP finds both on its own).
Screens are handled as (H, W) uint32 arrays of BGRX pixels as X delivers them.
Pure: arrays in, encoded bytes out (in memory only).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import cast

import numpy as np
from PIL import Image, PngImagePlugin

TILE = 32
BASE_KEY = "owntrace-base"
ORIGIN_KEY = "owntrace-origin"
PNG_LEVEL = 6  # zlib level: see BENCHMARKS.md (Recorder) for the size/CPU trade-off
FRAME_FORMAT = "webp"  # what the recorder writes; see BENCHMARKS.md (Recorder) for the measurement
# lossless WebP effort (method, quality): the fastest method with the searching quality that makes
# deltas 4x smaller than PNG at less CPU. Keyframes would shrink 7x more at method >= 1, but libwebp
# then needs ~47 MB instead of ~28 MB to encode a 1920x1080 screen: over the 150 MB RSS target.
# See BENCHMARKS.md (Recorder).
WEBP_EFFORT = (0, 50)
EXIF_DESCRIPTION = 0x010E


def changed_tiles(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Boolean (rows, cols) mask of TILE x TILE tiles where a and b differ."""
    diff = a != b
    h, w = diff.shape
    rows, cols = -(-h // TILE), -(-w // TILE)
    if h % TILE or w % TILE:
        padded = np.zeros((rows * TILE, cols * TILE), bool)
        padded[:h, :w] = diff
        diff = padded
    return diff.reshape(rows, TILE, cols, TILE).any(axis=(1, 3))


def to_rgb(bgrx: np.ndarray) -> np.ndarray:
    return bgrx.view(np.uint8).reshape(*bgrx.shape, 4)[..., 2::-1]


def _image(bgrx: np.ndarray) -> Image.Image:
    h, w = bgrx.shape
    return Image.frombuffer("RGB", (w, h), np.ascontiguousarray(bgrx), "raw", "BGRX", 0, 1)


def _is_gray(bgrx: np.ndarray) -> np.ndarray:
    return (bgrx & 0xFFFFFF) == (bgrx & 0xFF) * 0x010101


_LUT: np.ndarray | None = None  # 0xRRGGBB -> palette index; 16 MB virtual, only touched pages resident


def _indexed(im: Image.Image, bgrx: np.ndarray, mask: np.ndarray | None) -> Image.Image | None:
    """The same picture as an exact palette image when it has few enough colours (text, UI
    chrome): a third of the bytes to compress and far smaller files. None when it has more."""
    global _LUT
    colors = im.getcolors(255)
    if colors is None:
        return None
    if _LUT is None:
        _LUT = np.zeros(1 << 24, np.uint8)
    rgb = [cast(tuple[int, int, int], c) for _n, c in colors]  # an RGB picture's colours
    keys = np.array([(r << 16) | (g << 8) | b for r, g, b in rgb], np.uint32)
    _LUT[keys] = np.arange(len(keys), dtype=np.uint8)
    idx = _LUT[bgrx & 0xFFFFFF]
    palette = [v for c in rgb for v in c]
    out_info = {}
    if mask is not None:
        idx[~mask] = len(keys)  # one extra entry, fully transparent
        palette += [0, 0, 0]
        out_info["transparency"] = len(keys)
    p = Image.fromarray(idx, "P")
    p.putpalette(palette)
    p.info.update(out_info)
    return p


def _gray(bgrx: np.ndarray, mask: np.ndarray | None) -> Image.Image | None:
    """The picture as exact 8-bit grey (with alpha for a delta) when every pixel is grey:
    antialiased text on a plain terminal has a few hundred greys and nothing else."""
    if not _is_gray(bgrx[::16, ::16]).all() or not _is_gray(bgrx).all():  # a colour screen fails fast
        return None
    gray = Image.fromarray((bgrx & 0xFF).astype(np.uint8), "L")
    if mask is None:
        return gray
    return Image.merge("LA", (gray, Image.fromarray(mask.astype(np.uint8) * 255, "L")))


def _png(im: Image.Image, header: tuple[int, int, int] | None = None) -> bytes:
    info = None
    if header is not None:
        info = PngImagePlugin.PngInfo()
        info.add_text(BASE_KEY, str(header[0]))
        info.add_text(ORIGIN_KEY, f"{header[1]},{header[2]}")
    out = io.BytesIO()
    extra = {"transparency": im.info["transparency"]} if "transparency" in im.info else {}
    im.save(out, "PNG", compress_level=PNG_LEVEL, pnginfo=info, **extra)
    return out.getvalue()


def _webp(im: Image.Image, header: tuple[int, int, int] | None = None) -> bytes:
    exif = Image.Exif()
    if header is not None:
        exif[EXIF_DESCRIPTION] = f"{BASE_KEY}={header[0]} {ORIGIN_KEY}={header[1]},{header[2]}"
    out = io.BytesIO()
    im.save(out, "WEBP", lossless=True, method=WEBP_EFFORT[0], quality=WEBP_EFFORT[1], exif=exif.tobytes())
    return out.getvalue()


def encode_full(bgrx: np.ndarray, fmt: str = FRAME_FORMAT) -> bytes:
    if fmt == "webp":
        return _webp(_image(bgrx))
    gray = _gray(bgrx, None)
    if gray is not None:
        return _png(gray)
    im = _image(bgrx)
    return _png(_indexed(im, bgrx, None) or im)


@dataclass(frozen=True)
class Delta:
    """The changed tiles of a frame against its base, cut to their bounding box."""

    base: int
    x: int
    y: int
    pixels: np.ndarray  # (h, w) uint32 BGRX, a copy
    mask: np.ndarray  # (h, w) bool: True where the pixel is taken from this frame, not the base


def make_delta(frame: np.ndarray, base_frame: np.ndarray, base: int, tiles: np.ndarray) -> Delta:
    rows, cols = np.nonzero(tiles)
    y0, y1 = rows.min() * TILE, (rows.max() + 1) * TILE
    x0, x1 = cols.min() * TILE, (cols.max() + 1) * TILE
    h, w = frame.shape
    y1, x1 = min(y1, h), min(x1, w)
    sub = tiles[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    mask = np.repeat(np.repeat(sub, TILE, axis=0), TILE, axis=1)[: y1 - y0, : x1 - x0]
    pixels = frame[y0:y1, x0:x1]
    # coloured pixels that did not change (a window border in a tile of changed grey text) are
    # left to the base, so the tile can still be stored as grey
    mask &= ~((pixels == base_frame[y0:y1, x0:x1]) & ~_is_gray(pixels))
    return Delta(base, int(x0), int(y0), pixels.copy(), mask)


def _rgba(pixels: np.ndarray, mask: np.ndarray) -> Image.Image:
    out = _image(pixels).convert("RGBA")
    out.putalpha(Image.fromarray(mask.astype(np.uint8) * 255, "L"))
    return out


def encode_delta(d: Delta, fmt: str = FRAME_FORMAT) -> bytes:
    pixels = np.where(d.mask, d.pixels, 0).astype(np.uint32)  # unchanged tiles: zero, compress to nothing
    header = (d.base, d.x, d.y)
    if fmt == "webp":
        return _webp(_rgba(pixels, d.mask), header)
    out = _gray(pixels, d.mask)
    if out is None:
        out = _indexed(_image(pixels), pixels, d.mask) or _rgba(pixels, d.mask)
    return _png(out, header)


def _header(im: Image.Image) -> tuple[int, int, int] | None:
    """(base, x, y) of a decoded delta frame, or None for a full frame."""
    if im.format == "WEBP":
        fields = dict(f.split("=", 1) for f in str(im.getexif().get(EXIF_DESCRIPTION, "")).split() if "=" in f)
        base, origin = fields.get(BASE_KEY), fields.get(ORIGIN_KEY)
    else:
        base, origin = im.info.get(BASE_KEY), im.info.get(ORIGIN_KEY)
    if base is None:
        return None
    x, y = (int(v) for v in str(origin).split(","))
    return int(base), x, y


def delta_base(im: Image.Image) -> int | None:
    """The base frame a decoded frame is a delta against, or None for a full frame."""
    header = _header(im)
    return header[0] if header else None


def compose(base: Image.Image, delta: Image.Image) -> Image.Image:
    """The full RGB picture: the delta's opaque tiles pasted on its base."""
    header = _header(delta)
    if header is None:
        raise ValueError("not a delta frame")
    _base, x, y = header
    out = base.copy()
    rgba = delta.convert("RGBA")
    out.paste(rgba.convert("RGB"), (x, y), rgba.getchannel("A"))
    return out
