"""Sessions with a redacted view, written exactly as docs/internals.md specifies, for the
review/export tests and benchmarks (which need no OCR: they start from the redacted view)."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from recorder.store import session as store
from recorder.store.records import Event, State

W, H = 640, 400
SECRET_BOX = [40, 60, 200, 24]  # where each raw frame shows the "email"; redacted: black
MS = 1_000_000


def frame_png(seed: int, w: int = W, h: int = H, noise: float = 0.0, secret: bool = True) -> bytes:
    """A frame: flat panels, a coloured 'secret' strip at SECRET_BOX, optional noise (for size)."""
    rng = np.random.default_rng(seed)
    arr = np.full((h, w, 3), 235, np.uint8)
    arr[: h // 10] = (40, 60, 90)
    arr[h // 5:, w // 2:] = rng.integers(0, 255, 3, dtype=np.uint8)
    if noise:
        rows = int(h * noise)
        arr[h - rows:] = rng.integers(0, 255, (rows, w, 3), dtype=np.uint8)
    img = Image.fromarray(arr)
    if secret:
        x, y, bw, bh = SECRET_BOX
        ImageDraw.Draw(img).rectangle([x, y, x + bw - 1, y + bh - 1], fill=(200, 30, 30))
    out = io.BytesIO()
    img.save(out, "PNG", compress_level=1)
    return out.getvalue()


def redact_png(png: bytes, boxes: list[list[int]]) -> bytes:
    with Image.open(io.BytesIO(png)) as im:
        img = im.convert("RGB")
    d = ImageDraw.Draw(img)
    for x, y, w, h in boxes:
        d.rectangle([x, y, x + w - 1, y + h - 1], fill=(0, 0, 0))
    out = io.BytesIO()
    img.save(out, "PNG", compress_level=1)
    return out.getvalue()


@dataclass
class Builder:
    """Writes raw events/frames through SessionWriter and the matching redacted view."""

    writer: store.SessionWriter
    w: int = W
    h: int = H
    noise: float = 0.0
    t: int = 0
    raw: list[Event] = field(default_factory=list)
    red: list[Event] = field(default_factory=list)
    findings: list[dict] = field(default_factory=list)
    withheld: list[dict] = field(default_factory=list)
    flagged: list[dict] = field(default_factory=list)
    redacted_frames: dict[int, bytes] = field(default_factory=dict)

    @classmethod
    def create(cls, home: Path, task: str = "send the report", **kw) -> Builder:
        w, h = kw.get("w", W), kw.get("h", H)
        writer = store.SessionWriter.create(home, name="kit", task=task, screens=[{"x": 0, "y": 0, "w": w, "h": h}])
        return cls(writer, **kw)

    def event(self, kind: str, dt_ms: int = 20, redacted: dict | None = None, **data) -> int:
        self.t += dt_ms * MS
        e = Event(self.t, kind, data)
        self.raw.append(e)
        self.red.append(Event(self.t, kind, {**data, **(redacted or {})}))
        self.writer.append(e)
        return len(self.raw) - 1

    def window(self, wid: int, app: str, title: str, redacted_title: str | None = None) -> int:
        return self.event("window", wid=wid, app=app, title=title, pid=1, x=0, y=0, w=self.w, h=self.h,
                          excluded=False, redacted={"title": redacted_title} if redacted_title else None)

    def frame(self, withhold: bool = False, secret: bool = True) -> int:
        png = frame_png(len(self.redacted_frames) + 1, self.w, self.h, self.noise, secret)
        n = self.writer.add_frame(png)
        self.event("frame", n=n, w=self.w, h=self.h, reason="action", dup=False)
        if withhold:
            self.withheld.append({"item": f"frame:{n}", "reason": "OCR failed on this frame"})
        else:
            self.redacted_frames[n] = redact_png(png, [SECRET_BOX] if secret else [])
            if secret:
                self.findings.append({"item": f"frame:{n}", "source": "screen", "entity": "EMAIL_ADDRESS",
                                      "score": 0.9, "bbox": list(SECRET_BOX)})
        return n

    def click(self, x: int, y: int, button: str = "left") -> None:
        self.frame()
        self.event("click", x=x, y=y, button=button, pressed=True)
        self.event("click", 50, x=x, y=y, button=button, pressed=False)

    def type(self, text: str, secret: str = "") -> None:
        """Type `text`; the part equal to `secret` becomes a typed EMAIL_ADDRESS finding."""
        self.frame()
        a = text.find(secret) if secret else -1
        idx: list[int] = []
        for k, c in enumerate(text):
            inside = secret and a <= k < a + len(secret)
            red = None
            if inside:
                red = {"char": "<EMAIL_ADDRESS>"} if k == a else {"char": "", "redacted": True}
            i = self.event("key_down", 30, key=c if c != " " else "space", char=c, mods=[], redacted=red)
            j = self.event("key_up", 20, key=c if c != " " else "space", mods=[],
                           redacted={"redacted": True} if inside and k > a else None)
            if inside:
                idx += [i, j]
        if idx:
            self.findings.append({"item": f"typed:{idx[0]}", "source": "typed", "entity": "EMAIL_ADDRESS",
                                  "score": 0.95, "span": [a, a + len(secret)], "events": idx})

    def key(self, key: str, char: str = "", mods: tuple[str, ...] = ()) -> None:
        self.event("key_down", 30, key=key, char=char, mods=list(mods))
        self.event("key_up", 20, key=key, mods=list(mods))

    def finish(self, redact: bool = True) -> store.Session:
        self.writer.close()
        s = store.resolve(self.writer.path.parent.parent, self.writer.meta.id)
        if redact:
            journal = "".join(e.to_json() + "\n" for e in self.red).encode()
            s.write_sealed("redacted/journal.jsonl.age", journal)
            for n, png in self.redacted_frames.items():
                s.write_sealed(f"redacted/frames/{n:06d}.png.age", png)
            counts: dict[str, int] = {}
            for f in self.findings:
                counts[f["entity"]] = counts.get(f["entity"], 0) + 1
            report = {"version": 1, "session": s.id, "created_at": "2026-01-01T00:00:00Z",
                      "engine": {"ner": False, "ocr": "synthetic"}, "counts": counts, "findings": self.findings,
                      "withheld": self.withheld, "flagged": self.flagged}
            s.write_sealed("redacted/report.json.age", json.dumps(report).encode())
            s.set_state(State.REDACTED)
        return s


def standard_session(home: Path) -> store.Session:
    """A small session: click, type with an email, hotkey, a withheld frame, a scroll, a title finding."""
    b = Builder.create(home)
    b.window(1, "XTerm", "mail to bob@example.org", "mail to <EMAIL_ADDRESS>")
    b.findings.append({"item": "title:0", "source": "title", "entity": "EMAIL_ADDRESS", "score": 0.9, "span": [8, 23]})
    b.click(100, 50)                         # step 0
    b.type("to bob@example.org", "bob@example.org")  # step 1
    b.key("enter", "\r")                      # step 2
    b.click(300, 200, "right")               # step 3
    b.frame(withhold=True)
    b.key("s", "\x13", ("ctrl",))            # step 4 (on the withheld frame)
    b.frame()
    b.event("scroll", x=320, y=200, dx=0, dy=-2)  # step 5
    b.flagged.append({"item": "frame:5", "bbox": [300, 300, 50, 20], "reason": "text read with low confidence"})
    return b.finish()
