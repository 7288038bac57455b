"""Study profiles, consent and withdrawal: signatures, tampering, versions, escalation, capture limits."""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recorder.errors import NotFound, OwnTraceError
from recorder.study import consent, policy_for, withdraw
from recorder.study import profile as prof
from tests.support.cli import OWNTRACE
from tests.support.guards import traced
from tests.support.study import CONSENT, researcher, with_collect


def _signed_text() -> str:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        return prof.to_toml(researcher(Path(tmp)).signed(apps_allowed=("XTerm",)))


SIGNED_TEXT = _signed_text()


@pytest.fixture
def res(tmp_path: Path):
    return researcher(tmp_path / "researcher")


def test_keygen_files_work_with_stock_age(res, tmp_path: Path) -> None:
    secret = res.keys.identity_path
    assert oct(secret.stat().st_mode & 0o777) == "0o600" and oct(res.keys.signing_key_path.stat().st_mode & 0o777) == "0o600"
    plain = tmp_path / "msg.txt"
    plain.write_text("hello study")
    enc = tmp_path / "msg.age"
    subprocess.run(["age", "-r", res.keys.recipient, "-o", str(enc), str(plain)], check=True)
    out = subprocess.run(["age", "-d", "-i", str(secret), str(enc)], check=True, capture_output=True).stdout
    assert out == b"hello study"
    with pytest.raises(OwnTraceError, match="already exists"):
        researcher(secret.parent)


def test_signed_profile_round_trips_through_toml_embedded_and_detached(res, tmp_path: Path) -> None:
    p = res.signed(apps_allowed=("XTerm",))
    loaded = prof.parse(prof.to_toml(p))
    assert loaded == p and loaded.verify().fingerprint == res.keys.signing_fingerprint
    # detached: the profile without [signature], the signature alone in PROFILE.sig
    path = tmp_path / "study.toml"
    path.write_text(prof.to_toml(p, embed_signature=False))
    assert prof.load(path).signature is None
    Path(f"{path}.sig").write_text(prof.signature_toml(p.signature))
    assert prof.load(path).verify().fingerprint == res.keys.signing_fingerprint
    # reformatting (comments, key order) does not matter: the signature covers canonical values
    text = prof.to_toml(p).replace("# OwnTrace", "# reformatted\n# OwnTrace")
    lines = text.splitlines()
    lines[1], lines[2] = lines[2], lines[1]
    prof.parse("\n".join(lines)).verify()


@pytest.mark.parametrize(
    "edit",
    [
        lambda t: t.replace("key_text = false", "key_text = true"),
        lambda t: t.replace("I can withdraw", "I cannot withdraw"),
        lambda t: t.replace('apps_allowed = ["XTerm"]', 'apps_allowed = ["XTerm", "Chromium"]'),
        lambda t: t.replace('extra_deny = ["Project Nightjar"]', "extra_deny = []"),
    ],
)
def test_tampered_profile_is_refused(res, edit) -> None:
    text = prof.to_toml(res.signed(apps_allowed=("XTerm",)))
    tampered = edit(text)
    assert tampered != text
    with pytest.raises(OwnTraceError, match="signature does not match its content"):
        prof.parse(tampered).verify()


def test_unsigned_unknown_format_and_malformed_profiles(res, tmp_path: Path) -> None:
    unsigned = prof.parse(prof.to_toml(res.profile()))
    with pytest.raises(OwnTraceError, match="is not signed"):
        unsigned.verify()
    text = prof.to_toml(res.signed())
    with pytest.raises(OwnTraceError, match="format 2 is not supported"):
        prof.parse(text.replace("format = 1", "format = 2"))
    with pytest.raises(OwnTraceError, match="format None is not supported"):
        prof.parse(text.replace("format = 1\n", ""))
    with pytest.raises(OwnTraceError, match="unknown field"):
        prof.parse(text.replace("format = 1", "format = 1\nupload_url = \"https://x\""))
    with pytest.raises(OwnTraceError, match="should be lowercase"):
        prof.parse(text.replace('id = "typing-study"', 'id = "../../etc"'))
    with pytest.raises(OwnTraceError, match="not an age X25519 recipient"):
        prof.parse(text.replace(res.keys.recipient, "age1nope"))
    with pytest.raises(OwnTraceError, match="consent is missing or empty"):
        prof.parse(text.replace(f"consent = {json.dumps(CONSENT)}", 'consent = "  "'))
    with pytest.raises(OwnTraceError, match="not valid TOML"):
        prof.parse("id = ")
    with pytest.raises(OwnTraceError, match="cannot read study profile"):
        prof.load(tmp_path / "missing.toml")


