"""Exactly what leaves the machine: the bundle plan computed from the redacted view and the
review decisions: the steps kept, their text, and each frame rendered from the redacted frame,
the person's extra boxes and any redaction they undid. Approval records the SHA-256 of every
item of the plan; export recomputes it and refuses if one byte differs.
"""

from __future__ import annotations

import io
import json
import struct
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from PIL import Image, ImageDraw

from recorder import __version__
from recorder.errors import CorruptFile, NotFound
from recorder.hashing import sha256
from recorder.redact.view import RedactedView, frame_rel
from recorder.review.decisions import Approval, Decisions
from recorder.steps import Step, pyautogui_call
from recorder.store.records import Event

SCHEMA_VERSION = 1
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_KEEP = {b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND"}  # pixels only: no text, time or ICC chunks


def png_pixels_only(data: bytes, what: str) -> tuple[bytes, int, int]:
    """The PNG with ancillary chunks dropped, and its width and height."""
    if not data.startswith(PNG_SIGNATURE):
        raise CorruptFile(f"{what} is not a PNG")
    out, pos = [PNG_SIGNATURE], len(PNG_SIGNATURE)
    w = h = 0
    while pos + 12 <= len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        end = pos + 12 + length
        if end > len(data):
            break
        if kind == b"IHDR":
            w, h = struct.unpack(">II", data[pos + 8:pos + 16])
        if kind in PNG_KEEP:
            out.append(data[pos:end])
        pos = end
        if kind == b"IEND":
            return b"".join(out), w, h
    raise CorruptFile(f"{what} is a truncated PNG")


@dataclass
class FrameInfo:
    path: str
    sha256: str
    w: int
    h: int


class BundlePlan:
    """Exactly what leaves: episode.json, steps.jsonl and frames/NNNNNN.png, computed from the
    redacted view and the decisions. Frames are rendered one at a time (`frame_items`)."""

    def __init__(self, view: RedactedView, decisions: Decisions) -> None:
        self.view = view
        self.decisions = decisions
        self.undone = set(decisions.undone)
        derived = self._derive_with_undone() if self._undone_of("typed", "title") else view.steps
        self.steps = [s for s in derived if not decisions.removes(s)]
        self.removed = len(derived) - len(self.steps)
        self.frames = sorted({s.frame for s in self.steps if s.frame is not None
                              and view.session.has(frame_rel(s.frame))})
        self.frame_info: dict[int, FrameInfo] = {}

    def _undone_of(self, *sources: str) -> list[dict[str, Any]]:
        return [self.view.findings[i] for i in sorted(self.undone) if self.view.findings[i].get("source") in sources]

    def _derive_with_undone(self) -> list[Step]:
        """Steps with undone title findings restored in titles and undone typed findings' key
        events taken from the raw journal for the text (the steps themselves stay the same)."""
        raw = self.view.raw_events()
        events = list(self.view.events)
        if len(raw) != len(events):
            raise CorruptFile(f"session {self.view.session.id}: raw and redacted journals differ in length",
                              "run `owntrace redact` again")
        for f in self._undone_of("title"):
            i = int(str(f["item"]).partition(":")[2])
            title = str(raw[i].get("title") or "")
            # findings still in force on this title stay redacted (spans are in the raw title)
            keep = sorted((g for j, g in enumerate(self.view.findings)
                           if g.get("item") == f["item"] and j not in self.undone and g.get("span")),
                          key=lambda g: g["span"][0], reverse=True)
            for g in keep:
                a, b = g["span"]
                title = f"{title[:a]}<{g['entity']}>{title[b:]}"
            events[i] = Event(events[i].t, events[i].kind, {**events[i].data, "title": title})
        text_from = list(events)
        for f in self._undone_of("typed"):
            for i in f.get("events") or []:
                text_from[i] = raw[i]
        return self.view._derive(events, text_from)

    def boxes_on(self, n: int) -> list[list[int]]:
        return [b["bbox"] for b in self.decisions.boxes if b["frame"] == n]

    def render_frame(self, n: int) -> bytes:
        what = f"session {self.view.session.id}: redacted frame {n}"
        data = self.view.redacted_frame(n)
        if data is None:
            raise NotFound(f"{what} is withheld")
        boxes = self.boxes_on(n)
        undone = [f["bbox"] for f in self._undone_of("screen") if f.get("item") == f"frame:{n}" and f.get("bbox")]
        if not boxes and not undone:
            return png_pixels_only(data, what)[0]
        with Image.open(io.BytesIO(data)) as im:
            img = im.convert("RGB")
        draw = ImageDraw.Draw(img)
        if undone:
            raw = self.view.raw_frame(n)
            for x, y, w, h in undone:  # the raw pixels come back only inside the undone box
                img.paste(raw.crop((x, y, x + w, y + h)), (x, y))
            for j, f in enumerate(self.view.findings):  # ...and never over a redaction still in force
                if f.get("item") == f"frame:{n}" and f.get("bbox") and j not in self.undone:
                    x, y, w, h = f["bbox"]
                    draw.rectangle([x, y, x + w - 1, y + h - 1], fill=(0, 0, 0))
        for x, y, w, h in boxes:
            draw.rectangle([x, y, x + w - 1, y + h - 1], fill=(0, 0, 0))
        img.save(png := io.BytesIO(), "PNG")  # in memory only
        return png.getvalue()

    def frame_items(self) -> Iterator[tuple[str, bytes, str]]:
        for n in self.frames:
            data = self.render_frame(n)
            _, w, h = png_pixels_only(data, f"frame {n}")
            path = f"frames/{n:06d}.png"
            self.frame_info[n] = FrameInfo(path, sha256(data), w, h)
            yield path, data, self.frame_info[n].sha256

    def step_records(self) -> list[dict[str, Any]]:
        """steps.jsonl records; needs frame_items() consumed first (screenshots carry hashes)."""
        out = []
        for k, s in enumerate(self.steps):
            action = s.action
            if s.step_index in self.decisions.texts:
                action = type(action)(**{**asdict(action), "text": self.decisions.texts[s.step_index]})
            fi = self.frame_info.get(s.frame) if s.frame is not None else None
            redactions = [
                {key: f[key] for key in ("bbox", "span", "entity", "source") if key in f}
                for j in self.view.step_findings(s) if j not in self.undone for f in [self.view.findings[j]]
            ] + [{"bbox": b, "entity": "MANUAL", "source": "manual"} for b in (self.boxes_on(s.frame) if fi and s.frame is not None else [])]
            out.append({
                "step_index": k, "t_start": s.t_start, "t_end": s.t_end, "wall_time": s.wall_time,
                "action": action.to_obj(), "pyautogui": pyautogui_call(action),
                "screenshot": asdict(fi) if fi else None,
                "window": s.window, "redactions": redactions,
            })
        return out

    def steps_jsonl(self) -> bytes:
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in self.step_records()).encode()

    def redaction_summary(self) -> dict[str, Any]:
        counts = Counter(f.get("entity", "?") for j, f in enumerate(self.view.findings) if j not in self.undone)
        return {
            "counts": dict(sorted(counts.items())),
            "manual_redactions": len(self.decisions.boxes),
            "undone_redactions": [{"item": self.view.findings[j].get("item"), "entity": self.view.findings[j].get("entity")}
                                  for j in sorted(self.undone)],
            "withheld": self.view.withheld,
            "flagged": [{k: v for k, v in f.items() if k in ("item", "reason")} for f in self.view.flagged],
        }

    def episode(self) -> dict[str, Any]:
        meta = self.view.meta
        return {
            "schema_version": SCHEMA_VERSION,
            "episode_id": meta.id,
            "task": self.decisions.task if self.decisions.task is not None else self.view.task,
            "outcome": self.decisions.outcome or "unspecified",
            "platform": {"os": "linux", "display": "x11"},
            "screens": [{"w": s.get("w"), "h": s.get("h"), "scale": s.get("scale", 1.0),
                         "origin": [s.get("x", 0), s.get("y", 0)]} for s in meta.screens],
            "recorder": {"name": "owntrace", "version": meta.app_version or __version__},
            "started_at": meta.started_at,
            "duration_s": meta.duration_s,
            "steps": len(self.steps),
            "frames": len(self.frames),
            "redaction": self.redaction_summary(),
        }

    def items(self) -> Iterator[tuple[str, bytes, str]]:
        """Every file of the plan with its SHA-256, frames first (the steps need their hashes)."""
        yield from self.frame_items()
        for path, data in (("steps.jsonl", self.steps_jsonl()),
                           ("episode.json", json.dumps(self.episode(), indent=2, ensure_ascii=False).encode())):
            yield path, data, sha256(data)

    def review_info(self, approval: Approval) -> dict[str, Any]:
        return {"approved_at": approval.approved_at, "steps_removed": self.removed,
                "manual_redactions": len(self.decisions.boxes), "undone_redactions": len(self.undone),
                "decisions_sha256": approval.decisions_sha256}
