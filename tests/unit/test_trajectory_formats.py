"""AgentNet and OSWorld exports: every code string parsed with ast, coordinates in range, key
names from pyautogui's own list, and the converted files inside the signed bundle."""

from __future__ import annotations

import ast
import io
import json
import subprocess
import tarfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyrage import x25519

from recorder import steps as steps_mod
from recorder.errors import CorruptFile, OwnTraceError
from recorder.export.bundle import export_session
from recorder.export.trajectories import converted_files
from recorder.export.verify import read_bundle, verify_bundle
from recorder.redact.view import RedactedView
from recorder.review import approval
from recorder.review.decisions import Decisions
from recorder.steps import Action, pyautogui_calls
from recorder.study import ingest
from recorder.study.donate import donate
from tests.support.review_kit import Builder
from tests.support.study import approved_session

W, H = 640, 400
AGENTNET_CALLS = {"pyautogui": {"click", "doubleClick", "rightClick", "middleClick", "moveTo", "dragTo", "scroll",
                                "hscroll", "write", "press", "hotkey"},
                  "computer": {"triple_click", "terminate"}}
OSWORLD_CALLS = {"pyautogui": AGENTNET_CALLS["pyautogui"]}
TEXT = 'say "it\'s" café\tto bob@example.org'


def calls(code: str, allowed: dict[str, set[str]]) -> list[tuple[str, list, dict]]:
    """(name, args, kwargs) of every statement; fails unless each is a call of an allowed
    function with literal arguments only."""
    out = []
    for stmt in ast.parse(code).body:
        assert isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call), code
        f = stmt.value.func
        assert isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name), code
        assert f.attr in allowed.get(f.value.id, set()), f"{f.value.id}.{f.attr} is not allowed"
        args = [ast.literal_eval(a) for a in stmt.value.args]
        kwargs = {k.arg: ast.literal_eval(k.value) for k in stmt.value.keywords}
        out.append((f"{f.value.id}.{f.attr}", args, kwargs))
    return out


def demo_session(home: Path):
    """Each kind of action once: double click, drag, scroll at a point, right and middle click,
    ctrl+shift+t, enter, typed text with quotes, a tab, non-ASCII and a redacted email."""
    b = Builder.create(home, task="rename the file")
    b.window(1, "XTerm", "shell")
    b.click(100, 50)
    b.click(101, 51)                                                       # 0 double click
    b.frame()
    b.event("click", x=10, y=20, button="left", pressed=True)
    b.event("move", x=200, y=150)
    b.event("click", x=639, y=399, button="left", pressed=False)           # 1 drag to the corner
    b.frame()
    b.event("scroll", x=320, y=200, dx=0, dy=-3)                           # 2 scroll at a point
    b.click(5, 5, "right")                                                 # 3
    b.click(7, 7, "middle")                                                # 4
    b.frame()
    b.key("T", "\x14", ("ctrl", "shift"))                                  # 5 ctrl+shift+t
    b.type(TEXT, "bob@example.org")                                        # 6
    b.key("enter", "\r")                                                   # 7
    b.click(30, 30)                                                        # 8
    return b.finish()


def export(home: Path, user, tmp_path: Path, trajectory: str, decisions: Decisions | None = None, **kw):
    s = demo_session(home)
    approval.approve(RedactedView(s, user), decisions or Decisions())
    out = tmp_path / trajectory
    export_session(home, s, user, out, trajectory=trajectory, **kw)
    return out


