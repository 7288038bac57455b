"""Issue 14, items 1, 2, 4 and 6 (bundles): hostile bundles and donations, each input exactly as
the probe found it, give one line or one rejection; never a traceback, a hang or a memory blow-up.

Hangs are failures through subprocess timeouts (generous: a loaded machine must not fail them,
while the unbounded code took minutes on the same inputs)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import pyarrow.parquet as pq
import pyrage
import pytest

from recorder import limits
from recorder.errors import MalformedInput
from recorder.export.bundle import export_session, sign_manifest
from recorder.export.verify import read_bundle, verify_bundle
from recorder.keys import parse_recipient
from recorder.redact.view import RedactedView
from recorder.review import approval
from recorder.study import consent, ingest
from tests.support.cli import OWNTRACE
from tests.support.fuzz_kit import tar_of
from tests.support.review_kit import standard_session
from tests.support.study import donation, identity_and_recipient

HANG_S = 60  # the unbounded parse took 69 s (400 KB line) to 291 s (800 KB); the bounded one < 1 s


def owntrace(*args: str, timeout: float = HANG_S) -> subprocess.CompletedProcess:
    return subprocess.run([*OWNTRACE, *args], capture_output=True, text=True, timeout=timeout)


def one_line_error(r: subprocess.CompletedProcess | object) -> str:
    err = r.stderr
    assert "Traceback" not in err, err
    assert err.startswith("error: "), err
    return err.splitlines()[0]


def resigned(files: dict[str, bytes], key, bundle_id: str) -> dict[str, bytes]:
    """The donation as its participant would sign it after changing its files: hashes match."""
    manifest = json.loads(files["manifest.json"])
    manifest["bundle_id"] = bundle_id
    for f in manifest["files"]:
        f["size"], f["sha256"] = len(files[f["path"]]), hashlib.sha256(files[f["path"]]).hexdigest()
    files["manifest.json"], files["manifest.sig"] = sign_manifest(manifest, key)
    return files


@pytest.fixture
def zip_bundle(home: Path, user, tmp_path: Path) -> Path:
    s = standard_session(home)
    approval.approve(RedactedView(s, user))
    export_session(home, s, user, tmp_path / "b.zip", fmt="zip")
    return tmp_path / "b.zip"


# --- 1: one donation stops all of `study ingest` ---

def test_one_hostile_donation_is_rejected_and_the_rest_ingested(home: Path, user, res, joined, tmp_path: Path) -> None:
    ident_path, recipient = identity_and_recipient(res)
    identity = ingest.read_identity(ident_path)
    good = donation(home, user, tmp_path, name="good.age")
    base = read_bundle(good, [identity])[1]
    key = consent.study_signing_key(home, "typing-study", user)
    hostile = {}
    # encrypted to the study's public recipient: anyone can make one
    hostile["brackets.age"] = {**base, "manifest.json": b"[" * 100000}
    hostile["utf16.age"] = resigned({**base, "episode.json": base["episode.json"].decode().encode("utf-16")}, key, "utf16")
    hostile["nested.age"] = resigned({**base, "steps.jsonl": b"[" * 50000 + b"]" * 50000 + b"\n"}, key, "nested")
    for name, files in hostile.items():
        (tmp_path / name).write_bytes(pyrage.encrypt(tar_of(files), [parse_recipient(recipient)]))
    second = donation(home, user, tmp_path, name="second.age")
    bundles = [good, *(tmp_path / n for n in hostile), second]
    report = ingest.ingest(bundles, identity, [joined], tmp_path / "ds")
    reasons = {Path(r.path).name: r.reason for r in report.rejected}
    assert report.accepted == 2 and set(reasons) == set(hostile)
    assert reasons["brackets.age"].startswith("tampered or damaged: modified: manifest.json is not a valid manifest")
    assert reasons["utf16.age"].startswith("episode.json is not valid UTF-8 JSON")
    assert reasons["nested.age"].startswith("steps.jsonl is not valid UTF-8 JSON lines (JSON nested more than 32 deep)")
    assert pq.read_table(tmp_path / "ds" / "episodes.parquet").num_rows == 2


def test_cli_ingest_goes_on_past_a_nested_manifest(home: Path, user, res, joined, tmp_path: Path) -> None:
    ident_path, recipient = identity_and_recipient(res)
    good = donation(home, user, tmp_path, name="good.age")
    bad = tmp_path / "bad.age"
    bad.write_bytes(pyrage.encrypt(tar_of({"manifest.json": b"[" * 100000}), [parse_recipient(recipient)]))
    profile = res.write(tmp_path / "study.toml", joined)
    r = owntrace("study", "ingest", str(bad), str(good), "--identity", str(ident_path), "--profile", str(profile),
                 "--out", str(tmp_path / "ds"))
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    assert "1 donation(s) accepted" in r.stdout and f"rejected {bad}: tampered or damaged" in r.stdout


# --- 2: oversized age headers hang verify and ingest ---

HEADERS = {
    "line-400k": b"age-encryption.org/v1\n-> X25519 " + b"A" * 400000 + b"\n--- xx\n",
    "line-800k": b"age-encryption.org/v1\n-> X25519 " + b"A" * 800000 + b"\n--- xx\n",
    "stanzas-2000": b"age-encryption.org/v1\n" + b"-> X25519 AAAA\nAAAA\n" * 2000 + b"--- xx\n",
    "header-10m": b"age-encryption.org/v1\n-> X25519 AAAA\n" + (b"B" * 64 + b"\n") * 160000 + b"C\n--- xx\n",
}


@pytest.mark.parametrize("name", sorted(HEADERS))
def test_oversized_age_header_is_refused_like_stock_age(name: str, tmp_path: Path) -> None:
    h = tmp_path / "h.age"
    h.write_bytes(HEADERS[name])
    key = tmp_path / "rcpt.key"
    subprocess.run(["age-keygen", "-o", str(key)], check=True, capture_output=True)
    stock = subprocess.run(["age", "-d", "-i", str(key), str(h)], capture_output=True, timeout=HANG_S)
    assert stock.returncode != 0  # stock age refuses it too
    r = owntrace("verify", str(h), "--identity", str(key))
    assert r.returncode == MalformedInput.exit_code
    assert "malformed age header" in one_line_error(r)


@pytest.mark.timeout(HANG_S)
def test_oversized_header_donation_is_rejected_in_ingest(home: Path, user, res, joined, tmp_path: Path) -> None:
    good = donation(home, user, tmp_path, name="good.age")
    (tmp_path / "h.age").write_bytes(HEADERS["line-400k"])
    report = ingest.ingest([tmp_path / "h.age", good], ingest.read_identity(res.keys.identity_path), [joined], tmp_path / "ds")
    assert report.accepted == 1 and "malformed age header (a line longer than 1024 bytes)" in report.rejected[0].reason


def test_age_header_bounds_accept_what_age_writes(tmp_path: Path) -> None:
    """Many recipients, armor, and a scrypt stanza: within the bounds, as age writes them."""
    ident = pyrage.x25519.Identity.generate()
    others = [str(pyrage.x25519.Identity.generate().to_public()) for _ in range(50)]
    args = [a for r in [str(ident.to_public()), *others] for a in ("-r", r)]
    for armor in ([], ["-a"]):
        ct = subprocess.run(["age", *armor, *args], input=b"payload", capture_output=True, check=True).stdout
        assert pyrage.decrypt(limits.age_binary(ct, "f"), [ident]) == b"payload"
    with pytest.raises(MalformedInput, match="more than 256 recipient stanzas"):
        limits.check_age_header(HEADERS["stanzas-2000"], "f")


# --- 4: unbounded decompression ---

def _peak_rss_mb(code: str) -> tuple[float, str]:
    """Run `code` in a fresh interpreter; its peak RSS in MB and its last output line."""
    # VmHWM, not ru_maxrss: the latter starts at the forking parent's (pytest's) peak
    script = code + "\nprint([int(ln.split()[1]) / 1024 for ln in open('/proc/self/status') if ln.startswith('VmHWM')][0])"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=HANG_S * 2)
    assert out.returncode == 0 and "Traceback" not in out.stderr, out.stderr
    lines = out.stdout.splitlines()
    return float(lines[-1]), lines[0]


def test_zip_bomb_member_is_read_only_as_far_as_declared(zip_bundle: Path, tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(zip_bundle) as z, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as out:
        for info in z.infolist():
            if info.filename == "steps.jsonl":  # 700 MB of zeros, 0.7 MB compressed
                with out.open(info.filename, "w", force_zip64=True) as f:
                    block = bytes(1 << 20)
                    for _ in range(700):
                        f.write(block)
            else:
                out.writestr(info, z.read(info))
    assert bomb.stat().st_size < 2 * 1024 * 1024
    peak, problems = _peak_rss_mb(
        f"from recorder.export.verify import verify_bundle; print(verify_bundle({str(bomb)!r}).problems)")
    assert problems == "['modified: steps.jsonl']"
    assert peak < 400, f"verify peaked at {peak:.0f} MB"


def test_sparse_tar_member_is_refused(home: Path, user, res, joined, tmp_path: Path) -> None:
    good = donation(home, user, tmp_path, name="good.age")
    identity = ingest.read_identity(res.keys.identity_path)
    files = read_bundle(good, [identity])[1]
    folder = tmp_path / "content"
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    with open(folder / "frames" / "huge.png", "wb") as f:  # 600 MB, one hole
        f.truncate(600 * 1024 * 1024)
    subprocess.run(["tar", "--sparse", "--format=gnu", "-cf", str(tmp_path / "s.tar"), "-C", str(folder), "."],
                   check=True, timeout=HANG_S)
    sparse = tmp_path / "sparse.age"
    sparse.write_bytes(pyrage.encrypt((tmp_path / "s.tar").read_bytes(), [parse_recipient(res.keys.recipient)]))
    assert sparse.stat().st_size < 100 * 1024
    peak, line = _peak_rss_mb(
        "from pathlib import Path\nfrom recorder.study import ingest\n"
        f"i = ingest.read_identity(Path({str(res.keys.identity_path)!r}))\n"
        f"try:\n    ingest.open_donation(Path({str(sparse)!r}), i)\nexcept ingest.Rejected as e:\n    print(e)")
    assert "which is not a plain file" in line
    assert peak < 400, f"ingest peaked at {peak:.0f} MB"


@pytest.mark.timeout(HANG_S)
def test_fifo_and_link_in_a_dir_bundle_are_reported(home: Path, user, tmp_path: Path, cli) -> None:
    s = standard_session(home)
    approval.approve(RedactedView(s, user))
    export_session(home, s, user, tmp_path / "b")
    os.mkfifo(tmp_path / "b" / "x")
    r = cli("verify", str(tmp_path / "b"))  # reading the FIFO would block forever
    assert r.returncode == MalformedInput.exit_code and "x is not a plain file" in one_line_error(r)
    os.unlink(tmp_path / "b" / "x")
    os.symlink("/etc/passwd", tmp_path / "b" / "y")
    assert "y is a symbolic link" in one_line_error(cli("verify", str(tmp_path / "b")))


def test_declared_sizes_cap_the_whole_bundle(zip_bundle: Path) -> None:
    small = limits.Limits(bundle_bytes=1000)
    with pytest.raises(MalformedInput, match="its manifest declares more than"):
        verify_bundle(zip_bundle, limits=small)


# --- 6: tracebacks instead of one line (verify) ---

def _patch_zip(src: Path, dst: Path, *, flag: int = 0, method: int | None = None) -> Path:
    """A copy of the zip with a flag bit set / the compression method changed in every header."""
    data = bytearray(src.read_bytes())
    for sig, flag_at, method_at in ((b"PK\x03\x04", 6, 8), (b"PK\x01\x02", 8, 10)):
        pos = data.find(sig)
        while pos >= 0:
            struct.pack_into("<H", data, pos + flag_at, struct.unpack_from("<H", data, pos + flag_at)[0] | flag)
            if method is not None:
                struct.pack_into("<H", data, pos + method_at, method)
            pos = data.find(sig, pos + 4)
    dst.write_bytes(bytes(data))
    return dst


def _deflated_data_offset(z: Path, name: str) -> int:
    with zipfile.ZipFile(z) as zf:
        info = zf.getinfo(name)
    data = z.read_bytes()
    n, m = struct.unpack_from("<HH", data, info.header_offset + 26)
    return info.header_offset + 30 + n + m + info.compress_size // 2


def test_broken_zips_are_one_line_malformed(zip_bundle: Path, tmp_path: Path, cli) -> None:
    data = bytearray(zip_bundle.read_bytes())
    data[_deflated_data_offset(zip_bundle, "steps.jsonl")] ^= 0xFF
    (tmp_path / "flip.zip").write_bytes(bytes(data))
    cases = {
        "flip.zip": tmp_path / "flip.zip",
        "encrypted.zip": _patch_zip(zip_bundle, tmp_path / "encrypted.zip", flag=1),
        "method99.zip": _patch_zip(zip_bundle, tmp_path / "method99.zip", method=99),
    }
    for name, path in cases.items():
        r = cli("verify", str(path))
        assert r.returncode == MalformedInput.exit_code, (name, r)
        line = one_line_error(r)
        assert line.startswith(("error: " + str(path) + " is not a readable zip", f"error: {path}: ")), line
    assert "is encrypted" in cli("verify", str(cases["encrypted.zip"])).stderr
    assert "compression method 99" in cli("verify", str(cases["method99.zip"])).stderr


@pytest.mark.parametrize("edit,reason", [
    (lambda m: {**m, "signer": "x"}, "manifest.signer should be an object"),
    (lambda m: {**m, "files": [{**m["files"][0], "size": "big"}, *m["files"][1:]]}, "manifest.files[0].size should be an integer"),
    (lambda m: {**m, "files": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}, "nested more than 32 deep"),
])
def test_malformed_manifests_are_one_line_with_the_malformed_exit_code(home: Path, user, tmp_path: Path, cli, edit, reason) -> None:
    s = standard_session(home)
    approval.approve(RedactedView(s, user))
    export_session(home, s, user, tmp_path / "b")
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    (tmp_path / "b" / "manifest.json").write_text(json.dumps(edit(manifest)))
    r = cli("verify", str(tmp_path / "b"))
    assert r.returncode == MalformedInput.exit_code and "Traceback" not in r.stderr
    assert reason in r.stderr and "cannot be checked (malformed)" in r.stderr
    shutil.rmtree(tmp_path / "b")


def test_nested_manifest_at_depth_100000_is_one_line(home: Path, user, tmp_path: Path, cli) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "manifest.json").write_bytes(b"[" * 100000)
    r = cli("verify", str(tmp_path / "b"))
    assert r.returncode == MalformedInput.exit_code and "nested more than 32 deep" in r.stderr


def test_tampered_and_malformed_have_different_exit_codes(zip_bundle: Path, tmp_path: Path, cli) -> None:
    with zipfile.ZipFile(zip_bundle) as z, zipfile.ZipFile(tmp_path / "t.zip", "w") as t:
        for name in z.namelist():
            t.writestr(name, b"{}\n" if name == "episode.json" else z.read(name))
    tampered = cli("verify", str(tmp_path / "t.zip"))
    (tmp_path / "junk.zip").write_bytes(b"PK" + zlib.compress(b"junk"))
    malformed = cli("verify", str(tmp_path / "junk.zip"))
    assert (tampered.returncode, malformed.returncode) == (1, 3)
    assert "FAIL modified: episode.json" in tampered.stderr and one_line_error(malformed)
