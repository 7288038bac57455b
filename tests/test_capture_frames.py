"""Delta frames: exact by construction, composed back by the store, smaller than full PNGs."""

from __future__ import annotations

import numpy as np
import pytest

from recorder import store
from recorder.capture import frames
from recorder.errors import CorruptFile


def _screen(seed: int = 1, h: int = 300, w: int = 500, colors: int = 2**24) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = np.full((h, w), 0xFFF0F0F0, np.uint32)
    palette = rng.integers(0, 2**24, colors, dtype=np.uint32) if colors < 2**24 else None
    if colors == 0:  # greys only, more of them than a palette holds
        palette = np.arange(256, dtype=np.uint32) * 0x010101
    busy = rng.integers(0, 2**24, (220, 440), dtype=np.uint32) if palette is None else rng.choice(palette, (220, 440))
    img[40:260, 30:470] = busy | 0xFF000000
    return img


def _rgb(bgrx: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(frames.to_rgb(bgrx))


@pytest.mark.parametrize("colors", [2**24, 200, 0], ids=["truecolor", "palette", "grey"])
def test_delta_composes_to_the_exact_frame_through_the_store(home, user, colors: int) -> None:
    key_frame = _screen(colors=colors)
    changed = key_frame.copy()
    changed[100:130, 200:290] = 0xFF123456  # a small change inside two tile rows
    changed[299, 499] = 0xFF00FF00  # and a corner pixel on a partial tile
    later = key_frame.copy()
    later[10:20, 10:20] = 0xFFABCDEF

    w = store.SessionWriter.create(home)
    n1 = w.add_frame(frames.encode_full(key_frame))
    tiles = frames.changed_tiles(changed, key_frame)
    assert 0 < tiles.sum() < tiles.size / 4
    n2 = w.add_frame(frames.encode_delta(frames.make_delta(changed, key_frame, n1, tiles)))
    n3 = w.add_frame(frames.encode_delta(frames.make_delta(later, key_frame, n1, frames.changed_tiles(later, key_frame))))
    w.close()
    s = store.resolve(home)
    k = s.key(user)
    assert np.array_equal(np.asarray(s.frame_image(k, n2)), _rgb(changed))
    assert np.array_equal(np.asarray(s.frame_image(k, n3)), _rgb(later))
    assert np.array_equal(np.asarray(s.frame_image(k, n1)), _rgb(key_frame))
    assert len(s.frame_png(k, n2)) < len(s.frame_png(k, n1)) / 4


def test_a_delta_whose_base_is_damaged_is_reported(home, user) -> None:
    base = _screen()
    changed = base.copy()
    changed[0:5, 0:5] = 0
    w = store.SessionWriter.create(home)
    n1 = w.add_frame(frames.encode_full(base))
    n2 = w.add_frame(frames.encode_delta(frames.make_delta(changed, base, n1, frames.changed_tiles(changed, base))))
    bad = w.add_frame(frames.encode_delta(frames.make_delta(changed, base, 99, frames.changed_tiles(changed, base))))
    w.close()
    s = store.resolve(home)
    k = s.key(user)
    with pytest.raises(CorruptFile, match=f"frame {bad}"):
        s.frame_image(k, bad)
    blob = s.path / "frames" / f"{n1:06d}.png.age"
    blob.write_bytes(blob.read_bytes()[:-40])
    with pytest.raises(CorruptFile, match="000001.png.age"):
        s.frame_image(k, n2)


def test_changed_tiles_covers_partial_edge_tiles() -> None:
    a = np.zeros((70, 70), np.uint32)
    b = a.copy()
    b[69, 69] = 1
    tiles = frames.changed_tiles(a, b)
    assert tiles.shape == (3, 3) and tiles.sum() == 1 and tiles[2, 2]
