"""The researcher's side: donations in, a Parquet dataset out.

Each donation is decrypted and checked in memory, one at a time: the bundle's own integrity
(manifest signature, every file's size and hash, every step's frame hash), then the study
binding (study id and profile hash among the given signed profiles, the consent record's hash,
its consent-text hash, and the signer being the participant key the consent record names).
Duplicated bundle ids (replays, also of earlier runs: the folder keeps the ids it has seen) and
withdrawn participants are dropped. Rows are appended to `episodes.parquet` and `steps.parquet`
one bundle at a time (ParquetWriter row groups), after the folder's existing rows, so memory
stays at one bundle however many are ingested and no run loses what an earlier one wrote.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pyrage import x25519

from recorder import limits as bounded
from recorder.atomic import write_atomic
from recorder.errors import OwnTraceError
from recorder.export.verify import check_files, read_bundle
from recorder.keys import read_identity_file
from recorder.limits import DEFAULT, Limits
from recorder.progress import Progress
from recorder.study.consent import ConsentRecord, participant_id
from recorder.study.profile import Collect, StudyProfile
from recorder.study.withdraw import WithdrawalNotice

EPISODES = pa.schema([
    ("bundle_id", pa.string()),
    ("study_id", pa.string()),
    ("study_version", pa.int32()),
    ("profile_sha256", pa.string()),
    ("participant_id", pa.string()),
    ("consented_at", pa.string()),
    ("episode_id", pa.string()),
    ("task", pa.string()),
    ("outcome", pa.string()),
    ("platform", pa.string()),
    ("started_at", pa.string()),
    ("created_at", pa.string()),
    ("n_steps", pa.int32()),
    ("n_frames", pa.int32()),
    ("redaction_counts", pa.string()),  # JSON object: entity type -> count
    ("episode_json", pa.string()),  # episode.json as donated, nothing dropped
])

# Hugging Face datasets' Image feature is stored as this struct; the schema metadata names the
# feature, so `datasets.load_dataset("parquet", ...)` gives the frames as PIL images
IMAGE = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
HF_FEATURES = {b"huggingface": json.dumps({"info": {"features": {"frame_png": {"_type": "Image"}}}}).encode()}

STEPS = pa.schema([
    ("bundle_id", pa.string()),
    ("episode_id", pa.string()),
    ("participant_id", pa.string()),
    ("step_index", pa.int32()),
    ("t_start", pa.float64()),
    ("t_end", pa.float64()),
    ("wall_time", pa.string()),
    ("action_type", pa.string()),
    ("x_px", pa.int32()),
    ("y_px", pa.int32()),
    ("x_norm", pa.float64()),
    ("y_norm", pa.float64()),
    ("text", pa.string()),
    ("keys", pa.list_(pa.string())),
    ("pyautogui", pa.string()),
    ("action_json", pa.string()),  # the full action object (end points, button, dx/dy...)
    ("window_app", pa.string()),
    ("window_title", pa.string()),
    ("frame_path", pa.string()),
    ("frame_sha256", pa.string()),
    ("frame_w", pa.int32()),
    ("frame_h", pa.int32()),
    ("frame_png", IMAGE),  # {"bytes": the PNG, "path": its path in the bundle}
    ("redactions_json", pa.string()),
], metadata=HF_FEATURES)


class NothingAccepted(OwnTraceError):
    """An ingest run in which every donation was rejected: a failure for scripts to see."""

    exit_code = 1


class Rejected(Exception):
    """A donation that fails a check; the message is the reason listed to the researcher."""


@dataclass(frozen=True)
class Rejection:
    path: str
    reason: str


@dataclass
class IngestReport:
    accepted: int = 0  # one episode each
    steps: int = 0
    withdrawn: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    bundles: list[dict[str, str]] = field(default_factory=list)  # accepted: path, bundle_id, participant
    carried: int = 0  # episodes of the dataset's earlier runs, kept
    removed: int = 0  # episodes of earlier runs left out: their participants withdrew


def _writer(path: Path, schema: pa.Schema) -> pq.ParquetWriter:
    # PNG bytes are compressed already and unique: no compression, dictionary or min/max
    # statistics for them (these cost more than the rest of the ingest put together)
    small = [n for n in schema.names if n != "frame_png"]
    big = ["frame_png.bytes"] if "frame_png" in schema.names else []
    return pq.ParquetWriter(path, schema, compression={**{n: "snappy" for n in small}, **{n: "none" for n in big}},
                            use_dictionary=small, write_statistics=small)


read_identity = read_identity_file  # the study's donations.key


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def open_donation(path: Path, identity: x25519.Identity, limits: Limits = DEFAULT) -> dict[str, bytes]:
    """The donation's files, decrypted in memory within `limits`; a rejection when it is not one."""
    try:
        kind, files = read_bundle(Path(path), [identity], limits)
    except OwnTraceError as e:
        raise Rejected(e.message + (f" ({e.hint})" if e.hint else "")) from None
    if kind != "age":
        raise Rejected(f"is a {kind} bundle, not an encrypted donation")
    return files


