"""Approval, export in three formats, and what the bundle holds."""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest
from PIL import Image
from pyrage import x25519

from recorder.errors import OwnTraceError
from recorder.export.bundle import export_session
from recorder.export.verify import verify_bundle
from recorder.redact.view import RedactedView
from recorder.review import approval
from recorder.review.decisions import Decisions, save_decisions
from recorder.review.plan import BundlePlan
from tests.support.review_kit import SECRET_BOX, Builder, frame_png, standard_session


def _approve(home, user, decisions: Decisions | None = None):
    s = standard_session(home)
    view = RedactedView(s, user)
    approval.approve(view, decisions or Decisions())
    return s, view


def _pixels(png: bytes, box: list[int]) -> set:
    x, y, w, h = box
    with Image.open(io.BytesIO(png)) as im:
        return set(im.convert("RGB").crop((x, y, x + w, y + h)).get_flattened_data())


def test_steps_and_episode_of_a_plain_approval(home: Path, user, tmp_path: Path) -> None:
    s, _ = _approve(home, user)
    res = export_session(home, s, user, tmp_path / "b")
    steps = [json.loads(line) for line in (tmp_path / "b/steps.jsonl").read_text().splitlines()]
    assert [x["action"]["type"] for x in steps] == ["click", "type", "key", "right_click", "hotkey", "scroll"]
    assert steps[1]["action"]["text"] == "to <EMAIL_ADDRESS>" and "bob@" not in (tmp_path / "b/steps.jsonl").read_text()
    assert steps[0]["window"] == {"app": "XTerm", "title": "mail to <EMAIL_ADDRESS>"}
    assert steps[4]["screenshot"] is None  # its frame was withheld by the redaction
    shot = steps[0]["screenshot"]
    assert shot["path"] == "frames/000001.png" and (shot["w"], shot["h"]) == (640, 400)
    assert {r["entity"] for r in steps[1]["redactions"]} == {"EMAIL_ADDRESS"}
    assert {r["source"] for r in steps[1]["redactions"]} == {"typed", "title", "screen"}
    assert sorted(p.name for p in (tmp_path / "b/frames").iterdir()) == [f"00000{n}.png" for n in (1, 2, 3, 5)]
    assert _pixels((tmp_path / "b/frames/000001.png").read_bytes(), SECRET_BOX) == {(0, 0, 0)}
    ep = json.loads((tmp_path / "b/episode.json").read_text())
    assert ep["task"] == "send the report" and ep["steps"] == 6 and ep["redaction"]["counts"] == {"EMAIL_ADDRESS": 6}
    assert ep["redaction"]["withheld"] == [{"item": "frame:4", "reason": "OCR failed on this frame"}]
    assert ep["redaction"]["flagged"][0]["item"] == "frame:5"
    assert res.manifest["signer"]["public_key"] == user.signing_public_hex()
    assert s.meta.state == "exported" and verify_bundle(tmp_path / "b").ok


