"""`owntrace demo`, end to end, run exactly as the README's quick start says, plus its errors.

The end-to-end run brings its own virtual display, records real Chromium and xterm windows
driven by xdotool, redacts with real OCR, and exports; the test then checks the bundle as a
recipient would, looks for the synthetic personal data in the steps and in an OCR of every
exported frame, and checks under strace that nothing connected anywhere but loopback.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from recorder import deny
from recorder.demo.apps import find_chromium
from recorder.demo.flow import run_demo
from recorder.demo.persona import DEMO_PASSPHRASE, DEMO_PERSONA
from recorder.errors import OwnTraceError
from recorder.export.verify import verify_bundle
from tests.support.cli import OWNTRACE
from tests.support.guards import parse_connects, scan_plaintext
from tests.support.ocr import ocr_frames

REPO = Path(__file__).resolve().parents[2]


def quick_start() -> list[str]:
    """The commands of the README's quick-start code block, as written there."""
    text = (REPO / "README.md").read_text()
    m = re.search(r"^## Quick start\n(.*?)^```\n(.*?)^```", text, re.S | re.M)
    assert m, "README.md has no '## Quick start' section with a code block"
    return [line.strip() for line in m.group(2).splitlines() if line.strip()]


def test_readme_quick_start_is_the_two_commands_ci_runs():
    assert quick_start() == ["./run.sh demo", "./run.sh test"]
    ci = [line.strip() for line in (REPO / ".ci" / "run").read_text().splitlines() if not line.startswith("#")]
    # as written, in the scrubbed environment `env -i` makes
    assert any(line.split()[-2:] == ["./run.sh", "test"] and line.startswith("env -i ") for line in ci), \
        ".ci/run must run the README's test command as written"


