"""Frames as lossless WebP (PNG as the benchmark's baseline): keyframes and delta frames exact by
construction, composed back by the store, deltas far smaller than keyframes; real screens too."""

from __future__ import annotations

import io
import time

import numpy as np
import pytest
from PIL import Image

from recorder.errors import CorruptFile
from recorder.store import frames
from recorder.store import session as store


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


def _changes(key_frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    changed = key_frame.copy()
    changed[100:130, 200:290] = 0xFF123456  # a small change inside two tile rows
    changed[299, 499] = 0xFF00FF00  # and a corner pixel on a partial tile
    later = key_frame.copy()
    later[10:20, 10:20] = 0xFFABCDEF
    return changed, later


@pytest.mark.parametrize("colors", [2**24, 200, 0], ids=["truecolor", "palette", "grey"])
def test_delta_composes_to_the_exact_frame_through_the_store(home, user, colors: int) -> None:
    key_frame = _screen(colors=colors)
    changed, later = _changes(key_frame)
    w = store.SessionWriter.create(home)
    n1 = w.add_frame(frames.encode_full(key_frame))
    tiles = frames.changed_tiles(changed, key_frame)
    assert 0 < tiles.sum() < tiles.size / 4
    n2 = w.add_frame(frames.encode_delta(frames.make_delta(changed, key_frame, n1, tiles)))
    n3 = w.add_frame(frames.encode_delta(frames.make_delta(later, key_frame, n1, frames.changed_tiles(later, key_frame))))
    w.close()
    s = store.resolve(home)
    k = s.key(user)
    assert s.frame_rel(n2) == f"frames/{n2:06d}.webp.age"
    assert np.array_equal(np.asarray(s.frame_image(k, n2)), _rgb(changed))
    assert np.array_equal(np.asarray(s.frame_image(k, n3)), _rgb(later))
    assert np.array_equal(np.asarray(s.frame_image(k, n1)), _rgb(key_frame))
    assert len(s.frame_bytes(k, n2)) < len(s.frame_bytes(k, n1)) / 4


@pytest.mark.parametrize("colors", [2**24, 200, 0], ids=["truecolor", "palette", "grey"])
def test_png_baseline_of_the_frame_benchmark_is_exact(colors: int) -> None:
    """PNG is no stored format, only bench/frame_format_bench.py's baseline: exact in memory."""
    key_frame = _screen(colors=colors)
    changed, _ = _changes(key_frame)
    full = frames.encode_full(key_frame, "png")
    delta = frames.encode_delta(frames.make_delta(changed, key_frame, 1, frames.changed_tiles(changed, key_frame)), "png")
    with Image.open(io.BytesIO(full)) as base, Image.open(io.BytesIO(delta)) as d:
        assert base.format == d.format == "PNG" and frames.delta_base(base) is None and frames.delta_base(d) == 1
        assert np.array_equal(np.asarray(base.convert("RGB")), _rgb(key_frame))
        assert np.array_equal(np.asarray(frames.compose(base.convert("RGB"), d)), _rgb(changed))
    assert len(delta) < len(full) / 4


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
    blob = s.path / s.frame_rel(n1)
    blob.write_bytes(blob.read_bytes()[:-40])
    with pytest.raises(CorruptFile, match=f"frame {n2} is a delta on keyframe {n1}, which is damaged"):
        s.frame_image(k, n2)


def test_changed_tiles_covers_partial_edge_tiles() -> None:
    a = np.zeros((70, 70), np.uint32)
    b = a.copy()
    b[69, 69] = 1
    tiles = frames.changed_tiles(a, b)
    assert tiles.shape == (3, 3) and tiles.sum() == 1 and tiles[2, 2]


@pytest.mark.x11
def test_real_screens_round_trip_exactly(xenv) -> None:
    """Grabs of a real desktop (thousands of colours), a delta of grey terminal text and a delta
    of coloured terminal cells (a palette picture) decode back to exactly the grabbed pixels."""
    from PIL import Image

    from recorder.capture.x11.frames import open_mss
    from tests.support import xhelpers as xh

    def grab(sct) -> np.ndarray:
        time.sleep(0.5)  # xterm has drawn what it was sent
        shot = sct.grab(sct.monitors[0])
        return np.frombuffer(shot.raw, np.uint32).reshape(shot.height, shot.width).copy()

    def decoded(data: bytes, base: np.ndarray | None = None) -> np.ndarray:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            if frames.delta_base(im) is None:
                return np.asarray(im.convert("RGB"))
            return np.asarray(frames.compose(Image.fromarray(_rgb(base)), im))

    with xh.xterm("OwnTrace Frames", xenv, geometry="70x20+30+30"), open_mss() as sct:
        screens = [grab(sct)]
        xh.type_text("printf '\\033[41m    \\033[42m    \\033[44m    \\033[0m\\n'", xenv)  # grey text
        screens.append(grab(sct))
        xh.key("Return", xenv)  # flat red, green and blue cells
        screens.append(grab(sct))
    grey, colour = (frames.make_delta(b, a, 1, frames.changed_tiles(b, a)) for a, b in zip(screens, screens[1:]))
    stored = [np.where(d.mask, d.pixels, 0).astype(np.uint32) for d in (grey, colour)]
    assert [frames._gray(p, d.mask) is not None for p, d in zip(stored, (grey, colour))] == [True, False]
    assert frames._image(stored[1]).getcolors(255) is not None  # few colours: stored as a palette PNG
    assert frames._image(screens[0]).getcolors(255) is None  # the desktop: true colour
    for fmt in ("webp", "png"):
        assert np.array_equal(decoded(frames.encode_full(screens[0], fmt)), _rgb(screens[0]))
        for base, delta, want in ((screens[0], grey, screens[1]), (screens[1], colour, screens[2])):
            assert np.array_equal(decoded(frames.encode_delta(delta, fmt), base), _rgb(want))