def test_agentnet_task_line(home: Path, user, tmp_path: Path) -> None:
    out = export(home, user, tmp_path, "agentnet", Decisions(task="Rename it", deleted_steps=[8]))
    lines = (out / "agentnet.jsonl").read_text().splitlines()
    assert len(lines) == 1
    task = json.loads(lines[0])
    ep = json.loads((out / "episode.json").read_text())
    assert set(task) == {"task_id", "instruction", "traj"}
    assert task["task_id"] == ep["episode_id"] and task["instruction"] == "Rename it"
    traj = task["traj"]
    assert [s["index"] for s in traj] == list(range(len(traj))) and len(traj) == 8 + 1  # step 8 deleted, + terminate
    parsed = [calls(s["value"]["code"], AGENTNET_CALLS) for s in traj]
    names = [[c[0] for c in p] for p in parsed]
    assert names == [["pyautogui.doubleClick"], ["pyautogui.moveTo", "pyautogui.dragTo"],
                     ["pyautogui.moveTo", "pyautogui.scroll"], ["pyautogui.rightClick"], ["pyautogui.middleClick"],
                     ["pyautogui.hotkey"], ["pyautogui.write"], ["pyautogui.press"], ["computer.terminate"]]
    for p in parsed:  # every coordinate normalised to 0-1, as OpenCUA's schema demands
        for _, _, kw in p:
            for k in ("x", "y"):
                if k in kw:
                    assert isinstance(kw[k], float) and 0.0 <= kw[k] <= 1.0
    assert parsed[0][0][2] == {"x": round(100 / W, 4), "y": round(50 / H, 4)}
    assert parsed[1][1] == ("pyautogui.dragTo", [], {"x": round(639 / W, 4), "y": round(399 / H, 4), "button": "left"})
    assert parsed[2][1][1] == [-3]
    assert parsed[5][0][1] == ["ctrl", "shift", "t"]
    assert parsed[6][0][2] == {"message": TEXT.replace("bob@example.org", "<EMAIL_ADDRESS>")}
    assert parsed[7][0][1] == ["enter"]
    assert parsed[8][0] == ("computer.terminate", [], {"status": "success"})  # the default
    assert "bob@" not in (out / "agentnet.jsonl").read_text()
    # each image is the frame the person reviewed before the action, in the bundle; the
    # terminate step repeats the last one
    images = [s["image"] for s in traj]
    assert all((out / i).is_file() for i in images) and images[-1] == images[-2]
    steps = [json.loads(x) for x in (out / "steps.jsonl").read_text().splitlines()]
    assert images[:-1] == [s["screenshot"]["path"] for s in steps]


def test_osworld_traj(home: Path, user, tmp_path: Path) -> None:
    out = export(home, user, tmp_path, "osworld", Decisions(outcome="failure"))
    lines = [json.loads(x) for x in (out / "traj.jsonl").read_text().splitlines()]
    steps = [json.loads(x) for x in (out / "steps.jsonl").read_text().splitlines()]
    assert len(lines) == len(steps) + 1
    for k, line in enumerate(lines):
        assert set(line) == {"step_num", "action_timestamp", "action", "reward", "done", "info", "screenshot_file"}
        assert line["step_num"] == k + 1 and line["reward"] == 0
    for line, step in zip(lines, steps):
        assert line["done"] is False and line["info"] == {}
        assert line["action_timestamp"] == step["wall_time"][:19].replace("-", "").replace("T", "@").replace(":", "")
        for _, _args, kw in calls(line["action"], OSWORLD_CALLS):  # pixels, on the recorded screen
            assert all(isinstance(v, int) for k, v in kw.items() if k in ("x", "y"))
            assert 0 <= kw.get("x", 0) < W and 0 <= kw.get("y", 0) < H
        assert line["action"] == step["pyautogui"]
    # the screen after an action is the frame the next step was shown with
    assert [x["screenshot_file"] for x in lines[:-2]] == [s["screenshot"]["path"] for s in steps[1:]]
    assert lines[-2]["screenshot_file"] is None
    assert lines[-1] == {**lines[-1], "action": "FAIL", "done": True, "info": {"fail": True}, "screenshot_file": None}
    assert json.loads((out / "episode.json").read_text())["outcome"] == "failure"


def test_the_converted_file_is_signed_and_verified(home: Path, user, tmp_path: Path) -> None:
    out = export(home, user, tmp_path, "agentnet")
    manifest = json.loads((out / "manifest.json").read_text())
    assert "agentnet.jsonl" in {f["path"] for f in manifest["files"]}
    assert verify_bundle(out).ok
    (out / "agentnet.jsonl").write_text((out / "agentnet.jsonl").read_text().replace("success", "failure"))
    result = verify_bundle(out)
    assert not result.ok and any("agentnet.jsonl" in p for p in result.problems)