def _connects_that_left(log_prefix: Path) -> list[str]:
    """connect() calls that reached anything but unix sockets or loopback and did not fail.

    strace -ff writes one file per thread, so each call and its result share a line. The
    demo's Chromium runs in a network namespace of its own where such calls fail (its IPv6
    reachability probe, which would send no packet anyway, returns EADDRNOTAVAIL there)."""
    bad = []
    for f in log_prefix.parent.glob(log_prefix.name + ".*"):
        for line in f.read_text(errors="replace").splitlines():
            if "connect(" not in line or re.search(r"= -1 E\w+", line):
                continue
            bad += [f"{c.family} {c.address}" for c in parse_connects(line) if c.outbound]
    return bad


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory):
    """The README's demo command, with --export, under strace.

    Returns (process, bundle, outbound connects, temp dirs it left behind)."""
    demo_cmd = next(c for c in quick_start() if c.endswith(" demo"))
    out = tmp_path_factory.mktemp("demo")
    bundle = out / "bundle"
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "OWNTRACE_HOME")}
    env["OWNTRACE_PASSPHRASE"] = "not the demo's"  # the demo must use its own identity
    log = out / "strace"
    # issue 22, item 7: every run left an empty org.chromium.Chromium.* folder here
    patterns = ("owntrace-demo-*", "org.chromium.Chromium.*")
    profiles_before = {p for pattern in patterns for p in Path(tempfile.gettempdir()).glob(pattern)}
    proc = subprocess.run(
        ["strace", "-f", "-ff", "--seccomp-bpf", "-qq", "-e", "trace=connect", "-o", str(log),
         *shlex.split(demo_cmd), "--export", str(bundle)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=400,
    )
    leftovers = {p for pattern in patterns for p in Path(tempfile.gettempdir()).glob(pattern)} - profiles_before
    return proc, bundle, _connects_that_left(log), leftovers


@pytest.mark.x11
def test_demo_exports_a_bundle_that_verifies(demo_run):
    proc, bundle, _, _ = demo_run
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    result = verify_bundle(bundle)
    assert result.ok, result.problems
    steps = [json.loads(line) for line in result.files["steps.jsonl"].decode().splitlines()]
    assert {"click", "scroll", "type"} <= {s["action"]["type"] for s in steps}
    assert {s["window"]["app"].lower() for s in steps} >= {"chromium", "xterm"}
    assert f"bundle    {bundle}" in proc.stdout
    # the throwaway home is gone, and was a fresh one rather than the caller's
    home = Path(re.search(r"OwnTrace home for this demo: (\S+)", proc.stdout).group(1))
    assert not home.exists()


@pytest.mark.x11
def test_demo_bundle_holds_none_of_the_synthetic_personal_data(demo_run):
    proc, bundle, _, _ = demo_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    p = DEMO_PERSONA
    card_digits = p.card.replace(" ", "")
    steps = (bundle / "steps.jsonl").read_text()
    typed = [json.loads(line)["action"].get("text") or "" for line in steps.splitlines()]
    assert any("<EMAIL_ADDRESS>" in t for t in typed) and any("<CREDIT_CARD>" in t for t in typed), typed
    for secret in (p.email, p.card, card_digits, p.phone, p.name):
        assert secret not in steps
    assert card_digits not in re.sub(r"\D", "", steps)

    ocr = ocr_frames(sorted((bundle / "frames").glob("*.png")))
    assert "Create account" in ocr  # the OCR reads these frames ("Northwind" is a company: redacted)
    flat = re.sub(r"\s+", "", ocr).lower()
    for secret in (p.email, "jordan.blake@example.org", "billing@northwind.example.com"):
        assert secret.lower() not in flat
    assert card_digits not in re.sub(r"\D", "", ocr)


@pytest.mark.x11
def test_demo_opens_no_connection_but_loopback(demo_run):
    proc, _, connects, _ = demo_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert connects == []


@pytest.mark.x11
def test_demo_leaves_nothing_in_clear(demo_run):
    proc, _, _, leftovers = demo_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert leftovers == set()  # neither the demo home nor Chromium's throwaway profile or temp folder
    needles = [DEMO_PERSONA.email.encode(), DEMO_PERSONA.card.encode()]
    assert scan_plaintext([Path("/dev/shm")], needles) == []


def _run(args: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run([*OWNTRACE, *args], capture_output=True, text=True, timeout=60, **kw)


def test_demo_refuses_an_existing_export_path_before_recording(tmp_path: Path):
    target = tmp_path / "taken"
    target.mkdir()
    proc = _run(["demo", "--export", str(target)])
    assert proc.returncode == 2
    assert proc.stderr.splitlines()[0] == f"error: {target} already exists"
    assert "Traceback" not in proc.stderr
    (tmp_path / "file").write_text("")
    with pytest.raises(OwnTraceError, match="file is not a directory"):
        run_demo(export=tmp_path / "file" / "missing" / "bundle", say=pytest.fail)


def _path_with(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tools: list[str]) -> None:
    """Let PATH hold only these tools."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in tools:
        (bin_dir / tool).symlink_to(shutil.which(tool))
    monkeypatch.setenv("PATH", str(bin_dir))


def test_demo_names_the_packages_to_install_when_tools_are_missing(tmp_path: Path, monkeypatch):
    _path_with(tmp_path, monkeypatch, ["xterm"])
    with pytest.raises(OwnTraceError) as e:
        run_demo(export=tmp_path / "bundle", say=lambda _m: None)
    assert e.value.message == "the demo needs Xvfb, openbox, xdotool, which are not installed"
    assert e.value.hint == "install: sudo apt-get install xvfb openbox xdotool"
    assert not (tmp_path / "bundle").exists()


def test_demo_says_when_chromium_is_missing(tmp_path: Path, monkeypatch):
    _path_with(tmp_path, monkeypatch, ["Xvfb", "openbox", "xdotool", "xterm"])
    said: list[str] = []
    with pytest.raises(OwnTraceError) as e:
        run_demo(say=said.append)
    assert (e.value.message, e.value.hint) == ("Chromium is not installed", "install it: sudo apt-get install chromium")
    assert said == []  # checked before any home or identity was made


def _review_in_thread(home: Path, user, said: list[str]):
    """flow.review on a redacted session, in a thread; returns (thread, result box, url)."""
    import threading
    import time

    from recorder.demo.flow import review
    from recorder.store.session import resolve

    box: dict[str, object] = {}
    session = resolve(home, "latest")
    thread = threading.Thread(
        target=lambda: box.setdefault("out", review(home, session, user, said.append, open_browser=False)))
    thread.start()
    deadline = time.monotonic() + 30
    while not any("review every step" in line for line in said):
        assert time.monotonic() < deadline and thread.is_alive(), said
        time.sleep(0.05)
    url = re.search(r"(http://127\.0\.0\.1:\d+/\S+)", next(x for x in said if "review every step" in x)).group(1)
    return thread, box, url


def test_demo_review_exports_only_after_the_person_approves(home, user, tmp_path, monkeypatch):
    from playwright.sync_api import sync_playwright

    from tests.support.review_kit import standard_session

    standard_session(home)
    monkeypatch.chdir(tmp_path)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=find_chromium(), args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--no-first-run"])
        page = browser.new_page()
        page.on("dialog", lambda d: d.accept())
        for button, expect_bundle in (("#close", False), ("#approve", True)):
            said: list[str] = []
            thread, box, url = _review_in_thread(home, user, said)
            page.goto(url)
            page.wait_for_selector("#steps li")
            page.click(button)
            thread.join(60)
            assert not thread.is_alive()
            bundles = list(tmp_path.glob("owntrace-demo-*"))
            if not expect_bundle:
                assert box["out"] is None and bundles == []
                assert any("nothing was exported" in line for line in said)
        browser.close()
    assert bundles == [box["out"]]
    assert verify_bundle(bundles[0]).ok
    assert any(f"approved and exported: {bundles[0]}" in line for line in said)


@pytest.mark.x11
def test_demo_here_records_what_the_person_does_between_the_prompts(home, user, xenv):
    import time

    from recorder.demo.flow import record_guided
    from tests.support.xhelpers import key, type_text, xterm

    prompts: list[str] = []

    def person(prompt: str) -> str:
        """Answers each prompt; at the second (recording) does a little task in an xterm."""
        prompts.append(prompt)
        if len(prompts) == 2:
            with xterm("guided demo", xenv):
                type_text("echo my own task", xenv)
                key("Return", xenv)
                time.sleep(1.0)
        return ""

    said: list[str] = []
    session = record_guided(home, said.append, person)
    assert len(prompts) == 2 and "start" in prompts[0] and "stop" in prompts[1]
    assert any("YOUR screen" in line for line in said)
    events = list(session.events(session.key(user)))
    typed = "".join(e.get("char") or "" for e in events if e.kind == "key_down")
    assert "echo my own task" in typed
    assert any(e.kind == "window" and e.get("title") == "guided demo" for e in events)
    assert session.meta.state == "recorded" and session.meta.frames > 0


def test_demo_home_is_throwaway_unless_kept(tmp_path: Path):
    from recorder.demo.flow import close_home, open_home
    from recorder.store.session import SessionWriter, list_sessions

    said: list[str] = []
    home = open_home(None, said.append)
    try:
        assert home.temporary and (home.root / "identity.age").exists()
        # the synthetic person's name is on the deny list, sealed as yours would be (issue 22, item 6)
        assert deny.load(home.root, home.user) == [DEMO_PERSONA.name]
        assert DEMO_PERSONA.name not in (home.root / "config.toml").read_text()
        assert any(DEMO_PASSPHRASE in line for line in said)  # the person is told the passphrase
        SessionWriter.create(home.root, name="demo").close()
        close_home(home, keep=True, say=said.append)
        assert len(list_sessions(home.root)) == 1
        assert f"export OWNTRACE_HOME={home.root}" in said[-1]
        close_home(home, keep=False, say=said.append)
        assert not home.root.exists()
    finally:
        shutil.rmtree(home.root, ignore_errors=True)
