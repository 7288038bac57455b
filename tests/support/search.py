"""Sessions for the search tests, written through the real SessionWriter: typed keys, window
changes and frames that show text (rendered with a real font, read back by real tesseract)."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from recorder.store import session as store
from recorder.store.records import Event

MS = 1_000_000
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def text_frame(lines: list[str], size: tuple[int, int] = (800, 300)) -> bytes:
    """A lossless WebP frame (what the recorder writes) showing `lines` in 22 px text."""
    img = Image.new("RGB", size, (255, 255, 255))
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(FONT, 22)
    for k, line in enumerate(lines):
        draw.text((20, 20 + 36 * k), line, fill=(20, 20, 20), font=font)
    out = io.BytesIO()
    img.save(out, "WEBP", lossless=True)
    return out.getvalue()


@dataclass
class Writer:
    writer: store.SessionWriter
    t: int = 0
    wid: int = 0
    events: list[Event] = field(default_factory=list)

    @classmethod
    def create(cls, home: Path, name: str = "", study: str | None = None) -> Writer:
        return cls(store.SessionWriter.create(home, name=name, screens=[{"x": 0, "y": 0, "w": 800, "h": 300}],
                                              study=study))

    def event(self, kind: str, dt_ms: int = 20, **data) -> None:
        self.t += dt_ms * MS
        e = Event(self.t, kind, data)
        self.events.append(e)
        self.writer.append(e)

    def window(self, app: str, title: str) -> None:
        self.wid += 1
        self.event("window", wid=self.wid, app=app, title=title, pid=1, x=0, y=0, w=800, h=300, excluded=False)

    def frame(self, lines: list[str], dt_ms: int = 200) -> int:
        n = self.writer.add_frame(text_frame(lines))
        self.event("frame", dt_ms, n=n, w=800, h=300, reason="change", dup=False)
        return n

    def type(self, text: str) -> None:
        for c in text:
            key = {" ": "space", "\n": "enter"}.get(c, c)
            self.event("key_down", 40, key=key, char=c if c != "\n" else "\r", mods=[])
            self.event("key_up", 30, key=key, mods=[])

    def close(self) -> store.Session:
        self.writer.close()
        return store.resolve(self.writer.path.parent.parent, self.writer.meta.id)
