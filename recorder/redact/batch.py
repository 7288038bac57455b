"""`owntrace redact-image` over many files and folders in one run: the detectors and the OCR
load once. Every input is checked before the first image is redacted; an output never
overwrites an input, and two inputs never write the same output."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from recorder.errors import OwnTraceError
from recorder.keys import UnlockedIdentity
from recorder.redact.session import open_image, redact_image_file, user_detector

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


@dataclass(frozen=True)
class Job:
    src: Path
    dst: Path


def plan(inputs: Sequence[Path], out: Path) -> list[Job]:
    """One job per image: a single file goes to `out`; several files, or a folder (its PNG and
    JPEG files, not recursive), go into the folder `out` as NAME.png."""
    files: list[Path] = []
    for p in inputs:
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                raise OwnTraceError(f"{p} holds no PNG or JPEG file", "give image files or a folder of them")
            files += found
        elif p.exists():
            files.append(p)
        else:
            raise OwnTraceError(f"{p} does not exist")
    for f in files:  # every input readable before the (slow to build) detector is made
        open_image(f).close()
    if len(inputs) == 1 and not inputs[0].is_dir():
        return [Job(files[0], out)]
    if out.exists() and not out.is_dir():
        raise OwnTraceError(f"{out} is a file, but {len(files)} images need a folder", "give a folder with -o")
    jobs = [Job(f, out / f"{f.stem}.png") for f in files]
    seen: dict[Path, Path] = {}
    for j in jobs:
        if j.dst in seen:
            raise OwnTraceError(f"{seen[j.dst]} and {j.src} would both be written to {j.dst}",
                                "rename one, or redact them in two runs")
        seen[j.dst] = j.src
        if j.dst.resolve() == j.src.resolve():
            raise OwnTraceError(f"the output {j.dst} would overwrite its input", "choose another folder with -o")
    return jobs


def run(jobs: Sequence[Job], root: Path, progress: Callable[[int, int], None] | None = None,
        user: UnlockedIdentity | None = None) -> list[dict[str, Any]]:
    """Redact every job with one detector (with the deny list `user` unlocks); one record per
    image (for --json and the summary)."""
    if len(jobs) > 1:
        jobs[0].dst.parent.mkdir(parents=True, exist_ok=True)
    detector = user_detector(root, user)
    records = []
    for k, job in enumerate(jobs):
        result = redact_image_file(job.src, job.dst, root, detector)
        records.append({
            "input": str(job.src), "output": str(job.dst),
            "findings": [{"entity": f.entity, "score": round(f.score, 3), "detector": f.detector, "bbox": list(f.bbox)}
                         for f in result.findings],
            "flagged": [{"bbox": list(b), "reason": why} for b, why in result.flagged],
        })
        if progress:
            progress(k + 1, len(jobs))
    return records
