"""verify: every flipped byte, added or removed file is caught and named; hostile input is a clean error."""

from __future__ import annotations

import base64
import json
import os
import shutil
import zipfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyrage import x25519
from typer.testing import CliRunner

from recorder.cli import app
from recorder.errors import OwnTraceError
from recorder.export import trust
from recorder.export.bundle import export_session, sign_manifest
from recorder.export.verify import verify_bundle
from recorder.hashing import sha256
from recorder.keys import fingerprint, public_hex
from recorder.redact.view import RedactedView
from recorder.review import approval
from tests.support.review_kit import standard_session


@pytest.fixture
def bundle(home: Path, user, tmp_path: Path) -> Path:
    s = standard_session(home)
    approval.approve(RedactedView(s, user))
    export_session(home, s, user, tmp_path / "b")
    return tmp_path / "b"


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_any_flipped_byte_in_any_file_fails_and_is_named(bundle: Path) -> None:
    assert verify_bundle(bundle).ok
    for f in _files(bundle):
        data = f.read_bytes()
        for pos in {0, len(data) // 2, len(data) - 1}:
            f.write_bytes(data[:pos] + bytes([data[pos] ^ 0x01]) + data[pos + 1:])
            r = verify_bundle(bundle)
            rel = f.relative_to(bundle).as_posix()
            assert not r.ok, (rel, pos)
            if rel not in ("manifest.json", "manifest.sig"):
                assert f"modified: {rel}" in r.problems
            f.write_bytes(data)
    assert verify_bundle(bundle).ok


def test_added_and_missing_files_are_named(bundle: Path) -> None:
    (bundle / "frames/000009.png").write_bytes(b"extra")
    (bundle / "notes.txt").write_text("hi")
    os.unlink(bundle / "frames/000001.png")
    r = verify_bundle(bundle)
    assert set(r.problems) == {"added: frames/000009.png", "added: notes.txt", "missing: frames/000001.png"}
    os.unlink(bundle / "manifest.sig")
    assert "missing: manifest.sig" in verify_bundle(bundle).problems
    os.unlink(bundle / "manifest.json")
    assert verify_bundle(bundle).problems == ["missing: manifest.json"]


def test_resigned_forgery_passes_the_hashes_but_not_a_pinned_signer(bundle: Path, user) -> None:
    _resign(bundle)
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert verify_bundle(bundle).ok  # self-consistent...
    r = verify_bundle(bundle, signer=user.signing_public_hex())
    assert not r.ok and r.problems[0].startswith("signer: signed by")  # ...but not by the user
    # the right key over different bytes: the signature check names it
    manifest["signer"]["public_key"] = user.signing_public_hex()
    (bundle / "manifest.json").write_bytes(json.dumps(manifest).encode())
    assert any(p.startswith("signature:") for p in verify_bundle(bundle).problems)


def test_zip_and_age_tampering(home: Path, user, tmp_path: Path) -> None:
    s = standard_session(home)
    approval.approve(RedactedView(s, user))
    ident = x25519.Identity.generate()
    export_session(home, s, user, tmp_path / "b.zip", fmt="zip")
    export_session(home, s, user, tmp_path / "b.age", fmt="age", recipients=[ident.to_public()])
    # rewrite one member of the zip
    with zipfile.ZipFile(tmp_path / "b.zip") as z, zipfile.ZipFile(tmp_path / "t.zip", "w") as t:
        for name in z.namelist():
            t.writestr(name, b"{}\n" if name == "episode.json" else z.read(name))
    assert verify_bundle(tmp_path / "t.zip").problems == ["modified: episode.json"]
    data = (tmp_path / "b.age").read_bytes()
    (tmp_path / "t.age").write_bytes(data[:-40] + bytes([data[-40] ^ 1]) + data[-39:])
    with pytest.raises(OwnTraceError, match="cannot be decrypted"):
        verify_bundle(tmp_path / "t.age", [ident])
    with pytest.raises(OwnTraceError, match="cannot be decrypted"):
        verify_bundle(tmp_path / "b.age", [x25519.Identity.generate()])
    with pytest.raises(OwnTraceError, match="is encrypted"):
        verify_bundle(tmp_path / "b.age")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(min_value=0, max_value=4000), junk=st.binary(max_size=64))