def test_decisions_shape_the_bundle(home: Path, user, tmp_path: Path) -> None:
    s = standard_session(home)
    view = RedactedView(s, user)
    frame_finding = next(i for i, f in enumerate(view.findings) if f["item"] == "frame:2")
    typed_finding = next(i for i, f in enumerate(view.findings) if f["source"] == "typed")
    d = Decisions.from_obj({
        "task": "write to a colleague", "deleted_steps": [3], "deleted_ranges": [[view.steps[5].t_start, 1e9]],
        "boxes": [{"frame": 1, "bbox": [500, 300, 60, 40]}, {"frame": 1, "bbox": [630, 390, 50, 50]}],
        "undone": [frame_finding, typed_finding], "texts": {},
    }, view)
    assert d.boxes[1]["bbox"] == [630, 390, 10, 10]  # clipped to the frame
    approval.approve(view, d)
    export_session(home, s, user, tmp_path / "b")
    steps = [json.loads(line) for line in (tmp_path / "b/steps.jsonl").read_text().splitlines()]
    assert [x["action"]["type"] for x in steps] == ["click", "type", "key", "hotkey"]
    assert [x["step_index"] for x in steps] == [0, 1, 2, 3]
    assert steps[1]["action"]["text"] == "to bob@example.org"  # undone typed redaction
    assert {r["source"] for r in steps[1]["redactions"]} == {"title"}
    assert {"bbox": [500, 300, 60, 40], "entity": "MANUAL", "source": "manual"} in steps[0]["redactions"]
    f1 = (tmp_path / "b/frames/000001.png").read_bytes()
    assert _pixels(f1, [500, 300, 60, 40]) == {(0, 0, 0)}
    assert _pixels(f1, [40, 60, 200, 24]) == {(0, 0, 0)}
    # the undone screen redaction re-exposes exactly the raw pixels inside its box
    f2 = (tmp_path / "b/frames/000002.png").read_bytes()
    assert _pixels(f2, SECRET_BOX) == _pixels(frame_png(2), SECRET_BOX) == {(200, 30, 30)}
    ep = json.loads((tmp_path / "b/episode.json").read_text())
    assert ep["task"] == "write to a colleague" and ep["redaction"]["manual_redactions"] == 2
    undone = ep["redaction"]["undone_redactions"]
    assert [u["item"].split(":")[0] for u in undone] == ["frame", "typed"] and undone[0]["item"] == "frame:2"
    manifest = json.loads((tmp_path / "b/manifest.json").read_text())
    assert manifest["review"]["steps_removed"] == 2 and manifest["review"]["manual_redactions"] == 2


def test_edited_text_and_invalid_decisions(home: Path, user) -> None:
    s = standard_session(home)
    view = RedactedView(s, user)
    plan = BundlePlan(view, Decisions.from_obj({"texts": {"1": "to someone"}}, view))
    list(plan.frame_items())
    assert plan.step_records()[1]["pyautogui"] == "pyautogui.write('to someone')"
    for bad in ({"texts": {"0": "x"}}, {"deleted_steps": [99]}, {"boxes": [{"frame": 77, "bbox": [0, 0, 1, 1]}]},
                {"undone": [-1]}, {"deleted_ranges": [[5, 1]]}, {"task": 3}, []):
        with pytest.raises(OwnTraceError, match="invalid review decisions"):
            Decisions.from_obj(bad, view)


def test_export_refuses_unapproved_changed_and_existing(home: Path, user, tmp_path: Path) -> None:
    s = standard_session(home)
    with pytest.raises(OwnTraceError, match="not approved"):
        export_session(home, s, user, tmp_path / "b")
    unredacted = Builder.create(home)
    unredacted.click(1, 1)
    with pytest.raises(OwnTraceError, match="no redacted view"):
        export_session(home, unredacted.finish(redact=False), user, tmp_path / "b")
    view = RedactedView(s, user)
    approval.approve(view)
    (tmp_path / "taken").write_text("x")
    with pytest.raises(OwnTraceError, match="already exists"):
        export_session(home, s, user, tmp_path / "taken")
    with pytest.raises(OwnTraceError, match="needs at least one recipient"):
        export_session(home, s, user, tmp_path / "b.age", fmt="age")
    # the redacted view changes after approval (e.g. redaction re-run): refused, nothing written
    s.write_sealed("redacted/frames/000003.png.age", frame_png(99))
    with pytest.raises(OwnTraceError, match="changed since it was approved: frames/000003.png"):
        export_session(home, s, user, tmp_path / "b")
    assert not any(p.name.startswith(".b") or p.name == "b" for p in tmp_path.iterdir())
    # a draft change in review withdraws the approval
    save_decisions(view, Decisions(deleted_steps=[0]))
    with pytest.raises(OwnTraceError, match="not approved"):
        export_session(home, s, user, tmp_path / "b")


