"""Screenshot redaction: findings become solid boxes, split entities are found, incremental
redaction matches full redaction, and anything that cannot run fails closed."""

from __future__ import annotations

import numpy as np
import pytest

from redaction.detect import Detector
from redaction.image import FrameRedactor, RedactionFailed, redact_image
from redaction.ocr import Ocr
from redaction.regions import intersects
from tests.support.screens import render

EMAIL = "maria.garcia@example.com"
CARD = "4111 1111 1111 1111"
TOKEN = "ghp_Qm7c1ZpL0aXv93RtYw2KsEe8Nn5BbUu4HhJj"


@pytest.fixture(scope="module")
def detector():
    return Detector(deny=["Jane Roe"])


@pytest.fixture(scope="module")
def reader():
    e = Ocr()
    yield e
    e.close()


def ocr_text(reader: Ocr, image) -> str:
    return " ".join(w.text for w in reader.read(reader.prepare(image)))


def covered(box, findings) -> bool:
    """Every pixel of `box` lies under one of the filled boxes."""
    mask = np.zeros((box[1] + box[3] + 1, box[0] + box[2] + 1), bool)
    for f in findings:
        x, y, w, h = f.bbox
        mask[y : y + h, x : x + w] = True
    return bool(mask[box[1] : box[1] + box[3], box[0] : box[0] + box[2]].all())


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_email_card_token_are_filled_and_no_longer_read(detector, reader, theme):
    lines = [
        [("From: ", None), (EMAIL, "EMAIL_ADDRESS"), ("  re: invoice", None)],
        [("Card number: ", None), (CARD, "CREDIT_CARD")],
        [("$ export GITHUB_TOKEN=", None), (TOKEN, "SECRET")],
        [("signed, ", None), ("Jane Roe", "DENY")],
    ]
    screen = render(lines, size=(700, 120), px=13, theme=theme)
    assert EMAIL in ocr_text(reader, screen.image)  # the test would be void if OCR could not read it
    result = redact_image(screen.image, detector)
    for truth in screen.truths:
        assert covered(truth.boxes[0], result.findings), truth
    arr = np.asarray(result.image)
    for f in result.findings:
        x, y, w, h = f.bbox
        assert (arr[y : y + h, x : x + w] == 0).all()  # solid fill, not a blur
    after = ocr_text(reader, result.image)
    for secret in (EMAIL, "maria", "4111", TOKEN[:10], "Roe"):
        assert secret not in after
    assert "invoice" in after and "Card" in after  # the rest stays readable
    assert {f.entity for f in result.findings} >= {"EMAIL_ADDRESS", "CREDIT_CARD", "SECRET", "DENY"}


def test_email_wrapped_across_lines_is_found(detector, reader):
    lines = [
        [("reach me at ", None), ("maria.garcia.fernan", "EMAIL_ADDRESS")],
        [("dez@example.com", "EMAIL_ADDRESS"), (" or by phone", None)],
    ]
    screen = render(lines, size=(400, 60), px=14)
    result = redact_image(screen.image, detector)
    for truth in screen.truths:
        assert covered(truth.boxes[0], result.findings), truth
    after = ocr_text(reader, result.image)
    assert "fernan" not in after and "example" not in after
    assert "phone" in after and "reach" in after


def test_unrelated_lines_are_not_glued(detector):
    # "contacts.txt" above an email must not become part of it
    lines = [[("$ cat contacts.txt", None)], [(EMAIL + " and more text here", None)]]
    screen = render(lines, size=(500, 60), px=14)
    result = redact_image(screen.image, detector)
    assert len(result.findings) == 1 and result.findings[0].bbox[1] > 25


def test_low_confidence_text_is_flagged(detector):
    # 6 px text: tesseract reads some words, one of them with confidence 0
    screen = render([[("quarterly numbers attached below", None)]], size=(400, 40), px=6)
    result = redact_image(screen.image, detector)
    assert result.flagged
    for box, reason in result.flagged:
        assert "confidence" in reason and box[2] > 0 and box[3] > 0


def typed_frames(text: str, step: int = 3):
    """A terminal where `text` is typed a few characters per frame below some output."""
    history = [[("$ ls", None)], [("README.md  src  tests", None)], [("$ git status", None)],
               [("nothing to commit, working tree clean", None)]]
    for n in range(step, len(text) + step, step):
        yield render(history + [[("$ " + text[:n], None)]], size=(760, 140), px=14, theme="dark").image


def assert_same_findings(inc, full):
    """Same entities at the same places; a crop and a whole frame may put a box 1-3 px apart."""
    assert len(inc.findings) == len(full.findings)
    for a, b in zip(inc.findings, full.findings):
        assert a.entity == b.entity
        assert max(abs(p - q) for p, q in zip(a.bbox, b.bbox)) <= 3, (a, b)