def test_hostile_files_give_clean_errors(tmp_path: Path, cut: int, junk: bytes) -> None:
    """Truncated or garbled zips and random files: an OwnTraceError or a failed result, never a crash."""
    z = tmp_path / "x.zip"
    if not z.exists():
        with zipfile.ZipFile(z, "w") as zf:
            zf.writestr("manifest.json", json.dumps({"format": "owntrace-bundle/1", "files": [{"path": "a"}]}))
            zf.writestr("manifest.sig", base64.b64encode(b"x" * 64))
            zf.writestr("a", b"a" * 3000)
    data = z.read_bytes()
    target = tmp_path / "y"
    target.write_bytes(data[:cut] + junk)
    try:
        assert not verify_bundle(target).ok
    except OwnTraceError:
        pass


def test_verify_cli_exit_codes(bundle: Path, user, tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["verify", str(bundle), "--signer", user.signing_public_hex()])
    assert ok.exit_code == 0 and "OK: signed by SHA256:" in ok.output and "6 steps" in ok.output
    shutil.copytree(bundle, tmp_path / "c")
    with open(tmp_path / "c/steps.jsonl", "ab") as f:
        f.write(b" ")
    bad = runner.invoke(app, ["verify", str(tmp_path / "c")])
    assert bad.exit_code == 1 and "FAIL modified: steps.jsonl" in bad.output
    (tmp_path / "junk").write_bytes(b"hello")
    junk = runner.invoke(app, ["verify", str(tmp_path / "junk")])
    assert junk.exit_code != 0 and isinstance(junk.exception, (OwnTraceError, SystemExit))


def _resign(bundle: Path) -> str:
    """The probe's forgery: content changed, and the manifest signed again with another key."""
    (bundle / "steps.jsonl").write_text("{}\n")
    manifest = json.loads((bundle / "manifest.json").read_text())
    for f in manifest["files"]:
        if f["path"] == "steps.jsonl":
            f["size"], f["sha256"] = 3, sha256(b"{}\n")
    forger = Ed25519PrivateKey.generate()
    manifest["signer"]["public_key"] = public_hex(forger)
    data, sig = sign_manifest(manifest, forger)
    (bundle / "manifest.json").write_bytes(data)
    (bundle / "manifest.sig").write_bytes(sig)
    return public_hex(forger)


def test_verify_names_the_signer_and_checks_it_against_a_key_the_person_gave_or_trusted(
        home: Path, bundle: Path, user, tmp_path: Path) -> None:
    # issue 22, item 4: a re-signed bundle got "OK: signature valid" unless --signer was given
    runner = CliRunner()
    mine = fingerprint(bytes.fromhex(user.signing_public_hex()))
    shutil.copytree(bundle, tmp_path / "forged")
    forger = fingerprint(bytes.fromhex(_resign(tmp_path / "forged")))
    r = runner.invoke(app, ["verify", str(tmp_path / "forged")])
    assert r.exit_code == 4 and r.output.startswith(f"signer   {forger}  a key you have NOT given")
    assert "SELF-CONSISTENT ONLY" in r.output and "OK" not in r.output
    r = runner.invoke(app, ["verify", str(tmp_path / "forged"), "--signer", mine])  # the fingerprint works too
    assert r.exit_code == 1 and r.output.startswith(f"signer   {forger}  NOT the key you gave")
    assert f"FAIL signer: signed by {forger}, not by the key you gave ({mine})" in r.output
    # the person checks the sender's key once, and trusts it
    r = runner.invoke(app, ["verify", str(bundle), "--signer", mine, "--trust"])
    assert r.exit_code == 0 and f"trusted {mine} from now on" in r.output
    assert (home / trust.FILE).stat().st_mode & 0o077 == 0
    r = runner.invoke(app, ["verify", str(bundle)])
    assert r.exit_code == 0 and r.output.startswith(f"signer   {mine}  a key you trusted on ")
    assert f"OK: signed by {mine}, a key you trust" in r.output
    r = runner.invoke(app, ["verify", str(tmp_path / "forged")])  # a trusted key does not vouch for another
    assert r.exit_code == 4 and r.output.startswith(f"signer   {forger}  a key you have NOT given")
    assert mine in runner.invoke(app, ["trust", "list"]).output
    assert runner.invoke(app, ["trust", "remove", mine]).exit_code == 0
    assert runner.invoke(app, ["verify", str(bundle)]).exit_code == 4
    assert runner.invoke(app, ["trust", "add", "SHA256:abc"]).exit_code != 0  # a key, not a fingerprint


def test_export_says_how_the_recipient_checks_the_signer(home: Path, user, tmp_path: Path, cli) -> None:
    s = standard_session(home)
    approval.approve(RedactedView(s, user))
    r = cli("export", s.id, "--out", str(tmp_path / "b"))
    fp = fingerprint(bytes.fromhex(user.signing_public_hex()))
    assert r.returncode == 0 and f"signed by {fp}" in r.stdout and f"--signer {fp}" in r.stdout