def test_zip_and_age_formats_hold_the_same_tree(home: Path, user, tmp_path: Path) -> None:
    s, _ = _approve(home, user)
    ident = x25519.Identity.generate()
    (tmp_path / "id.txt").write_text(f"{ident}\n")
    seen = []
    export_session(home, s, user, tmp_path / "b.zip", fmt="zip")
    export_session(home, s, user, tmp_path / "b.age", fmt="age", recipients=[str(ident.to_public())],
                   progress=lambda done, total: seen.append((done, total)))
    assert seen[-1][0] == seen[-1][1] and len(seen) > 3
    zip_names = set(zipfile.ZipFile(tmp_path / "b.zip").namelist())
    plain = subprocess.run(["age", "-d", "-i", str(tmp_path / "id.txt"), str(tmp_path / "b.age")],
                           capture_output=True, check=True).stdout
    tar_names = set(tarfile.open(fileobj=io.BytesIO(plain)).getnames())
    assert zip_names == tar_names and {"episode.json", "steps.jsonl", "manifest.json", "manifest.sig"} <= zip_names
    assert (tmp_path / "b.age").read_bytes().startswith(b"age-encryption.org/v1\n")
    assert verify_bundle(tmp_path / "b.zip").ok
    assert verify_bundle(tmp_path / "b.age", [ident]).ok


def test_extra_files_manifest_extra_and_own_signing_key(home: Path, user, tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    s, _ = _approve(home, user)
    key = Ed25519PrivateKey.generate()
    with pytest.raises(OwnTraceError, match="plain relative paths"):
        export_session(home, s, user, tmp_path / "x", extra_files={"../evil": b""})
    res = export_session(home, s, user, tmp_path / "b", extra_files={"consent.json": b"{}"},
                         manifest_extra={"study": {"id": "s1"}}, signing_key=key)
    assert res.manifest["study"] == {"id": "s1"} and (tmp_path / "b/consent.json").read_bytes() == b"{}"
    r = verify_bundle(tmp_path / "b")
    assert r.ok and r.signer != user.signing_public_hex() and "consent.json" in r.files


def test_undone_title_redaction_restores_only_that_title(home: Path, user) -> None:
    s = standard_session(home)
    view = RedactedView(s, user)
    title = next(i for i, f in enumerate(view.findings) if f["source"] == "title")
    plan = BundlePlan(view, Decisions.from_obj({"undone": [title]}, view))
    list(plan.frame_items())
    records = plan.step_records()
    assert {r["window"]["title"] for r in records} == {"mail to bob@example.org"}
    assert records[1]["action"]["text"] == "to <EMAIL_ADDRESS>"  # the typed one stays redacted
    assert [r["source"] for r in records[1]["redactions"]] == ["screen", "typed"]


def test_age_export_and_review_leave_nothing_in_clear(home: Path, user, tmp_path: Path) -> None:
    from recorder.review.server import ReviewServer
    from tests.support.guards import scan_plaintext

    s, view = _approve(home, user)
    server = ReviewServer(view)
    server.frame(1)  # decrypted for the page: memory only
    server.httpd.server_close()
    (tmp_path / "out").mkdir()
    export_session(home, s, user, tmp_path / "out/b.age", fmt="age", recipients=[user.recipient])
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["b.age"]
    needles = [b"send the report", b"EMAIL_ADDRESS", b"pyautogui", b"XTerm", b"mail to"]
    assert scan_plaintext([home, tmp_path / "out"], needles) == []


@pytest.mark.parametrize("report", [b"[]", b"{", json.dumps({"findings": ["frame:1"]}).encode(),
                                    json.dumps({"findings": [{"item": "frame:1", "bbox": [1, 2]}]}).encode(),
                                    json.dumps({"withheld": {"item": "x"}}).encode()])
def test_malformed_redacted_view_is_a_clean_error(home: Path, user, report: bytes) -> None:
    from recorder.errors import CorruptFile

    s = standard_session(home)
    s.write_sealed("redacted/report.json.age", report)
    with pytest.raises(CorruptFile, match="redacted view is malformed"):
        RedactedView(s, user)