def test_incremental_gives_the_same_boxes_as_full_redaction(detector):
    text = f"mail -s hello {EMAIL} --token {TOKEN}"
    frames = list(typed_frames(text, step=6))
    incremental = FrameRedactor(detector)
    for frame in frames:
        inc = incremental.redact(frame)
        assert_same_findings(inc, redact_image(frame, detector))
    assert {f.entity for f in inc.findings} >= {"EMAIL_ADDRESS", "SECRET"}
    # the point of it: most of each typed frame was not OCR'd again
    assert incremental.ocr_pixels < 0.5 * incremental.frame_pixels


def scrolling_frames(n: int):
    """A terminal that scrolls one line per frame, with an email every third line."""
    rows = [[("$ echo line ", None), (str(i), None)] if i % 3 else [("mail to ", None), (f"user{i}@example.com", "EMAIL_ADDRESS")]
            for i in range(n + 6)]
    for k in range(n):
        yield render(rows[k : k + 6], size=(420, 130), px=13, theme="dark").image


def test_scrolling_reuses_the_moved_words(detector):
    frames = list(scrolling_frames(6))
    incremental = FrameRedactor(detector)
    for frame in frames:
        inc = incremental.redact(frame)
        assert_same_findings(inc, redact_image(frame, detector))
    assert len(inc.findings) == 2
    # after the first frame, each frame re-reads about one line of six
    first = frames[0].width * frames[0].height
    assert incremental.ocr_pixels - first < 0.5 * first * (len(frames) - 1)


def test_unchanged_frame_reuses_everything(detector):
    frame = next(typed_frames(EMAIL, step=len(EMAIL)))
    redactor = FrameRedactor(detector)
    first = redactor.redact(frame)
    read = redactor.ocr_pixels
    again = redactor.redact(frame.copy())
    assert redactor.ocr_pixels == read
    assert [f.bbox for f in again.findings] == [f.bbox for f in first.findings]


class BrokenOcr(Ocr):
    def read(self, norm, box=None):
        raise RuntimeError("tesseract crashed")


class BrokenDetector:
    def find(self, text):
        raise ValueError("analyzer not loaded")


def test_broken_ocr_fails_closed(detector):
    frame = next(typed_frames(EMAIL, step=len(EMAIL)))
    with pytest.raises(RedactionFailed, match="tesseract crashed"):
        FrameRedactor(detector, ocr=BrokenOcr()).redact(frame)


def test_broken_detector_fails_closed():
    frame = next(typed_frames(EMAIL, step=len(EMAIL)))
    with pytest.raises(RedactionFailed, match="analyzer not loaded"):
        FrameRedactor(BrokenDetector()).redact(frame)


def test_missing_model_fails_closed(detector, monkeypatch):
    monkeypatch.setattr("redaction.ocr.TESSDATA_WHEELS", ("no-such-tessdata",))
    with pytest.raises(RedactionFailed, match="eng.traineddata"):
        FrameRedactor(detector)


def test_failure_resets_incremental_state(detector):
    frames = list(typed_frames(EMAIL, step=8))
    redactor = FrameRedactor(detector)
    redactor.redact(frames[0])
    good_read = redactor.ocr.read
    redactor.ocr.read = BrokenOcr.read.__get__(redactor.ocr)
    with pytest.raises(RedactionFailed):
        redactor.redact(frames[1])
    redactor.ocr.read = good_read
    before = redactor.ocr_pixels
    redactor.redact(frames[-1])
    assert redactor.ocr_pixels - before == frames[-1].width * frames[-1].height  # read whole again


def test_findings_side_by_side_on_a_line_become_one_box():
    from redaction.image import BoxFinding, join_on_lines

    joined = join_on_lines([
        BoxFinding((10, 10, 50, 16), "SECRET", 0.8, "secrets"),
        BoxFinding((64, 11, 40, 16), "SECRET", 0.9, "secrets"),  # 4 px further on the same line
        BoxFinding((10, 40, 50, 16), "EMAIL_ADDRESS", 1.0, "presidio"),  # next line: kept apart
    ])
    assert [(f.bbox, f.entity, f.score) for f in joined] == [
        ((10, 10, 94, 17), "SECRET", 0.9), ((10, 40, 50, 16), "EMAIL_ADDRESS", 1.0)]


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_bullet_password_field_is_not_passed_silently(detector, theme):
    screen = render([[("Username: anna", None)], [("Password: ", None), ("●●●●●●●●●●", "PASSWORD")]],
                    size=(360, 60), px=14, theme=theme)
    result = redact_image(screen.image, detector)
    bullets = screen.truths[0].boxes[0]
    assert any(intersects(f.bbox, bullets) for f in result.findings) or any(
        intersects(box, bullets) for box, _ in result.flagged)
