"""Apply redaction to a whole session: write the sealed redacted view and its report.

Reads the raw journal and frames (in memory only), redacts frames (OCR), typed text and window
titles, and writes `redacted/journal.jsonl.age`, `redacted/frames/*.png.age` and
`redacted/report.json.age` (format: docs/internals.md, "Redacted view"). Fails closed: an item
a detector or the OCR cannot process is withheld and named in the report. Rerunning rebuilds
the view from the untouched raw data.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from recorder import config, deny, limits
from recorder.atomic import write_atomic
from recorder.errors import OwnTraceError
from recorder.keys import UnlockedIdentity
from recorder.progress import Progress
from recorder.redact.view import FRAMES, JOURNAL, REPORT, frame_rel
from recorder.store.records import Event, State
from recorder.store.session import Session
from recorder.timestamps import utc_now
from redaction import typed
from redaction.detect import Detector, SessionDetector
from redaction.findings import Finding, apply
from redaction.image import ImageResult
from redaction.pool import FrameOutcome, redact_frames
from redaction.report import Groups, Report, ReportFinding

_FRAME_RE = re.compile(r"^(\d{6})\.png\.age$")
_REDACTABLE_STATES = (State.RECORDED, State.INTERRUPTED, State.REDACTED)
WITHHELD = "WITHHELD"  # placeholder for typed text whose detection failed

def user_detector(root: Path, user: UnlockedIdentity | None, extra_deny: list[str] | tuple[str, ...] = ()) -> Detector:
    """A detector with the user's sealed deny list (`user` unlocks it; None where there is none)
    and phone regions from config.toml."""
    cfg = config.load(root)
    own = deny.terms(root, user)
    try:
        return Detector(deny=[*own, *extra_deny], phone_regions=cfg.phone_regions)
    except Exception as e:  # a broken NLP install or a bad phone region: nothing can be redacted
        raise OwnTraceError(f"cannot start the text detectors: {type(e).__name__}: {e}",
                            "check [redaction] phone_regions in config.toml; `owntrace doctor` shows what is missing"
                            ) from None


def study_deny(root: Path, session: Session) -> list[str]:
    """The joined study's extra deny terms, for a session recorded for a study."""
    terms: list[str] = []
    if session.meta.study:
        try:
            from recorder.study import policy_for  # written alongside; needed only for study sessions
        except ImportError as e:
            raise OwnTraceError(
                f"session {session.id} belongs to study {session.meta.study}, but studies are unavailable ({e})",
                "reinstall owntrace",
            ) from None
        terms += list(policy_for(root, session.meta.study).extra_deny)
    return terms


def _frame_redactor(detector: Detector | SessionDetector):
    """The image side, or the reason it cannot run (every frame is then withheld)."""
    try:
        from redaction.image import FrameRedactor

        return FrameRedactor(detector), None
    except Exception as e:  # tesseract data missing, library not importable: fail closed
        return None, f"OCR unavailable: {e}"


def _latest_frame_before(events: list[Event]) -> list[int | None]:
    """For each journal index, the number of the last frame event at or before it."""
    out, current = [], None
    for e in events:
        if e.kind == "frame" and isinstance(e.get("n"), int):
            current = e.get("n")
        out.append(current)
    return out


_NOT_REDACTABLE_HINTS = {
    State.RECORDING: "stop the recording first",
    State.RAW_DELETED: "its raw capture was deleted; the redacted view stays as it is",
}


def ensure_redactable(session: Session) -> None:
    state = session.meta.state
    if state not in _REDACTABLE_STATES:
        raise OwnTraceError(
            f"session {session.id} is {state}: it cannot be redacted now",
            _NOT_REDACTABLE_HINTS.get(state, "its redacted view was already approved; record a new session to start over"),
        )


