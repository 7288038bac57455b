"""An independent OCR reading of exported frames, for tests that look for leaks."""

from __future__ import annotations

import os
from pathlib import Path


def ocr_frames(frames: list[Path]) -> str:
    """Plain tesseract over whole frames: an independent reading, not the redaction's own OCR
    pipeline. On an unredacted demo screenshot it reads the typed email, the inbox addresses
    and the phone number at this scale (checked when this test was written)."""
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    import tesserocr
    from PIL import Image

    from redaction.ocr import tessdata_dir  # only to find the bundled English model

    assert frames
    texts = []
    with tesserocr.PyTessBaseAPI(path=str(tessdata_dir()) + "/", lang="eng") as api:
        for f in frames:
            with Image.open(f) as im:
                api.SetImage(im.convert("L"))
            texts.append(api.GetUTF8Text())
    return "\n".join(texts)