def test_osworld_encrypted_to_a_recipient_opens_with_the_age_cli(home: Path, user, tmp_path: Path) -> None:
    ident = x25519.Identity.generate()
    key_file = tmp_path / "key.txt"
    key_file.write_text(str(ident) + "\n")
    out = export(home, user, tmp_path, "osworld", fmt="age", recipients=[str(ident.to_public())])
    tar = subprocess.run(["age", "-d", "-i", str(key_file), str(out)], check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(tar)) as t:
        names = t.getnames()
        traj = t.extractfile("traj.jsonl").read().decode()
    assert "traj.jsonl" in names and all(f in names for line in traj.splitlines()
                                         if (f := json.loads(line)["screenshot_file"]))
    assert verify_bundle(out, [ident]).ok


def test_edited_text_with_a_newline_and_outcome_decisions(home: Path, user, tmp_path: Path) -> None:
    s = demo_session(home)
    view = RedactedView(s, user)
    typing = next(x.step_index for x in view.steps if x.action.type == "type")
    decisions = Decisions.from_obj({"texts": {str(typing): "first line\nsecond 'line' ü"}, "outcome": "failure"}, view)
    approval.approve(view, decisions)
    export_session(home, s, user, tmp_path / "b", trajectory="agentnet")
    traj = json.loads((tmp_path / "b/agentnet.jsonl").read_text())["traj"]
    writes = [c for x in traj for c in calls(x["value"]["code"], AGENTNET_CALLS) if c[0] == "pyautogui.write"]
    assert writes == [("pyautogui.write", [], {"message": "first line\nsecond 'line' ü"})]
    assert traj[-1]["value"]["code"] == "computer.terminate(status='failure')"
    with pytest.raises(OwnTraceError, match="outcome must be success or failure"):
        Decisions.from_obj({"outcome": "maybe"}, view)


def test_an_unset_outcome_keeps_the_decisions_hash() -> None:
    # decisions approved before outcomes existed must still match their approval
    assert "outcome" not in Decisions().to_obj()
    assert Decisions(outcome="success").sha256() != Decisions().sha256()


# pyautogui 0.9.54's KEY_NAMES (pyautogui/__init__.py) for the keys OwnTrace records by name.
# pyautogui itself cannot be a test dependency: on Linux it installs python3-Xlib 0.15 over the
# recorder's python-xlib 0.33 (the same Xlib package), so its list is quoted here.
PYAUTOGUI_NAMED = {
    "alt", "apps", "backspace", "ctrl", "delete", "down", "end", "enter", "esc", "home", "insert", "left",
    "pagedown", "pageup", "pause", "printscreen", "right", "shift", "space", "tab", "up", "win",
    *(f"f{i}" for i in range(1, 25)),
}
PYAUTOGUI_CHARS = {chr(c) for c in range(32, 127)} - {chr(c) for c in range(ord("A"), ord("Z") + 1)}


def test_keys_follow_pyautogui_key_list() -> None:
    named = {steps_mod.key_name(k) for k in steps_mod.NAMED_KEYS | set(steps_mod.MODIFIERS)}
    assert named <= PYAUTOGUI_NAMED and steps_mod.PYAUTOGUI_NAMED == PYAUTOGUI_NAMED
    assert {steps_mod.key_name(c) for c in "AZ!"} == {"a", "z", "!"}
    assert all(steps_mod.is_pyautogui_key(k) for k in PYAUTOGUI_NAMED | PYAUTOGUI_CHARS)
    assert not any(steps_mod.is_pyautogui_key(k) for k in ("vk65027", "é", "alt_gr", "A", "", "\x14"))


def test_keys_pyautogui_cannot_press_are_left_out(home: Path, user, tmp_path: Path) -> None:
    b = Builder.create(home)
    b.window(1, "XTerm", "shell")
    b.frame()
    b.key("vk65027", "", ("ctrl",))  # a key without a pyautogui name
    b.key("menu")
    s = b.finish()
    approval.approve(RedactedView(s, user), Decisions())
    export_session(home, s, user, tmp_path / "b", trajectory="agentnet")
    traj = json.loads((tmp_path / "b/agentnet.jsonl").read_text())["traj"]
    assert [x["value"]["code"] for x in traj] == ["pyautogui.press('apps')", "computer.terminate(status='success')"]
    assert len((tmp_path / "b/steps.jsonl").read_text().splitlines()) == 2  # OwnTrace's own file keeps both


