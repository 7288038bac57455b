"""Donation and ingest on real bundles made by export_session: Parquet out, bad donations named."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import tarfile
from dataclasses import replace
from pathlib import Path

import pyarrow.parquet as pq
import pyrage
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from recorder.errors import OwnTraceError
from recorder.export.bundle import sign_manifest
from recorder.export.verify import read_bundle
from recorder.study import consent, ingest, withdraw
from recorder.study.donate import donate
from tests.support.study import approved_session, donation, identity_and_recipient, researcher, rewrite


def test_donation_is_bound_to_study_and_consent_and_unlinkable(home: Path, user, res, joined, tmp_path: Path) -> None:
    out = donation(home, user, tmp_path)
    # the stock age CLI opens it with the researcher's identity; consent.json rides inside
    tar = subprocess.run(["age", "-d", "-i", str(res.keys.identity_path), str(out)], check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(tar)) as t:
        names = t.getnames()
        manifest = json.loads(t.extractfile("manifest.json").read())
        record = json.loads(t.extractfile("consent.json").read())
    assert {"consent.json", "manifest.json", "manifest.sig", "episode.json", "steps.jsonl"} <= set(names)
    assert manifest["study"]["id"] == "typing-study" and manifest["study"]["config_sha256"] == joined.sha256
    assert manifest["study"]["consent_sha256"] == hashlib.sha256(consent.load_consent(home, "typing-study", user)).hexdigest()
    # signed with the pseudonymous per-study key, never with the user's own key
    assert manifest["signer"]["public_key"] == record["participant_key"] != user.signing_public_hex()
    # the participant's own identity cannot open it: it is encrypted to the study only
    with pytest.raises(pyrage.DecryptError):
        pyrage.decrypt(out.read_bytes(), [user.identity])


def test_donate_refuses_sessions_outside_the_study_or_its_consent(home: Path, user, res, joined, tmp_path: Path) -> None:
    s = approved_session(home, user, None)
    with pytest.raises(OwnTraceError, match="recorded outside any study, not under 'typing-study'"):
        donate(home, s, user, "typing-study", tmp_path / "x.age")
    earlier = approved_session(home, user, "typing-study")
    consent.join(home, replace(joined, version=2, signature=None).signed(res.signing_key), user=user)
    with pytest.raises(OwnTraceError, match="was recorded before your consent to version 2 of 'typing-study'"):
        donate(home, earlier, user, "typing-study", tmp_path / "z.age")
    s2 = approved_session(home, user, "other")
    with pytest.raises(OwnTraceError, match="not joined study 'other'"):
        donate(home, s2, user, "other", tmp_path / "y.age")
    assert not list(tmp_path.glob("*.age"))


def test_ingest_writes_parquet_and_rejects_bad_donations(home: Path, user, res, joined, tmp_path: Path) -> None:
    good = donation(home, user, tmp_path, name="good.age")
    second = donation(home, user, tmp_path, name="second.age")
    # the same researcher key, another study: decrypts, but belongs elsewhere
    consent.join(home, res.signed("other-study"))
    foreign = donation(home, user, tmp_path, "other-study", "foreign.age")
    # another researcher's study: cannot even be decrypted
    stranger = researcher(tmp_path / "stranger")
    consent.join(home, stranger.signed("stranger-study"))
    undecryptable = donation(home, user, tmp_path, "stranger-study", "stranger.age")

    def edit_steps(files):
        files["steps.jsonl"] = files["steps.jsonl"].replace(b'"click"', b'"drag"', 1)

    tampered = rewrite(good, tmp_path / "tampered.age", *identity_and_recipient(res), edit_steps)

    def resign_with_other_key(files):  # a consistent bundle, but not signed by the consent's key
        manifest = json.loads(files["manifest.json"])
        key = Ed25519PrivateKey.generate()
        manifest["signer"]["public_key"] = key.public_key().public_bytes_raw().hex()
        manifest["bundle_id"] = "forged"
        files["manifest.json"], files["manifest.sig"] = sign_manifest(manifest, key)

    forged = rewrite(second, tmp_path / "forged.age", *identity_and_recipient(res), resign_with_other_key)
    flipped = tmp_path / "flipped.age"
    blob = bytearray(good.read_bytes())
    blob[-40] ^= 1
    flipped.write_bytes(bytes(blob))

    bundles = [good, second, good, foreign, undecryptable, tampered, forged, flipped]
    ticks = []
    report = ingest.ingest(bundles, ingest.read_identity(res.keys.identity_path), [joined], tmp_path / "ds",
                           progress=lambda done, total: ticks.append((done, total)))
    assert ticks == [(n, len(bundles)) for n in range(1, len(bundles) + 1)]
    reasons = {Path(r.path).name: r.reason for r in report.rejected}
    assert report.accepted == 2 and set(reasons) == {"good.age", "foreign.age", "stranger.age", "tampered.age",
                                                     "forged.age", "flipped.age"}
    assert reasons["good.age"].startswith("duplicate of ") and "replayed" in reasons["good.age"]
    assert reasons["foreign.age"] == "belongs to another study ('other-study', not typing-study)"
    assert "cannot be decrypted" in reasons["stranger.age"] and "cannot be decrypted" in reasons["flipped.age"]
    assert reasons["tampered.age"].startswith("tampered or damaged: modified: steps.jsonl")
    assert reasons["forged.age"] == "is not signed by the participant key its consent record names"

    episodes = pq.read_table(tmp_path / "ds" / "episodes.parquet")
    steps = pq.read_table(tmp_path / "ds" / "steps.parquet")
    assert episodes.num_rows == 2 and set(episodes.column("study_id").to_pylist()) == {"typing-study"}
    pid = json.loads(consent.load_consent(home, "typing-study", user))["participant_id"]
    assert set(episodes.column("participant_id").to_pylist()) == {pid}
    assert episodes.column("task").to_pylist() == ["send the report"] * 2
    rows = steps.to_pylist()
    assert len(rows) == sum(episodes.column("n_steps").to_pylist()) > 0
    with tarfile.open(fileobj=io.BytesIO(pyrage.decrypt(good.read_bytes(), [ingest.read_identity(res.keys.identity_path)]))) as t:
        donated_steps = [json.loads(x) for x in t.extractfile("steps.jsonl").read().splitlines()]
    first_bundle = [r for r in rows if r["bundle_id"] == report.bundles[0]["bundle_id"]]
    assert [r["action_type"] for r in first_bundle] == [s["action"]["type"] for s in donated_steps]
    typed = [r for r in first_bundle if r["action_type"] == "type"][0]
    assert "<EMAIL_ADDRESS>" in typed["text"] and "bob@example.org" not in typed["text"]
    with_frame = [r for r in rows if r["frame_png"] is not None]
    assert with_frame and all(hashlib.sha256(r["frame_png"]["bytes"]).hexdigest() == r["frame_sha256"]
                              and r["frame_png"]["path"] == r["frame_path"] for r in with_frame)
    with Image.open(io.BytesIO(with_frame[0]["frame_png"]["bytes"])) as im:
        assert im.size == (with_frame[0]["frame_w"], with_frame[0]["frame_h"])
    saved = json.loads((tmp_path / "ds" / "ingest-report.json").read_text())
    assert saved["accepted"] == 2 and len(saved["rejected"]) == 6


def test_withdrawal_drops_the_participant(home: Path, user, res, joined, tmp_path: Path) -> None:
    d1 = donation(home, user, tmp_path, name="one.age")  # the participant donates, then leaves
    notice_path = tmp_path / "withdrawal.json"
    assert len(withdraw.study_sessions(home, "typing-study")) == 1
    notice = withdraw.leave(home, "typing-study", user, notice_path, delete_sessions=True)
    assert withdraw.study_sessions(home, "typing-study") == [] and not (home / "studies" / "typing-study").exists()
    # a second participant who stays
    consent.join(home, joined)
    d2 = donation(home, user, tmp_path, name="two.age")
    ident = ingest.read_identity(res.keys.identity_path)
    report = ingest.ingest([d1, d2], ident, [joined], tmp_path / "ds", [withdraw.read_notice(notice_path)])
    assert (report.accepted, report.withdrawn) == (1, 1)
    ids = pq.read_table(tmp_path / "ds" / "episodes.parquet").column("participant_id").to_pylist()
    assert ids and notice.participant_id not in ids


def test_ingest_needs_the_profile_version_donated_under(home: Path, user, res, joined, tmp_path: Path) -> None:
    d = donation(home, user, tmp_path)
    v2 = res.signed(version=2, apps_allowed=("XTerm",), screenshots=False)
    report = ingest.ingest([d], ingest.read_identity(res.keys.identity_path), [v2], tmp_path / "ds")
    assert report.accepted == 0
    assert report.rejected[0].reason.startswith("was made under a profile of typing-study you did not give")
    unsigned = res.profile()
    with pytest.raises(OwnTraceError, match="is not signed"):
        ingest.ingest([d], ingest.read_identity(res.keys.identity_path), [unsigned], tmp_path / "ds2")


def test_cli_ingest(home: Path, user, res, joined, tmp_path: Path, cli) -> None:
    d = donation(home, user, tmp_path)
    profile = res.write(tmp_path / "study.toml", joined)
    args = ["study", "ingest", str(d), str(d), "--identity", str(res.keys.identity_path), "--profile", str(profile),
            "--out", str(tmp_path / "ds")]
    r = cli(*args)
    assert r.returncode == 0, r.stderr
    assert "1 donation(s) accepted: 1 episode(s)" in r.stdout
    assert f"rejected {d}: duplicate of {d}" in r.stdout
    assert pq.read_table(tmp_path / "ds" / "steps.parquet").num_rows > 0
    r = cli(*args[:-1], str(tmp_path / "ds2"), "--withdrawals", str(profile))
    assert r.returncode == 2 and r.stderr.startswith(f"error: {profile} is not an OwnTrace withdrawal notice")
    assert not (tmp_path / "ds2").exists()

def _rows(ds: Path) -> tuple[int, int]:
    return pq.read_table(ds / "episodes.parquet").num_rows, pq.read_table(ds / "steps.parquet").num_rows


def test_a_later_run_adds_to_the_dataset_and_never_loses_it(home: Path, user, res, joined, tmp_path: Path, cli) -> None:
    # issue 22, item 3: one tampered donation into a folder holding an accepted one printed
    # "0 donation(s) accepted", exited 0, and episodes.parquet went from 1 row to 0
    good = donation(home, user, tmp_path, name="good.age")

    def edit_steps(files):
        files["steps.jsonl"] = files["steps.jsonl"].replace(b'"click"', b'"drag"', 1)

    tampered = rewrite(good, tmp_path / "tampered.age", *identity_and_recipient(res), edit_steps)
    profile = res.write(tmp_path / "study.toml", joined)
    ds = tmp_path / "ds"

    def run(*bundles: Path, extra: tuple[str, ...] = ()):
        return cli("study", "ingest", *map(str, bundles), "--identity", str(res.keys.identity_path),
                   "--profile", str(profile), "--out", str(ds), *extra)

    assert run(good).returncode == 0
    first = _rows(ds)
    assert first[0] == 1 and first[1] > 0
    r = run(tampered)
    assert r.returncode == 1 and "error: none of the 1 donation(s) was accepted" in r.stderr, r.stderr
    assert "1 kept" in r.stdout and _rows(ds) == first
    # a replay a week later is caught: the folder remembers the bundle ids it has seen
    r = run(good)
    assert r.returncode == 1 and f"rejected {good}: duplicate of {good}" in r.stdout and _rows(ds) == first
    # another donation is added after the rows the folder held
    second = donation(home, user, tmp_path, name="second.age")
    r = run(second)
    assert r.returncode == 0 and _rows(ds) == (2, first[1] * 2), r.stdout
    assert len(set(pq.read_table(ds / "episodes.parquet").column("bundle_id").to_pylist())) == 2
    # --replace writes the dataset afresh (and forgets what it had seen)
    r = run(good, extra=("--replace",))
    assert r.returncode == 0 and _rows(ds) == first


def test_a_later_withdrawal_removes_the_participant_for_good(home: Path, user, res, joined, tmp_path: Path) -> None:
    ident = ingest.read_identity(res.keys.identity_path)
    d1 = donation(home, user, tmp_path, name="one.age")
    d2 = donation(home, user, tmp_path, name="two.age")
    ds = tmp_path / "ds"
    assert ingest.ingest([d1], ident, [joined], ds).accepted == 1
    notice = withdraw.leave(home, "typing-study", user, tmp_path / "w.json")
    report = ingest.ingest([], ident, [joined], ds, [withdraw.read_notice(tmp_path / "w.json")])
    assert (report.carried, report.removed) == (0, 1) and _rows(ds) == (0, 0)
    # the notice is kept: the participant's other donation is dropped without it
    report = ingest.ingest([d2], ident, [joined], ds)
    assert (report.accepted, report.withdrawn) == (0, 1)
    assert notice.participant_id not in pq.read_table(ds / "episodes.parquet").column("participant_id").to_pylist()


def test_ingest_refuses_a_folder_it_cannot_add_to(home: Path, user, res, joined, tmp_path: Path) -> None:
    ident = ingest.read_identity(res.keys.identity_path)
    d = donation(home, user, tmp_path)
    ds = tmp_path / "ds"
    ingest.ingest([d], ident, [joined], ds)
    other = res.signed("other-study")
    with pytest.raises(OwnTraceError, match="is of study typing-study, not other-study"):
        ingest.ingest([d], ident, [other], ds)
    (ds / "steps.parquet").unlink()
    with pytest.raises(OwnTraceError, match="holds part of a dataset only"):
        ingest.ingest([d], ident, [joined], ds)
    assert pq.read_table(ds / "episodes.parquet").num_rows == 1  # refused: nothing touched
    (ds / "episodes.parquet").write_bytes(b"not parquet")
    (ds / "steps.parquet").write_bytes(b"not parquet")
    with pytest.raises(OwnTraceError, match="cannot be read"):
        ingest.ingest([d], ident, [joined], ds)
    assert ingest.ingest([d], ident, [joined], ds, replace=True).accepted == 1


def test_steps_of_an_interrupted_run_are_dropped(home: Path, user, res, joined, tmp_path: Path) -> None:
    # steps.parquet is replaced before episodes.parquet: a run stopped between them leaves steps
    # of bundles no episode names, which the next run leaves out instead of duplicating
    ident = ingest.read_identity(res.keys.identity_path)
    d1, d2 = donation(home, user, tmp_path, name="1.age"), donation(home, user, tmp_path, name="2.age")
    ds, interrupted = tmp_path / "ds", tmp_path / "ds-interrupted"
    ingest.ingest([d1], ident, [joined], ds)
    ingest.ingest([d1, d2], ident, [joined], interrupted)
    (interrupted / "episodes.parquet").write_bytes((ds / "episodes.parquet").read_bytes())
    (interrupted / "ingest-state.json").write_bytes((ds / "ingest-state.json").read_bytes())
    report = ingest.ingest([d2], ident, [joined], interrupted)
    assert report.accepted == 1 and _rows(interrupted) == (2, _rows(ds)[1] * 2)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
STEP = st.fixed_dictionaries({}, optional={
    "step_index": JSON, "t_start": JSON, "t_end": JSON, "wall_time": JSON, "pyautogui": JSON, "redactions": JSON,
    "action": st.dictionaries(st.sampled_from(["type", "x_px", "y_px", "x_norm", "text", "keys"]), JSON) | JSON,
    "screenshot": st.fixed_dictionaries({}, optional={"path": JSON, "sha256": JSON, "w": JSON, "h": JSON}) | JSON,
    "window": st.fixed_dictionaries({}, optional={"app": JSON, "title": JSON}) | JSON,
})


def resign(files: dict[str, bytes], key: Ed25519PrivateKey) -> dict[str, bytes]:
    """Re-list every file's hash and sign: hostile content that passes every integrity check."""
    manifest = json.loads(files["manifest.json"])
    manifest["files"] = [{"path": p, "size": len(b), "sha256": hashlib.sha256(b).hexdigest()}
                         for p, b in files.items() if p not in ("manifest.json", "manifest.sig")]
    manifest["study"]["consent_sha256"] = hashlib.sha256(files["consent.json"]).hexdigest()
    files["manifest.json"], files["manifest.sig"] = sign_manifest(manifest, key)
    return files