def test_escalation_is_named() -> None:
    accepted = prof.Collect(key_text=False, apps_allowed=("XTerm",), apps_excluded=("Signal",))
    assert prof.Collect(key_text=False, apps_allowed=("xterm",), apps_excluded=("Signal",)).more_than(accepted) == []
    assert prof.Collect(key_text=False, screenshots=False, apps_allowed=("XTerm",), apps_excluded=("Signal", "Zoom")).more_than(accepted) == []
    more = prof.Collect(key_text=True, apps_allowed=(), apps_excluded=()).more_than(accepted)
    assert more == ["key text", "every app instead of XTerm", "apps no longer excluded: Signal"]
    assert prof.Collect(key_text=False, apps_allowed=("XTerm", "Firefox"), apps_excluded=("Signal",)).more_than(accepted) == ["apps Firefox"]


def test_the_library_join_checks_the_expected_fingerprint(home: Path, res, tmp_path: Path) -> None:
    p = res.signed(apps_allowed=("XTerm",))
    with pytest.raises(OwnTraceError, match=re.escape(f"signed by {res.keys.signing_fingerprint}, not SHA256:other")):
        consent.join(home, p, expect_fingerprint="SHA256:other")
    assert not (home / "studies" / "typing-study").exists()
    consent.join(home, p, expect_fingerprint=res.keys.signing_fingerprint)
    assert consent.require_state(home, "typing-study").version == p.version


def test_sign_file_writes_the_detached_layout_load_reads(res, tmp_path: Path) -> None:
    path = tmp_path / "study.toml"
    path.write_text(prof.to_toml(res.profile()))
    signed, target = prof.sign_file(path, res.keys.signing_key_path, detached=True)
    assert target == tmp_path / "study.toml.sig" and "[signature]" not in path.read_text()
    assert target.read_text() == prof.signature_toml(signed.signature)
    assert prof.load(path) == signed and prof.load(path).verify().fingerprint == res.keys.signing_fingerprint
    embedded = res.write(tmp_path / "embedded.toml", res.profile())
    signed, target = prof.sign_file(embedded, res.keys.signing_key_path)
    assert target == embedded and prof.parse(embedded.read_text()).verify() == signed.signature


def test_join_records_sealed_consent_and_policy_for_applies_it(home: Path, user, res) -> None:
    with pytest.raises(NotFound, match="not joined study 'typing-study'"):
        policy_for(home, "typing-study")
    p = res.signed(apps_allowed=("XTerm",))
    record = consent.join(home, p)
    policy = policy_for(home, "typing-study")
    assert (policy.key_text, policy.screenshots, policy.apps_allowed, policy.extra_deny) == (
        False, True, ("XTerm",), ("Project Nightjar",))
    assert policy.app_allowed("xterm") and not policy.app_allowed("Chromium")
    stored = json.loads(consent.load_consent(home, "typing-study", user))
    assert stored == json.loads(record.to_bytes())
    assert stored["profile_sha256"] == p.sha256 and stored["consent_text_sha256"] == p.consent_sha256
    assert stored["participant_id"] == consent.participant_id(bytes.fromhex(stored["participant_key"]))
    # sealed: neither the consent record nor the pseudonym is readable without the identity
    folder = home / "studies" / "typing-study"
    for f in folder.iterdir():
        assert record.participant_id.encode() not in f.read_bytes() and record.participant_key.encode() not in f.read_bytes()
    assert (folder / "consent.json.age").read_bytes().startswith(b"age-encryption.org/v1\n")
    assert "not a study id" in str(pytest.raises(OwnTraceError, policy_for, home, "../x").value)


def test_stored_profile_tampered_after_join_is_refused(home: Path, res) -> None:
    consent.join(home, res.signed(key_text=False))
    stored = home / "studies" / "typing-study" / "profile.toml"
    stored.write_text(stored.read_text().replace("key_text = false", "key_text = true"))
    with pytest.raises(OwnTraceError, match="does not match its content"):
        policy_for(home, "typing-study")
    # re-signed by someone else with the same content: not the profile consented to
    other = researcher(home.parent / "mallory")
    stored.write_text(prof.to_toml(other.signed(key_text=True)))
    with pytest.raises(OwnTraceError, match="not the one you consented to"):
        policy_for(home, "typing-study")


