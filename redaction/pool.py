"""A session's frames redacted on several cores.

The frames are cut into contiguous runs, one per worker process, so each worker still OCRs
only what changed from its previous frame. Workers are forked after the detector is built:
they share its loaded models instead of loading their own, and they read the frames through
the caller's `load` (decrypting in memory, as the caller does). What comes back through the
pipe is the redacted PNG, the findings, the OCR words and the names the worker learned; nothing
touches the disk.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import queue as queue_module
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

from PIL import Image

from .detect import SessionDetector
from .image import FrameRedactor, ImageResult, RedactionFailed

MIN_FRAMES_PER_WORKER = 8  # fewer frames do not pay for a fork and a full first-frame OCR


@dataclass
class FrameOutcome:
    n: int
    result: ImageResult | None  # without pixels; None when the frame failed
    png: bytes = b""
    error: str = ""
    known: int = 0  # the worker's names.size when it started on this frame


def workers_for(frames: int) -> int:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cores, frames // MIN_FRAMES_PER_WORKER))


def _png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def _run(numbers: Sequence[int], load: Callable[[int], Image.Image], redactor: FrameRedactor) -> Iterator[FrameOutcome]:
    assert isinstance(redactor.detector, SessionDetector)  # the names learned are per session
    names = redactor.detector.names
    for n in numbers:
        try:
            known = names.size  # before: a name learned on this frame may be shown on it elsewhere too
            result = redactor.redact(load(n))
            # the pixels travel once, as PNG bytes; the result crosses the process boundary without them
            yield FrameOutcome(n, replace(result, image=None), _png(result.image), known=known)  # type: ignore[arg-type]
        except Exception as e:  # fail closed: the caller withholds this frame
            yield FrameOutcome(n, None, error=str(e) or type(e).__name__)


def _worker(index, numbers, load, detector, queue) -> None:
    try:
        for outcome in _run(numbers, load, FrameRedactor(detector)):
            queue.put(outcome)
    except RedactionFailed as e:  # OCR could not start: every frame of this run fails
        for n in numbers:
            queue.put(FrameOutcome(n, None, error=str(e)))
    except BaseException:  # noqa: BLE001 - reported as the failure of this run's frames
        error = traceback.format_exc(limit=1).strip().splitlines()[-1]
        for n in numbers:
            queue.put(FrameOutcome(n, None, error=error))
    finally:
        queue.put((index, dict(detector.names.terms), dict(detector.names.parts)))


def redact_frames(numbers: Sequence[int], load: Callable[[int], Image.Image], detector,
                  workers: int | None = None) -> Iterator[FrameOutcome]:
    """Outcomes of every frame (in no fixed order when `workers` > 1). `detector` is a
    SessionDetector; the names the workers learned are merged into its `names` by the end."""
    workers = workers or workers_for(len(numbers))
    if workers == 1:
        yield from _run(numbers, load, FrameRedactor(detector))
        return
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue(maxsize=64)
    size = -(-len(numbers) // workers)
    chunks = [list(numbers[i:i + size]) for i in range(0, len(numbers), size)]
    procs = [ctx.Process(target=_worker, args=(k, chunk, load, detector, queue), daemon=True)
             for k, chunk in enumerate(chunks)]
    for p in procs:
        p.start()
    received: set[int] = set()
    finished: set[int] = set()
    try:
        while len(finished) < len(procs):
            try:
                item = queue.get(timeout=2)
            except queue_module.Empty:
                for k, p in enumerate(procs):
                    if k not in finished and not p.is_alive() and queue.empty():
                        # a worker that died without a word: its frames fail (closed), the rest go on
                        finished.add(k)
                        for n in chunks[k]:
                            if n not in received:
                                yield FrameOutcome(n, None, error=f"redaction worker died (exit {p.exitcode})")
                continue
            if isinstance(item, FrameOutcome):
                received.add(item.n)
                yield item
            else:
                finished.add(item[0])
                detector.names.merge(item[1], item[2])
    finally:
        for p in procs:
            p.join(5)
            if p.is_alive():
                p.kill()