def test_hostile_signed_content_is_rejected_never_crashes(home: Path, user, res, joined, tmp_path: Path) -> None:
    _, base = read_bundle(donation(home, user, tmp_path), [ingest.read_identity(res.keys.identity_path)])
    key = consent.study_signing_key(home, "typing-study", user)
    profiles = {joined.sha256: joined}
    outcomes = []

    @settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
    @given(steps=st.lists(STEP | JSON, max_size=4), episode=JSON, consent_obj=st.dictionaries(
        st.sampled_from(["format", "study_id", "participant_key", "choices", "study_version"]), JSON))
    def check(steps, episode, consent_obj) -> None:
        files = dict(base)
        files["steps.jsonl"] = "".join(json.dumps(s) + "\n" for s in steps).encode()
        files["episode.json"] = json.dumps(episode).encode()
        if consent_obj:
            files["consent.json"] = json.dumps({**json.loads(base["consent.json"]), **consent_obj}).encode()
        try:
            d = ingest.check_donation(resign(files, key), profiles)
            ingest._tables(d)
            outcomes.append("ok")
        except ingest.Rejected as e:
            assert str(e)
            outcomes.append("rejected")

    check()
    assert "rejected" in outcomes


def test_ingest_rejects_content_beyond_the_profile(home: Path, user, res, joined, tmp_path: Path) -> None:
    """What arrives is checked against what the study collects, not only against its signature."""
    _, base = read_bundle(donation(home, user, tmp_path), [ingest.read_identity(res.keys.identity_path)])
    key = consent.study_signing_key(home, "typing-study", user)
    d = ingest.check_donation(dict(base), {joined.sha256: joined})
    assert ingest._tables(d)[1].num_rows > 0
    for collect, why in ((dict(key_text=False), "holds typed text"), (dict(screenshots=False), "holds a screenshot"),
                         (dict(window_titles=False), "holds a window title")):
        narrower = replace(joined, collect=replace(joined.collect, **collect))
        with pytest.raises(ingest.Rejected, match=f"{why}, which this study does not collect"):
            ingest._tables(replace(d, profile=narrower))
    # keys typed in an app the study does not collect, in a donation that passes every signature check
    lines = [json.loads(x) for x in base["steps.jsonl"].splitlines()]
    typed = next(x for x in lines if x["action"]["type"] in ingest.KEY_ACTIONS)
    typed["window"]["app"] = "Signal"
    files = dict(base, **{"steps.jsonl": "".join(json.dumps(x) + "\n" for x in lines).encode()})
    with pytest.raises(ingest.Rejected, match="holds keys typed in 'Signal', an app this study does not collect"):
        ingest._tables(ingest.check_donation(resign(files, key), {joined.sha256: joined}))