def test_new_versions_old_versions_and_other_signers(home: Path, user, res) -> None:
    v1 = res.signed(apps_allowed=("XTerm",))
    first = consent.join(home, v1)
    with pytest.raises(OwnTraceError, match="already joined study 'typing-study' version 1"):
        consent.check_join(home, v1)
    same_version = replace(with_collect(v1, screenshots=False)).signed(res.signing_key)
    with pytest.raises(OwnTraceError, match="differs from the one you joined under the same version"):
        consent.check_join(home, same_version)
    v2_more = replace(with_collect(v1, key_text=True), version=2).signed(res.signing_key)
    with pytest.raises(OwnTraceError, match="version 2 asks for more than you accepted: key text") as e:
        consent.check_join(home, v2_more)
    assert "--reconsent" in e.value.hint
    assert policy_for(home, "typing-study").key_text is False  # still the consented limits
    mallory = researcher(home.parent / "mallory")
    with pytest.raises(OwnTraceError, match="signed by a different key"):
        consent.check_join(home, replace(v1, version=3).signed(mallory.signing_key))
    with pytest.raises(OwnTraceError, match="updating a joined study needs your identity"):
        consent.join(home, v2_more, reconsent=True)
    again = consent.join(home, v2_more, reconsent=True, user=user)
    assert again.participant_id == first.participant_id and again.study_version == 2  # same pseudonym
    assert policy_for(home, "typing-study").key_text is True
    with pytest.raises(OwnTraceError, match="version 1 is older than version 2"):
        consent.check_join(home, v1)
    # a version asking for less needs no re-consent
    v3_less = replace(with_collect(v2_more, key_text=False, screenshots=False), version=3).signed(res.signing_key)
    consent.join(home, v3_less, user=user)
    assert policy_for(home, "typing-study").screenshots is False


def test_two_studies_get_unlinkable_keys(home: Path, user, res) -> None:
    a = consent.join(home, res.signed("study-a"))
    b = consent.join(home, res.signed("study-b"))
    assert a.participant_key != b.participant_key and a.participant_id != b.participant_id
    assert consent.study_signing_key(home, "study-a", user).public_key() != consent.study_signing_key(home, "study-b", user).public_key()
    assert [s.study_id for s in consent.joined(home)] == ["study-a", "study-b"]


def test_leave_writes_a_verifiable_notice_and_shreds(home: Path, user, res, tmp_path: Path) -> None:
    record = consent.join(home, res.signed())
    notice_path = tmp_path / "withdrawal.json"
    notice = withdraw.leave(home, "typing-study", user, notice_path)
    assert notice.participant_id == record.participant_id and notice.withdrawal_contact == "withdraw@uni.example"
    assert withdraw.read_notice(notice_path) == notice
    assert not (home / "studies" / "typing-study").exists()
    with pytest.raises(NotFound):
        policy_for(home, "typing-study")
    # forged: someone else's id under the same key, or an edited notice
    body = json.loads(notice_path.read_text())
    body["notice"]["participant_id"] = "p-" + "0" * 32
    notice_path.write_text(json.dumps(body))
    with pytest.raises(OwnTraceError, match="participant id does not match its key"):
        withdraw.read_notice(notice_path)
    body["notice"]["participant_id"] = record.participant_id
    body["notice"]["study_id"] = "other-study"
    notice_path.write_text(json.dumps(body))
    with pytest.raises(OwnTraceError, match="signature does not verify"):
        withdraw.read_notice(notice_path)
    # rejoining afterwards starts a new pseudonym
    assert consent.join(home, res.signed()).participant_id != record.participant_id