@pytest.mark.parametrize("action", [
    Action("click", x_px=1, y_px=2, x_norm=-0.01, y_norm=1.2),  # pointer beyond the desktop's edge
    Action("scroll", x_px=3, y_px=4, x_norm=0.5, y_norm=0.5, dx=2, dy=0),
    Action("type", text="\\'\"\n\x00"),
])
def test_normalised_calls_are_literal_and_in_range(action: Action) -> None:
    parsed = calls("\n".join(pyautogui_calls(action, "norm")), AGENTNET_CALLS)
    for _, _, kw in parsed:
        assert all(0.0 <= kw[k] <= 1.0 for k in ("x", "y") if k in kw)
    if action.type == "scroll":  # a sideways scroll at a point: no vertical scroll(0)
        assert [(n, a) for n, a, _ in parsed] == [("pyautogui.moveTo", []), ("pyautogui.hscroll", [2])]
    if action.type == "type":
        assert calls(pyautogui_calls(action, "norm")[0], AGENTNET_CALLS)[0][2] == {"message": action.text}


def test_malformed_bundle_files_are_one_clear_error() -> None:
    with pytest.raises(CorruptFile, match="malformed"):
        converted_files("osworld", b'{"action": 1}\n', b"{}")
    with pytest.raises(OwnTraceError, match="unknown trajectory format"):
        export_session(Path("/nonexistent"), "x", None, Path("/tmp/x"), trajectory="webarena")  # type: ignore[arg-type]


def test_cli_export_formats_and_outcome(home: Path, user, tmp_path: Path, cli) -> None:
    s = demo_session(home)
    r = cli("approve", s.id, "--yes", "--outcome", "failure")
    assert r.returncode == 0, r.stderr
    r = cli("export", s.id, "--format", "osworld", "--out", str(tmp_path / "ow"))
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path / "ow/traj.jsonl").read_text().splitlines()[-1])["action"] == "FAIL"
    ident = x25519.Identity.generate()
    r = cli("export", s.id, "--format", "agentnet", "--to", str(ident.to_public()), "--out", str(tmp_path / "an.age"))
    assert r.returncode == 0 and "[age]" in r.stdout, r.stderr
    assert verify_bundle(tmp_path / "an.age", [ident]).ok
    r = cli("approve", s.id, "--yes", "--outcome", "maybe")
    assert r.returncode == 2 and r.stderr.startswith("error: unknown outcome") and "Traceback" not in r.stderr
    r = cli("export", s.id, "--format", "webarena", "--out", str(tmp_path / "x"))
    assert r.returncode == 2 and "agentnet or osworld" in r.stderr and not (tmp_path / "x").exists()


def test_study_donation_carries_the_trajectory_and_ingests(home: Path, user, res, joined, tmp_path: Path) -> None:  # noqa: F811
    s = approved_session(home, user, "typing-study")
    out = tmp_path / "d.age"
    donate(home, s, user, "typing-study", out, trajectory="agentnet")
    kind, files = read_bundle(out, [ingest.read_identity(res.keys.identity_path)])
    assert kind == "age" and "agentnet.jsonl" in files and "consent.json" in files
    task = json.loads(files["agentnet.jsonl"])
    assert task["traj"][-1]["value"]["code"] == "computer.terminate(status='success')"
    report = ingest.ingest([out], ingest.read_identity(res.keys.identity_path), [joined], tmp_path / "ds")
    assert report.accepted == 1 and not report.rejected


@settings(max_examples=200, deadline=None)
@given(text=st.text(), keys=st.lists(st.sampled_from(sorted(PYAUTOGUI_NAMED | PYAUTOGUI_CHARS)), min_size=1, max_size=4))
def test_any_text_and_keys_render_as_literal_calls(text: str, keys: list[str]) -> None:
    for coords, allowed in (("norm", AGENTNET_CALLS), ("px", OSWORLD_CALLS)):
        (_, args, kw), = calls("\n".join(pyautogui_calls(Action("type", text=text), coords)), allowed)
        assert (args or [kw["message"]])[0] == text
        (_, args, _), = calls("\n".join(pyautogui_calls(Action("hotkey", keys=keys), coords)), allowed)
        assert args == keys