def redact_session(
    root: Path, session: Session, user: UnlockedIdentity, *, progress: Progress | None = None,
    detector: Detector | None = None, on_frame_words: Callable[[int, list], None] | None = None,
) -> Report:
    """Write the session's redacted view and report (see the module docstring); `detector`
    defaults to the user's config plus the session's study terms. `on_frame_words(n, words)`
    receives each frame's raw OCR words, so the search index need not OCR the session again."""
    ensure_redactable(session)
    key = session.key(user)
    damaged: list[str] = []
    events = list(session.events(key, damaged=damaged))
    if detector is None:
        detector = user_detector(root, user, study_deny(root, session))
    report = Report(
        session=session.id,
        created_at=utc_now(),
        engine={"ner": detector.status()["ner"], "ocr": ""},
    )
    for rel in damaged:
        report.withhold(rel, "damaged journal segment: its events could not be read")
    frames = session.frame_numbers()
    total = len(frames) + 1
    done = 0

    # typed text first: what it finds is also redacted where a frame shows it half typed
    runs = typed.rebuild(events)
    typed_findings, failed = _typed(runs, events, detector, lambda i: False)
    values = [(tf.value, tf.finding.entity) for tf in typed_findings if tf.value]
    screen_detector = SessionDetector(detector, values)
    names = screen_detector.names
    for tf in typed_findings:  # names typed, and in window titles, are known before the first frame
        names.learn(tf.value, [replace(tf.finding, start=0, end=len(tf.value))])
    titles = [(i, str(e.get("title"))) for i, e in enumerate(events) if e.kind == "window" and e.get("title")]
    for _, title in titles:
        try:
            screen_detector.find(title)
        except Exception:  # noqa: S110 - the title pass below withholds it
            pass
    redactor, ocr_problem = _frame_redactor(screen_detector)
    report.engine["ocr"] = redactor.engine if redactor else "unavailable"

    screens: dict[int, tuple[ImageResult, int]] = {}  # frame -> (result without pixels, names known then)
    outcomes = (redact_frames(frames, lambda n: session.frame_image(key, n), screen_detector) if redactor
                else (FrameOutcome(n, None, error=ocr_problem or "OCR unavailable") for n in frames))
    for out in outcomes:
        if out.result is None:  # fail closed: this frame is not in the redacted view
            report.withhold(f"frame:{out.n}", out.error)
            (session.path / frame_rel(out.n)).unlink(missing_ok=True)
        else:
            session.write_sealed(frame_rel(out.n), out.png)
            screens[out.n] = (out.result, out.known)
            if on_frame_words:
                on_frame_words(out.n, out.result.words)
        done += 1
        if progress:
            progress(done, total)
    # names found on a later frame are filled on the earlier frames too
    for n, (result, known) in sorted(screens.items()):
        if known == names.size:
            continue
        try:
            again = redactor.again(session.frame_image(key, n), result)
            if again:
                _write_frame(session, n, again)
                screens[n] = (replace(again, image=None), names.size)
        except Exception as e:  # fail closed
            report.withhold(f"frame:{n}", str(e) or type(e).__name__)
            (session.path / frame_rel(n)).unlink(missing_ok=True)
            del screens[n]
    _remove_stale_frames(session, set(frames))
    bullets: set[int] = set()
    groups = Groups()
    for n, (result, _) in sorted(screens.items()):
        item = f"frame:{n}"
        for f in result.findings:
            report.findings.append(ReportFinding(item, "screen", f.entity, f.score, bbox=list(f.bbox),
                                                 detector=f.detector, group=groups.of(f.entity, f.value)))
        for box, reason in result.flagged:
            report.flag(item, list(box), reason)
            if "bullets" in reason:
                bullets.add(n)

    # typed text again with everything the session showed: a name read on a frame is a name typed
    frame_at = _latest_frame_before(events)
    typed_findings, failed = _typed(runs, events, screen_detector, lambda i: frame_at[i] in bullets)
    for run, error in failed:
        report.withhold(f"typed:{run.start}", f"text detection failed: {error}")
    for tf in typed_findings:
        if tf.finding.entity != WITHHELD:
            tfound = tf.finding
            report.findings.append(ReportFinding(f"typed:{tf.run}", "typed", tfound.entity, tfound.score,
                                                 span=[tfound.start, tfound.end], events=tf.events, detector=tfound.detector,
                                                 group=groups.of(tfound.entity, tf.value)))
    overrides: dict[int, dict] = typed.redactions(events, typed_findings)

    for i, title in titles:
        try:
            found = screen_detector.find(title)  # a title can show a typed value too (a search, a file name)
        except Exception as ex:
            report.withhold(f"title:{i}", f"text detection failed: {type(ex).__name__}: {ex}")
            overrides[i] = {"title": ""}
            continue
        if found:
            overrides[i] = {"title": apply(title, found)}
            report.findings += [ReportFinding(f"title:{i}", "title", f.entity, f.score, span=[f.start, f.end],
                                              detector=f.detector, group=groups.of(f.entity, title[f.start:f.end]))
                                for f in found]

    redacted = [replace(e, data={**e.data, **overrides[i]}) if i in overrides else e for i, e in enumerate(events)]
    session.write_sealed(JOURNAL, "".join(e.to_json() + "\n" for e in redacted).encode())
    session.write_sealed(REPORT, report.to_json())
    session.set_state(State.REDACTED)
    if progress:
        progress(total, total)
    return report


