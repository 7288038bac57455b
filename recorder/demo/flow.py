"""`owntrace demo`: the whole pipeline on a private virtual display, or guided on your desktop.

record (real apps, injected input) -> redact -> review page, or approve + export + verify.
Everything lives in a throwaway OWNTRACE_HOME unless a home is given; nothing is kept in clear.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from recorder import childenv, config, deny, keys
from recorder.capture.backend import session_kind
from recorder.capture.display import VirtualDisplay, require_x11
from recorder.capture.recording import Recording, RecordOptions
from recorder.demo import apps, script
from recorder.demo.persona import DEMO_PASSPHRASE, DEMO_PERSONA, DEMO_TASK
from recorder.errors import OwnTraceError
from recorder.export import trust
from recorder.export.bundle import check_new_path, export_session
from recorder.export.verify import VerifyResult, verify_bundle
from recorder.redact.session import redact_session
from recorder.redact.view import RedactedView
from recorder.review.approval import approve
from recorder.store.session import Session, list_sessions

Say = Callable[[str], None]

SCREEN = (1280, 800)
BROWSER_GEOMETRY = (0, 0, 900, 780)  # x, y, w, h
TERMINAL_GEOMETRY = "78x6+330+650"  # columns x rows + x + y
GUIDED_TASK = "A short task of my own, recorded with `owntrace demo --here`."


@dataclass
class DemoResult:
    home: Path
    session_id: str
    steps: int = 0
    findings: dict[str, int] = field(default_factory=dict)
    withheld: int = 0
    bundle: Path | None = None


@dataclass
class DemoHome:
    root: Path
    temporary: bool
    user: keys.UnlockedIdentity


def open_home(home: Path | None, say: Say) -> DemoHome:
    """A fresh temporary home with a demo identity, or the given one (created if empty)."""
    temporary = home is None
    root = Path(tempfile.mkdtemp(prefix="owntrace-demo-")) if home is None else home.expanduser().resolve()
    if keys.has_identity(root):
        say(f"using the OwnTrace home {root} and its identity")
        return DemoHome(root, temporary, keys.unlock(root))
    say(f"OwnTrace home for this demo: {root}")
    say(f'creating a demo identity there, passphrase "{DEMO_PASSPHRASE}" (scrypt takes a few seconds)')
    try:
        keys.init_identity(root, passphrase=DEMO_PASSPHRASE)
        config.write_default(root)
        user = keys.unlock(root, DEMO_PASSPHRASE)
        # the synthetic person's own name goes on the (sealed) deny list, as `owntrace deny add` puts yours
        deny.add(root, user, [DEMO_PERSONA.name])
        return DemoHome(root, temporary, user)
    except BaseException:  # Ctrl-C during scrypt included: leave no half-made temporary home
        if temporary:
            shutil.rmtree(root, ignore_errors=True)
        raise


def close_home(home: DemoHome, keep: bool, say: Say) -> None:
    if not home.temporary:
        return
    if keep:
        say(f"kept: {home.root}  (use it with: export OWNTRACE_HOME={home.root}, "
            f'passphrase "{DEMO_PASSPHRASE}")')
        return
    for s in list_sessions(home.root):
        s.destroy()  # crypto-shreds each session's key before removing its files
    shutil.rmtree(home.root, ignore_errors=True)
    say(f"removed the demo home {home.root}")


@contextmanager
def _display_env(display: str) -> Iterator[None]:
    """Point this process (the recorder's X clients read DISPLAY) at `display` for a while."""
    saved = {k: os.environ.get(k) for k in ("DISPLAY", "WAYLAND_DISPLAY", "XDG_SESSION_TYPE")}
    os.environ.update(DISPLAY=display, XDG_SESSION_TYPE="x11")
    os.environ.pop("WAYLAND_DISPLAY", None)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextmanager
def recording(root: Path, task: str) -> Iterator[Recording]:
    """A Recording running on a background thread; stopped and joined on exit.

    Yields once capture is live (the recorder reported its first status), so no input of
    the task is lost."""
    rec = Recording(root, RecordOptions(name="demo", task=task), on_status=lambda _s: live.set())
    live = threading.Event()
    result: dict[str, object] = {}

    def run() -> None:
        try:
            result["meta"] = rec.run()
        except BaseException as e:  # handed to the caller's thread below
            result["error"] = e
        finally:
            live.set()

    thread = threading.Thread(target=run, name="owntrace-demo-recorder", daemon=True)
    thread.start()
    live.wait(60)
    try:
        if "error" in result:
            raise result["error"]  # type: ignore[misc]
        if not live.is_set():
            raise OwnTraceError("the recorder did not start within a minute", "try `owntrace doctor`")
        yield rec
    finally:
        rec.stop()
        thread.join(60)
    if "error" in result:
        raise result["error"]  # type: ignore[misc]


def session_of(rec: Recording) -> Session:
    if rec.writer is None:
        raise OwnTraceError("the recorder stopped before it created a session", "try `owntrace doctor`")
    return Session.load(rec.writer.path)


@dataclass
class Stage:
    """The demo's display with its two apps open, ready for the scripted task."""

    xdo: script.Xdo
    browser: str
    terminal: str

    def perform(self) -> None:
        script.perform(self.xdo, self.browser, self.terminal, DEMO_PERSONA)


@contextmanager
def stage(say: Say) -> Iterator[Stage]:
    """A private display (this process's DISPLAY meanwhile) with Chromium and an xterm open."""
    with VirtualDisplay(*SCREEN) as vd, _display_env(vd.display):
        env = vd.env()
        say(f"virtual display {vd.display} ({SCREEN[0]}x{SCREEN[1]}): opening Chromium with a synthetic "
            "inbox and sign-up form, and a terminal")
        with apps.browser(env, BROWSER_GEOMETRY) as browser, apps.terminal(env, TERMINAL_GEOMETRY) as terminal:
            yield Stage(script.Xdo(env), browser, terminal)


def record_scripted(root: Path, say: Say) -> Session:
    """Start a private display, open the apps, and record the scripted task on it."""
    with stage(say) as st, recording(root, DEMO_TASK) as rec:
        say("recording: reading mail, scrolling, signing up as "
            f"{DEMO_PERSONA.name} <{DEMO_PERSONA.email}>, card {DEMO_PERSONA.card}, then a terminal command")
        st.perform()
    session = session_of(rec)
    say(f"recorded session {session.id}: {session.meta.events} events, {session.meta.frames} frames, "
        "each sealed (age) as it was captured")
    return session


def record_guided(root: Path, say: Say, ask: Callable[[str], str]) -> Session:
    """On the person's own desktop: they start, do a short task, and stop."""
    say("This records YOUR screen, keyboard and mouse into the demo home, sealed as it is captured.")
    say("Nothing leaves this machine; you review everything afterwards.")
    ask("Press Enter to start recording... ")
    with recording(root, GUIDED_TASK) as rec:
        ask("Recording. Do something for about 20 seconds (open a page, type a search), "
            "then come back here and press Enter to stop. ")
    session = session_of(rec)
    say(f"stopped: session {session.id}, {session.meta.events} events, {session.meta.frames} frames")
    return session


def redact(root: Path, session: Session, user: keys.UnlockedIdentity, say: Say) -> dict[str, int]:
    say("redacting on this machine: OCR of every frame, typed text, window titles ...")
    report = redact_session(root, session, user)
    counts = Counter(f.entity for f in report.findings)
    say(f"found and redacted: {_by_type(counts)}")
    if report.withheld:
        say(f"withheld from export (a detector could not run on them): {len(report.withheld)} items")
    return dict(counts)


def _by_type(counts: Counter[str]) -> str:
    return ", ".join(f"{n} {entity}" for entity, n in counts.most_common()) or "nothing"


def export_unattended(root: Path, session: Session, user: keys.UnlockedIdentity, out: Path, say: Say) -> VerifyResult:
    """What the person would do on the review page, done without one: approve everything as
    redacted, export the signed bundle, and verify it as a recipient would."""
    view = RedactedView(session, user)
    approval = approve(view)
    say(f"approved {approval.summary['steps']} steps as redacted (no person in the loop: --export)")
    export_session(root, session, user, out)
    result = verify_bundle(out)
    if not result.ok:
        raise OwnTraceError(f"the exported bundle does not verify: {result.problems[0]}", "please report this")
    return result


def review(
    root: Path, session: Session, user: keys.UnlockedIdentity, say: Say, *, open_browser: bool = True
) -> Path | None:
    """Serve the review page until the person approves (then export into the current
    directory) or stops."""
    from recorder.review.server import ReviewServer  # the web page is needed only on this path

    server = ReviewServer(RedactedView(session, user))
    server.start()
    say("")
    say(f"review every step and redaction at  {server.url}")
    say("(the link opens the page once: do not share it)")
    def no_browser() -> None:
        say("(no browser could be opened here: open that address in a browser on this machine, or "
            f"forward the port first: ssh -L {server.port}:127.0.0.1:{server.port} <this host>)")

    if not open_browser or session_kind() is None:
        no_browser()
    else:
        childenv.open_browser(server.url, no_browser)
    say("waiting until you approve there, or press Ctrl-C to stop")
    outcome = server.wait()
    if outcome != "approved":
        say(f"review ended without approval ({outcome or 'closed'}): nothing was exported")
        return None
    out = Path.cwd() / f"owntrace-demo-{session.id}"
    export_session(root, session, user, out)
    say(f"approved and exported: {out}")
    _say_check(out, user.signing_public_hex(), say)
    return out


def _say_check(bundle: Path, signer_hex: str, say: Say) -> None:
    """How a recipient checks the bundle: against the signer's key, not only against itself."""
    fp = trust.key_fingerprint(signer_hex)
    say(f"signed by {fp} (the demo identity's key)")
    say(f"check it  owntrace verify {bundle} --signer {fp}")
    say(f"or trust the key once (owntrace trust add {signer_hex}), then: owntrace verify {bundle}")


def _action_types(bundle: VerifyResult) -> list[str]:
    lines = bundle.files.get("steps.jsonl", b"").decode().splitlines()
    return [json.loads(line)["action"]["type"] for line in lines if line.strip()]


def run_demo(
    *,
    export: Path | None = None,
    here: bool = False,
    home: Path | None = None,
    keep: bool = False,
    say: Say = print,
    ask: Callable[[str], str] = input,
) -> DemoResult:
    if export is not None:  # checked before recording, so a typo costs nothing
        check_new_path(export)
    if here:
        require_x11()
    else:
        apps.require_tools()
    demo_home = open_home(home, say)
    try:
        root, user = demo_home.root, demo_home.user
        session = record_guided(root, say, ask) if here else record_scripted(root, say)
        result = DemoResult(root, session.id, findings=redact(root, session, user, say))
        if export is None:
            result.bundle = review(root, session, user, say)
            return result
        verified = export_unattended(root, session, user, export, say)
        episode = verified.episode or {}
        result.steps = int(episode.get("steps", 0))
        result.withheld = len((episode.get("redaction") or {}).get("withheld") or [])
        result.bundle = export
        say("")
        say(f"steps     {result.steps} ({_by_type(Counter(_action_types(verified)))})")
        say(f"redacted  {_by_type(Counter(result.findings))}"
            + (f"; {result.withheld} items withheld (not exported)" if result.withheld else ""))
        say(f"bundle    {export} (signed, verified: {len(verified.files)} files)")
        _say_check(export, user.signing_public_hex(), say)
        return result
    finally:
        close_home(demo_home, keep, say)
