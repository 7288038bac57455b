"""`owntrace redact-image` on many files and a folder in one run, `--json` on redact-image and
redact-text, and the one-line errors of a batch (checked before anything is written)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.support.cli import OWNTRACE
from tests.support.screens import render

EMAIL = "maria.garcia@example.com"


def run(args: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run([*OWNTRACE, *args], capture_output=True, text=True, timeout=300, **kw)


def shot(path: Path, text: str) -> None:
    render([[("mail ", None), (text, "EMAIL_ADDRESS")], [("From: Sam Okafor", None)]], size=(560, 70),
           px=15).image.save(path)


def test_many_images_and_a_folder_in_one_run_with_json(home: Path, tmp_path: Path) -> None:
    folder = tmp_path / "shots"
    folder.mkdir()
    shot(folder / "a.png", EMAIL)
    shot(folder / "b.jpg", "jo@example.org")
    shot(tmp_path / "c.png", "li@example.net")
    (folder / "notes.txt").write_text("not an image")  # skipped: a folder's PNG and JPEG files only
    out = tmp_path / "out"
    r = run(["redact-image", str(folder), str(tmp_path / "c.png"), "-o", str(out), "--json"])
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.png", "c.png"]
    records = [json.loads(line) for line in r.stdout.splitlines()]
    assert [Path(x["output"]).name for x in records] == ["a.png", "b.png", "c.png"]
    for x in records:
        entities = {f["entity"] for f in x["findings"]}
        assert {"EMAIL_ADDRESS", "PERSON"} <= entities, x
        assert all(f["detector"] and len(f["bbox"]) == 4 and 0 < f["score"] <= 1 for f in x["findings"])
    assert r.stderr.count("wrote ") == 3


def test_batch_errors_are_one_line_and_write_nothing(home: Path, tmp_path: Path) -> None:
    shot(tmp_path / "a.png", EMAIL)
    shot(tmp_path / "b.png", EMAIL)
    (tmp_path / "junk.png").write_bytes(b"not an image")
    target = tmp_path / "file.png"
    target.write_bytes(b"x")
    cases = [
        ([str(tmp_path / "a.png"), str(tmp_path / "junk.png"), "-o", str(tmp_path / "o1")], "not a readable image"),
        ([str(tmp_path / "a.png"), str(tmp_path / "missing.png"), "-o", str(tmp_path / "o2")], "does not exist"),
        ([str(tmp_path / "a.png"), str(tmp_path / "a.png"), "-o", str(tmp_path / "o3")], "would both be written"),
        ([str(tmp_path / "a.png"), str(tmp_path / "b.png"), "-o", str(target)], "is a file"),
    ]
    for args, message in cases:
        r = run(["redact-image", *args])
        assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
        assert r.stderr.startswith("error: ") and message in r.stderr.splitlines()[0], r.stderr
    assert not any((tmp_path / o).exists() for o in ("o1", "o2", "o3")) and target.read_bytes() == b"x"


def test_redact_text_json_names_the_detector_and_span(home: Path) -> None:
    text = "From: Priya Raman <priya.raman@example.com>\nor (296) 476-8767\n"
    r = run(["redact-text", "--json"], input=text)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert "Priya" not in out["redacted"] and "476-8767" not in out["redacted"]
    spans = {text[a:b]: (f["entity"], f["detector"]) for f in out["findings"] for a, b in [f["span"]]}
    assert spans["(296) 476-8767"] == ("PHONE_NUMBER", "phone")
    assert spans["priya.raman@example.com"][0] == "EMAIL_ADDRESS" and spans["Priya Raman"][0] == "PERSON"
