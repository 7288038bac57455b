"""Screenshot redaction on real X rendering: an xterm on the virtual display, grabbed in memory."""

from __future__ import annotations

import subprocess
import time

import mss
import pytest
from PIL import Image

from redaction.detect import Detector
from redaction.image import redact_image
from redaction.ocr import Ocr
from tests.support.xhelpers import xterm

pytestmark = pytest.mark.x11

EMAIL = "maria.garcia@example.com"
TOKEN = "ghp_Qm7c1ZpL0aXv93RtYw2KsEe8Nn5BbUu4HhJj"
CARD = "4111 1111 1111 1111"
# 80 columns: the second email starts at column 66 and wraps onto the next line
WRAPPED = "carlos.fernandez.lopez@example.org"
SCREEN = (
    f"From: {EMAIL}  re: quarterly invoice\\n"
    f"$ export GITHUB_TOKEN={TOKEN}\\n"
    f"card on file: {CARD}\\n"
    f"{'write to the billing team or to': <65} {WRAPPED} today\\n"
)


def grab(wid: str, env: dict[str, str]) -> Image.Image:
    """The window's pixels, grabbed into memory (xwininfo: absolute position, without decorations)."""
    info = subprocess.run(["xwininfo", "-id", wid], env=env, capture_output=True, text=True, check=True).stdout
    geo = dict(line.strip().split(":", 1) for line in info.splitlines() if line.strip().startswith(("Absolute", "Width", "Height")))
    box = {"left": int(geo["Absolute upper-left X"]), "top": int(geo["Absolute upper-left Y"]),
           "width": int(geo["Width"]), "height": int(geo["Height"])}
    with mss.MSS(display=env["DISPLAY"]) as sct:
        shot = sct.grab(box)
    return Image.frombytes("RGB", shot.size, shot.rgb)


@pytest.mark.parametrize("mode", ["", "\\033[?5h"], ids=["light", "dark"])  # DECSCNM: reverse video
def test_xterm_screenshot_is_redacted(xenv, mode):
    script = f"printf '{mode}{SCREEN}'; sleep 60"
    with xterm("redact-me", xenv, command=["sh", "-c", script], geometry="80x8+20+20") as wid:
        time.sleep(1.0)  # let xterm draw
        image = grab(wid, xenv)
    if mode:
        assert image.convert("L").getpixel((2, image.height - 3)) < 100  # really dark
    reader = Ocr()
    before = " ".join(w.text for w in reader.read(reader.prepare(image)))
    assert "invoice" in before  # OCR reads the real rendering at all

    result = redact_image(image, Detector())
    assert {f.entity for f in result.findings} >= {"EMAIL_ADDRESS", "SECRET", "CREDIT_CARD"}
    after = " ".join(w.text for w in reader.read(reader.prepare(result.image)))
    for secret in ("maria", "garcia", TOKEN[:8], TOKEN[-8:], "4111", "carlos", "fernandez", "example.org"):
        assert secret not in after, after
    assert "invoice" in after and "billing" in after
