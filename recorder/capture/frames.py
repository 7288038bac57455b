"""Frame encoding: full PNGs (keyframes) and delta PNGs, exact by construction.

A delta frame is an RGBA PNG covering the bounding box of the tiles that differ from its base
keyframe; changed tiles are opaque copies of the new pixels, unchanged ones fully transparent
(and zero, so they compress to almost nothing). Its tEXt chunks name the base frame and where
the box sits; composing it on the base gives back the captured picture exactly.
Screens are handled as (H, W) uint32 arrays of BGRX pixels as X delivers them.
Pure: arrays in, PNG bytes out (in memory only).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, PngImagePlugin

TILE = 32
BASE_KEY = "owntrace-base"
ORIGIN_KEY = "owntrace-origin"
PNG_LEVEL = 6  # zlib level: see bench/capture.md for the size/CPU trade-off


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


def _png(im: Image.Image, info: PngImagePlugin.PngInfo | None = None) -> bytes:
    out = io.BytesIO()
    im.save(out, "PNG", compress_level=PNG_LEVEL, pnginfo=info)
    return out.getvalue()


def encode_full(bgrx: np.ndarray) -> bytes:
    return _png(Image.fromarray(np.ascontiguousarray(to_rgb(bgrx)), "RGB"))


@dataclass(frozen=True)
class Delta:
    """The changed tiles of a frame against its base, cut to their bounding box."""

    base: int
    x: int
    y: int
    pixels: np.ndarray  # (h, w) uint32 BGRX, a copy
    mask: np.ndarray  # (h, w) bool: True where the pixel belongs to a changed tile


def make_delta(frame: np.ndarray, base_frame: np.ndarray, base: int, tiles: np.ndarray) -> Delta:
    rows, cols = np.nonzero(tiles)
    y0, y1 = rows.min() * TILE, (rows.max() + 1) * TILE
    x0, x1 = cols.min() * TILE, (cols.max() + 1) * TILE
    h, w = frame.shape
    y1, x1 = min(y1, h), min(x1, w)
    sub = tiles[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    mask = np.repeat(np.repeat(sub, TILE, axis=0), TILE, axis=1)[: y1 - y0, : x1 - x0]
    return Delta(base, int(x0), int(y0), frame[y0:y1, x0:x1].copy(), mask)


def encode_delta(d: Delta) -> bytes:
    rgba = np.zeros((*d.pixels.shape, 4), np.uint8)
    rgba[..., :3] = to_rgb(d.pixels)
    rgba[..., 3] = 255
    rgba[~d.mask] = 0
    info = PngImagePlugin.PngInfo()
    info.add_text(BASE_KEY, str(d.base))
    info.add_text(ORIGIN_KEY, f"{d.x},{d.y}")
    return _png(Image.fromarray(rgba, "RGBA"), info)


def delta_base(im: Image.Image) -> int | None:
    """The base frame a decoded PNG is a delta against, or None for a full frame."""
    value = im.info.get(BASE_KEY)
    return int(value) if value is not None else None


def compose(base: Image.Image, delta: Image.Image) -> Image.Image:
    """The full RGB picture: the delta's opaque tiles pasted on its base."""
    x, y = (int(v) for v in str(delta.info[ORIGIN_KEY]).split(","))
    out = base.copy()
    rgba = delta.convert("RGBA")
    out.paste(rgba.convert("RGB"), (x, y), rgba.getchannel("A"))
    return out