def _write_frame(session: Session, n: int, result: ImageResult) -> None:
    buf = io.BytesIO()
    result.image.save(buf, format="PNG")
    session.write_sealed(frame_rel(n), buf.getvalue())


def _typed(runs: list[typed.TypedRun], events: list[Event], detector: Detector | SessionDetector, prompted: Callable[[int], bool]
           ) -> tuple[list[typed.TypedFinding], list[tuple[typed.TypedRun, str]]]:
    """Findings in every typed run; a run whose detection fails loses all its characters."""
    found: list[typed.TypedFinding] = []
    failed: list[tuple[typed.TypedRun, str]] = []
    for run in runs:
        try:
            found += typed.find_in_run(run, events, detector.find, prompted)
        except Exception as e:  # fail closed
            failed.append((run, f"{type(e).__name__}: {e}"))
            found.append(typed.TypedFinding(run.start, Finding(0, len(run.text), WITHHELD, 1.0, "failsafe"),
                                            run.key_events))
    return found, failed


def _remove_stale_frames(session: Session, current: set[int]) -> None:
    """A rerun must not leave redacted frames of a previous run that this run did not produce."""
    folder = session.path / FRAMES
    if folder.is_dir():
        for p in folder.iterdir():
            m = _FRAME_RE.match(p.name)
            if m and int(m.group(1)) not in current:
                p.unlink()



def open_image(src: Path):
    """A PNG or JPEG file as an RGB image, or a one-line error."""
    from PIL import Image, UnidentifiedImageError

    try:
        # PIL reads only what the format needs: an endless or sparse file is refused on its first bytes
        with limits.open_plain(src, "image", "give a PNG or JPEG file") as f, Image.open(f) as im:
            if im.format not in ("PNG", "JPEG"):
                raise OwnTraceError(f"{src} is {im.format}, not PNG or JPEG", "convert it to PNG first")
            return im.convert("RGB")
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError) as e:
        raise OwnTraceError(f"{src} is not a readable image ({e})", "give a PNG or JPEG file") from None


def redact_image_file(src: Path, dst: Path, root: Path, detector: Detector | None = None,
                      user: UnlockedIdentity | None = None):
    """One screenshot (PNG/JPEG) to a redacted PNG at `dst`, the user's explicit choice.
    The input is checked before the (slow to build) detector is made."""
    from redaction.image import RedactionFailed, redact_image

    if dst.exists() and src.exists() and dst.resolve() == src.resolve():
        raise OwnTraceError("the output would overwrite the input", "choose another output file with -o")
    image = open_image(src)
    try:
        result = redact_image(image, detector or user_detector(root, user))
    except RedactionFailed as e:
        raise OwnTraceError(f"could not redact {src}: {e}", "nothing was written") from None
    buf = io.BytesIO()
    result.image.save(buf, format="PNG")
    write_atomic(dst, buf.getvalue(), mode=0o644)
    return result
