"""The demo's inbox, recorded as `owntrace demo` records it, redacted with an empty deny-list:
every sender name and the street address are filled on every frame where they appear."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from PIL import Image

from recorder import deny
from recorder.demo.flow import record_scripted
from recorder.redact.session import frame_rel, redact_session
from redaction.ocr import Ocr
from redaction.regions import Box, Word, group_lines

pytestmark = pytest.mark.x11

SENDERS = ["Jordan Blake", "Priya Raman", "Sam Okafor", "Lena Fischer", "Carlos Mendes", "Mia Chen", "Noah Williams",
           "Ava Martin"]
ADDRESS = "14 Elm Street"


def appearances(words: list[Word], value: str) -> list[list[Box]]:
    """Word boxes of each place the raw frame shows `value` (words in a row on one OCR line)."""
    want = value.split()
    out = []
    for line in group_lines(words):
        texts = [re.sub(r"^\W+|\W+$", "", words[i].text) for i in line]
        for k in range(len(line) - len(want) + 1):
            if texts[k:k + len(want)] == want:
                out.append([words[i].bbox for i in line[k:k + len(want)]])
    return out


def unfilled_ink(raw: np.ndarray, red: np.ndarray, box: Box) -> int:
    """Pixels of the value's ink (unlike the box's background in the raw frame) not black now."""
    x, y, w, h = box
    crop = raw[y:y + h, x:x + w].astype(int)
    colours, counts = np.unique(crop.reshape(-1, 3), axis=0, return_counts=True)
    ink = np.abs(crop - colours[counts.argmax()]).sum(axis=2) > 60
    return int((red[y:y + h, x:x + w][ink].sum(axis=1) > 30).sum())


def test_every_sender_and_the_street_address_are_filled_on_every_frame(home, user) -> None:
    assert not deny.exists(home)
    session = record_scripted(home, lambda _m: None)
    report = redact_session(home, session, user)
    assert not report.withheld
    key = session.key(user)
    ocr = Ocr()
    seen: dict[str, int] = {}
    for n in session.frame_numbers():
        raw_image = session.frame_image(key, n)
        raw = np.asarray(raw_image)
        red = np.asarray(Image.open(io.BytesIO(session.read_sealed(key, frame_rel(n)))).convert("RGB"))
        words = ocr.read(ocr.prepare(raw_image))
        for value in [*SENDERS, ADDRESS]:
            for boxes in appearances(words, value):
                seen[value] = seen.get(value, 0) + 1
                assert all(unfilled_ink(raw, red, b) == 0 for b in boxes), (n, value)
    # the list shows the first senders, the open mail the address: the check above did run
    assert {"Jordan Blake", "Priya Raman", "Sam Okafor", ADDRESS} <= set(seen), seen