def test_cli_researcher_and_participant(home: Path, tmp_path: Path, cli, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    r = cli("study", "keygen", "--out", str(tmp_path / "rk"))
    assert r.returncode == 0, r.stderr
    recipient = (tmp_path / "rk" / "donations.pub").read_text().strip()
    fp = r.stdout.split("signing fingerprint: ")[1].split()[0]
    (tmp_path / "consent.txt").write_text(CONSENT)
    profile = tmp_path / "study.toml"
    r = cli("study", "create", "--id", "cli-study", "--title", "CLI study", "--researcher", "Dr B",
            "--consent-file", str(tmp_path / "consent.txt"), "--recipient", recipient, "--out", str(profile),
            "--no-key-text", "--app", "XTerm", "--deny", "Nightjar", "--withdrawal-contact", "b@uni.example")
    assert r.returncode == 0, r.stderr
    r = cli("study", "join", str(profile), "--yes")
    assert r.returncode == 2 and r.stderr.startswith("error: study profile 'cli-study' is not signed"), r.stderr
    r = cli("study", "sign", str(profile), "--key", str(tmp_path / "rk" / "profile-signing.key"), "--detached")
    assert r.returncode == 0 and fp in r.stdout, r.stderr
    assert "[signature]" not in profile.read_text() and Path(f"{profile}.sig").exists()
    r = cli("study", "join", str(profile))  # no terminal and no --yes: refused, nothing recorded
    assert r.returncode == 2 and "consent not given" in r.stderr and not (home / "studies" / "cli-study").exists()
    r = cli("study", "join", str(profile), "--yes", "--expect-fingerprint", "SHA256:somebodyelse")
    assert r.returncode == 2 and r.stderr.startswith(f"error: the profile is signed by {fp}, not SHA256:somebodyelse")
    r = cli("study", "join", str(profile), "--yes", "--expect-fingerprint", fp)
    assert r.returncode == 0, r.stderr
    assert fp in r.stdout and "I can withdraw at any time." in r.stdout
    assert "typed text (key characters): no" in r.stdout and "apps recorded:               XTerm" in r.stdout
    assert "always redacted:             Nightjar" in r.stdout
    r = cli("study", "list")
    assert "cli-study  v1  CLI study" in r.stdout
    r = cli("study", "leave", "cli-study", "--yes")
    assert r.returncode == 0, r.stderr
    assert "b@uni.example" in r.stdout and withdraw.read_notice(tmp_path / "withdrawal-cli-study.json")
    r = cli("study", "leave", "cli-study", "--yes")
    assert r.returncode == 2 and r.stderr.startswith("error: you have not joined study 'cli-study'")
    # signed, then tampered: one clear line, no traceback, as a user sees it in a shell, and no network
    Path(f"{profile}.sig").unlink()
    assert cli("study", "sign", str(profile), "--key", str(tmp_path / "rk" / "profile-signing.key")).returncode == 0
    signed = tmp_path / "signed.toml"
    signed.write_text(profile.read_text().replace("key_text = false", "key_text = true"))
    proc, connects = traced([*OWNTRACE, "study", "join", str(signed), "--yes"], tmp_path / "strace.log",
                            env=dict(os.environ), capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.splitlines()[0] == (
        "error: study profile 'cli-study': the signature does not match its content (tampered or corrupt)")
    assert not [c for c in connects if c.outbound]


@settings(max_examples=200, deadline=None)
@given(cut=st.integers(0, 2000), junk=st.text(max_size=30), drop=st.integers(0, 40))
def test_mangled_profiles_give_one_clear_error(cut, junk, drop) -> None:
    text = SIGNED_TEXT[:cut] + junk + SIGNED_TEXT[cut + drop:]
    try:
        prof.parse(text).verify()
    except OwnTraceError as e:
        assert e.message and "\n" not in e.message.strip()


@settings(max_examples=200, deadline=None)
@given(obj=st.dictionaries(st.sampled_from(sorted(prof._TOP_KEYS)), st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3), max_leaves=8)))
def test_any_structure_parses_or_is_refused(obj) -> None:
    try:
        prof.from_obj({"format": 1, **obj})
    except OwnTraceError:
        pass


def test_cli_bad_paths_are_one_line_errors(home: Path, tmp_path: Path, cli) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    r = cli("study", "keygen", "--out", str(a_file))
    assert r.returncode == 2 and r.stderr.startswith(f"error: cannot create {a_file}")
    r = cli("study", "sign", str(tmp_path / "nope.toml"), "--key", str(a_file))
    assert r.returncode == 2 and r.stderr.startswith("error: cannot read study profile")
    res = researcher(tmp_path / "rk")
    profile = res.write(tmp_path / "p.toml", res.signed())
    r = cli("study", "sign", str(profile), "--key", str(res.keys.identity_path))
    assert r.returncode == 2 and r.stderr.startswith(f"error: {res.keys.identity_path} is not an unencrypted PEM private key")
    r = cli("study", "ingest", str(a_file), "--identity", str(res.keys.identity_path), "--profile", str(profile),
            "--out", str(a_file))
    assert r.returncode == 2 and r.stderr.startswith(f"error: cannot create the dataset folder {a_file}")
    r = cli("study", "ingest", str(a_file), "--identity", str(a_file), "--profile", str(profile), "--out", str(tmp_path / "d"))
    assert r.returncode == 2 and r.stderr.startswith("error: not an age X25519 identity file")
    r = cli("study", "join", str(profile), "--yes", "--signature", str(tmp_path / "missing.sig"))
    assert r.returncode == 0  # the embedded signature is used; a detached one is read only when the profile has none
    assert "Traceback" not in r.stderr