def _json(files: dict[str, bytes], name: str) -> Any:
    try:
        return bounded.loads(files[name])
    except KeyError:
        raise Rejected(f"{name} is missing") from None
    except ValueError as e:  # UnicodeDecodeError included: donations are UTF-8
        raise Rejected(f"{name} is not valid UTF-8 JSON ({str(e)[:80]})") from None


@dataclass(frozen=True)
class Donation:
    bundle_id: str
    manifest: dict[str, Any]
    consent: ConsentRecord
    profile: StudyProfile
    files: dict[str, bytes]


def check_donation(files: dict[str, bytes], profiles: dict[str, StudyProfile]) -> Donation:
    """Every check a donation must pass before its rows are written; raises Rejected(reason)."""
    problems, manifest = check_files(files)  # signature, every listed hash, nothing unlisted
    if problems or manifest is None:
        raise Rejected("tampered or damaged: " + "; ".join(problems[:3]) + (" …" if len(problems) > 3 else ""))
    study = manifest.get("study")
    if not isinstance(study, dict):
        raise Rejected("is not a study donation (its manifest has no study)")
    sid, config = study.get("id"), study.get("config_sha256")
    if not isinstance(sid, str) or not isinstance(config, str):
        raise Rejected("its manifest's study entry is malformed")
    known_ids = {p.id for p in profiles.values()}
    if sid not in known_ids:
        raise Rejected(f"belongs to another study ({sid!r}, not {', '.join(sorted(known_ids))})")
    profile = profiles.get(config)
    if profile is None or profile.id != sid:
        raise Rejected(f"was made under a profile of {sid} you did not give (config_sha256 {str(config)[:12]}…)")
    consent_bytes = files.get("consent.json")
    if consent_bytes is None or _sha256(consent_bytes) != study.get("consent_sha256"):
        raise Rejected("its consent record is missing or does not match the manifest's consent_sha256")
    try:
        consent = ConsentRecord.from_bytes(consent_bytes)
    except OwnTraceError as e:
        raise Rejected(e.message) from None
    if consent.study_id != sid or consent.profile_sha256 != config:
        raise Rejected("its consent record is for another study or profile than the manifest says")
    if consent.consent_text_sha256 != profile.consent_sha256:
        raise Rejected("its consent record does not match the profile's consent text")
    if participant_id(bytes.fromhex(consent.participant_key)) != consent.participant_id:
        raise Rejected("its consent record's participant id does not match its key")
    if (manifest.get("signer") or {}).get("public_key") != consent.participant_key:
        raise Rejected("is not signed by the participant key its consent record names")
    bundle_id = manifest.get("bundle_id")
    if not isinstance(bundle_id, str) or not bundle_id:
        raise Rejected("its manifest has no bundle_id")
    return Donation(bundle_id, manifest, consent, profile, files)


def _obj(value: Any, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Rejected(f"{what} is not a JSON object")
    return value


KEY_ACTIONS = ("type", "key", "hotkey")


def _check_collected(c: Collect, k: int, action: dict[str, Any], window: dict[str, Any], shot: dict[str, Any]) -> None:
    """A step holding what the profile does not collect: the capture limits were not applied."""
    if not c.key_text and action.get("text"):
        raise Rejected(f"step {k} holds typed text, which this study does not collect")
    if not c.screenshots and shot:
        raise Rejected(f"step {k} holds a screenshot, which this study does not collect")
    if not c.window_titles and window.get("title"):
        raise Rejected(f"step {k} holds a window title, which this study does not collect")
    if action.get("type") in KEY_ACTIONS and not c.allows_app(str(window.get("app", ""))):
        raise Rejected(f"step {k} holds keys typed in {window.get('app')!r}, an app this study does not collect")


def _tables(d: Donation) -> tuple[pa.Table, pa.Table]:
    """The donation's episode row and step rows; a Rejected when its content is malformed."""
    files, c = d.files, d.consent
    episode = _obj(_json(files, "episode.json"), "episode.json")
    try:
        steps = [bounded.loads(line) for line in files.get("steps.jsonl", b"").decode().splitlines() if line.strip()]
    except ValueError as e:
        raise Rejected(f"steps.jsonl is not valid UTF-8 JSON lines ({str(e)[:80]})") from None
    episode_id = str(episode.get("episode_id", d.bundle_id))
    step_rows = []
    for k, raw in enumerate(steps):
        s = _obj(raw, f"steps.jsonl line {k + 1}")
        action = _obj(s.get("action"), f"step {k} action")
        shot = _obj(s.get("screenshot"), f"step {k} screenshot")
        window = _obj(s.get("window"), f"step {k} window")
        _check_collected(d.profile.collect, k, action, window, shot)
        png = None
        if shot.get("path") is not None:
            png = files.get(str(shot["path"]))
            if png is None or _sha256(png) != shot.get("sha256"):
                raise Rejected(f"step {k}: its screenshot does not match its hash")
        step_rows.append({
            "bundle_id": d.bundle_id, "episode_id": episode_id, "participant_id": c.participant_id,
            "step_index": s.get("step_index"), "t_start": s.get("t_start"), "t_end": s.get("t_end"),
            "wall_time": s.get("wall_time"), "action_type": action.get("type"),
            "x_px": action.get("x_px"), "y_px": action.get("y_px"),
            "x_norm": action.get("x_norm"), "y_norm": action.get("y_norm"),
            "text": action.get("text"), "keys": action.get("keys"), "pyautogui": s.get("pyautogui"),
            "action_json": json.dumps(action, ensure_ascii=False),
            "window_app": window.get("app"), "window_title": window.get("title"),
            "frame_path": shot.get("path"), "frame_sha256": shot.get("sha256"),
            "frame_w": shot.get("w"), "frame_h": shot.get("h"),
            "frame_png": None if png is None else {"bytes": png, "path": shot["path"]},
            "redactions_json": json.dumps(s.get("redactions") or [], ensure_ascii=False),
        })
    summary = _obj(episode.get("redaction"), "episode.json redaction")
    episode_row = {
        "bundle_id": d.bundle_id, "study_id": d.profile.id, "study_version": d.profile.version,
        "profile_sha256": d.profile.sha256, "participant_id": c.participant_id, "consented_at": c.consented_at,
        "episode_id": episode_id, "task": episode.get("task"), "outcome": episode.get("outcome"),
        "platform": json.dumps(episode.get("platform"), ensure_ascii=False), "started_at": episode.get("started_at"),
        "created_at": d.manifest.get("created_at"), "n_steps": len(step_rows),
        "n_frames": sum(1 for n in files if n.startswith("frames/")),
        "redaction_counts": json.dumps(summary.get("counts") or {}, ensure_ascii=False),
        "episode_json": files["episode.json"].decode(),
    }
    try:
        return pa.Table.from_pylist([episode_row], schema=EPISODES), pa.Table.from_pylist(step_rows, schema=STEPS)
    except (pa.ArrowException, TypeError, ValueError, OverflowError) as e:
        raise Rejected(f"holds a field of the wrong type ({str(e).splitlines()[0][:120]})") from None


STATE = "ingest-state.json"  # across runs: the bundle ids seen and the participants withdrawn
DATASET = ("episodes.parquet", "steps.parquet")


@dataclass
class DatasetState:
    """What earlier runs into a dataset folder knew; kept in it, so a replay is caught next week too."""

    study_ids: list[str] = field(default_factory=list)
    seen: dict[str, str] = field(default_factory=dict)  # bundle id -> the donation file it came in
    withdrawn: list[list[str]] = field(default_factory=list)  # [study id, participant id]

    @classmethod
    def load(cls, out: Path) -> DatasetState:
        path = out / STATE
        if not path.exists():
            return cls()
        try:
            obj = bounded.loads(bounded.read_file(path, 256 * 1024**2, "ingest state", NOT_OURS))
            return cls(list(obj["study_ids"]), dict(obj["seen"]), [list(w) for w in obj["withdrawn"]])
        except (ValueError, KeyError, TypeError):
            raise OwnTraceError(f"{path} is not an ingest state OwnTrace wrote", NOT_OURS) from None


NOT_OURS = "choose another --out, or pass --replace to write the dataset afresh"


def _carry_over(out: Path, state: DatasetState, withdrawn: set[tuple[str, str]], episodes: pq.ParquetWriter,
                steps: pq.ParquetWriter) -> tuple[set[str], int]:
    """Copy the folder's dataset into the new one a row group at a time, leaving out withdrawn
    participants (and steps of no episode, left by an interrupted run). Returns the bundle ids
    kept and the number of episodes removed."""
    kept: set[str] = set()
    removed = 0
    try:
        old = pq.ParquetFile(out / "episodes.parquet")
        if not old.schema_arrow.equals(EPISODES, check_metadata=False):
            raise OwnTraceError(f"{out / 'episodes.parquet'} has another schema than this version writes", NOT_OURS)
        for i in range(old.num_row_groups):
            table = old.read_row_group(i)
            others = set(table.column("study_id").to_pylist()) - set(state.study_ids)
            if others:
                raise OwnTraceError(f"the dataset in {out} holds study {', '.join(sorted(others))}, "
                                    f"not only {', '.join(state.study_ids)}", "choose another --out for another study")
            keep = [(sid, pid) not in withdrawn for sid, pid in zip(table.column("study_id").to_pylist(),
                                                                      table.column("participant_id").to_pylist())]
            removed += keep.count(False)
            table = table.filter(pa.array(keep, pa.bool_()))
            kept.update(table.column("bundle_id").to_pylist())
            episodes.write_table(table)
        old_steps = pq.ParquetFile(out / "steps.parquet")
        if not old_steps.schema_arrow.equals(STEPS, check_metadata=False):
            raise OwnTraceError(f"{out / 'steps.parquet'} has another schema than this version writes", NOT_OURS)
        ids = pa.array(sorted(kept), pa.string())
        for i in range(old_steps.num_row_groups):
            table = old_steps.read_row_group(i)
            table = table.filter(pc.is_in(table.column("bundle_id"), value_set=ids))
            if table.num_rows:
                steps.write_table(table)
    except (pa.ArrowException, OSError) as e:
        raise OwnTraceError(f"the dataset in {out} cannot be read ({str(e).splitlines()[0][:120]})", NOT_OURS) from None
    state.seen.update({b: state.seen.get(b, "an earlier run") for b in kept})
    return kept, removed


def ingest(
    bundles: Iterable[Path],
    identity: x25519.Identity,
    profiles: Iterable[StudyProfile],
    out: Path,
    withdrawals: Iterable[WithdrawalNotice] = (),
    progress: Progress | None = None,
    limits: Limits = DEFAULT,
    *,
    replace: bool = False,
) -> IngestReport:
    """Add the valid donations to the dataset in `out`: an existing one is appended to (its rows
    carried over, bar withdrawn participants'), never replaced unless `replace`. The bundle ids
    seen and the participants withdrawn are kept in `out` across runs."""
    bundles = list(bundles)
    by_hash: dict[str, StudyProfile] = {}
    for p in profiles:
        p.verify()
        by_hash[p.sha256] = p
    if not by_hash:
        raise OwnTraceError("no study profile given", "pass the signed profile(s) of the study with --profile")
    out = Path(out)
    existing = not replace and any((out / name).exists() for name in (*DATASET, STATE))
    if existing and not all((out / name).exists() for name in DATASET):
        raise OwnTraceError(f"{out} holds part of a dataset only", NOT_OURS)
    state = DatasetState.load(out) if existing else DatasetState()
    study_ids = sorted({p.id for p in by_hash.values()})
    if state.study_ids and state.study_ids != study_ids:
        raise OwnTraceError(f"the dataset in {out} is of study {', '.join(state.study_ids)}, "
                            f"not {', '.join(study_ids)}", "choose another --out for another study")
    state.study_ids = study_ids
    withdrawn = {(n.study_id, n.participant_id) for n in withdrawals} | {(w[0], w[1]) for w in state.withdrawn}
    state.withdrawn = sorted([list(w) for w in withdrawn])
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OwnTraceError(f"cannot create the dataset folder {out}: {e.strerror}", "choose another --out") from None
    report = IngestReport()
    seen = state.seen if existing else {}
    partial = {name: out / f".{name}.partial" for name in DATASET}
    try:
        with _writer(partial["episodes.parquet"], EPISODES) as episodes, \
                _writer(partial["steps.parquet"], STEPS) as steps:
            if existing:
                kept, report.removed = _carry_over(out, state, withdrawn, episodes, steps)
                report.carried = len(kept)
            for done, path in enumerate(bundles, 1):
                try:
                    d = check_donation(open_donation(path, identity, limits), by_hash)
                    if d.bundle_id in seen:
                        raise Rejected(f"duplicate of {seen[d.bundle_id]} (bundle {d.bundle_id} replayed)")
                    seen[d.bundle_id] = str(path)
                    if (d.profile.id, d.consent.participant_id) in withdrawn:
                        report.withdrawn += 1
                        continue
                    episode_table, steps_table = _tables(d)
                except Rejected as e:
                    report.rejected.append(Rejection(str(path), str(e)))
                    continue
                finally:
                    if progress:
                        progress(done, len(bundles))
                episodes.write_table(episode_table)
                if steps_table.num_rows:
                    steps.write_table(steps_table)
                report.accepted += 1
                report.steps += steps_table.num_rows
                report.bundles.append({"path": str(path), "bundle_id": d.bundle_id, "participant_id": d.consent.participant_id})
        # steps first: an interrupted run then leaves steps of no episode, which the next run drops
        for name in reversed(DATASET):
            os.replace(partial[name], out / name)
    except OSError as e:
        raise OwnTraceError(f"cannot write the dataset in {out}: {e.strerror}", "check free space and permissions") from None
    finally:
        for tmp in partial.values():
            tmp.unlink(missing_ok=True)
    state.seen = seen
    write_atomic(out / STATE, (json.dumps(asdict(state), indent=1) + "\n").encode(), mode=0o644)
    write_atomic(out / "ingest-report.json", (json.dumps(asdict(report), indent=2) + "\n").encode(), mode=0o644)
    return report
