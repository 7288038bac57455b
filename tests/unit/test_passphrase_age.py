"""age passphrase files: every rule of the scrypt recipient and the STREAM payload, and
interoperation with pyrage and the stock `age` CLI both ways."""

from __future__ import annotations

import os
import pty

import pyrage
import pytest

from recorder import passphrase_age as pf

PW = "correct horse battery staple"
FAST = 10  # tests need no real work factor; the format is the same


@pytest.mark.parametrize("size", [0, 1, pf.CHUNK - 1, pf.CHUNK, pf.CHUNK + 1, 2 * pf.CHUNK])
def test_round_trip_and_pyrage_reads_it(size):
    data = os.urandom(size)
    blob = pf.encrypt(data, PW, work_factor=FAST)
    assert pf.decrypt(blob, PW) == data
    assert pyrage.passphrase.decrypt(blob, PW) == data


def test_reads_what_pyrage_wrote():
    blob = pyrage.passphrase.encrypt(b"secret text", PW)
    assert pf.decrypt(blob, PW) == b"secret text"


def test_the_default_work_factor_is_fixed():
    header = pf.encrypt(b"x", PW).split(b"\n")[1]
    assert header.startswith(b"-> scrypt ") and header.endswith(b" 18")


def test_wrong_passphrase_is_told_apart_from_damage():
    blob = pf.encrypt(b"x", PW, work_factor=FAST)
    with pytest.raises(pf.WrongPassphrase):
        pf.decrypt(blob, "not it")
    for broken in (blob[:-1], blob[:40], b"hello", blob.replace(b"--- ", b"---x", 1)):
        with pytest.raises(pf.DecryptError) as e:
            pf.decrypt(broken, PW)
        assert not isinstance(e.value, pf.WrongPassphrase)
    flipped = bytearray(blob)
    flipped[-5] ^= 1
    with pytest.raises(pf.DecryptError, match="payload is corrupt"):
        pf.decrypt(bytes(flipped), PW)


def test_header_rules():
    blob = pf.encrypt(b"x", PW, work_factor=FAST)
    lines = blob.split(b"\n")
    too_hard = blob.replace(lines[1], lines[1].rsplit(b" ", 1)[0] + b" 23", 1)
    with pytest.raises(pf.DecryptError, match="work factor 23, above the limit of 22"):
        pf.decrypt(too_hard, PW)
    other_mac = b"--- " + pf._b64(bytes(32))
    with pytest.raises(pf.DecryptError, match="header MAC"):
        pf.decrypt(blob.replace(lines[3][:47], other_mac, 1), PW)
    leading_zero = blob.replace(lines[1], lines[1].rsplit(b" ", 1)[0] + b" 010", 1)
    with pytest.raises(pf.DecryptError, match="malformed"):
        pf.decrypt(leading_zero, PW)
    padded = blob.replace(lines[2], lines[2] + b"=", 1)
    with pytest.raises(pf.DecryptError, match="base64"):
        pf.decrypt(padded, PW)
    two_stanzas = blob.replace(lines[2] + b"\n", lines[2] + b"\n-> X25519 abc\n" + lines[2] + b"\n", 1)
    with pytest.raises(pf.DecryptError, match="one scrypt stanza"):
        pf.decrypt(two_stanzas, PW)


def _age_on_a_terminal(args: list[str], answers: int) -> None:
    """Stock age reads a passphrase only from a terminal: run it on one and answer it."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp("age", ["age", *args])
    for _ in range(answers):
        os.write(fd, (PW + "\n").encode())
    try:
        while os.read(fd, 4096):
            pass
    except OSError:  # the terminal closes when age exits
        pass
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_stock_age_decrypts_it(tmp_path):
    src = tmp_path / "in.age"
    src.write_bytes(pf.encrypt(b"hello from owntrace\n", PW, work_factor=FAST))
    out = tmp_path / "out"
    _age_on_a_terminal(["-d", "-o", str(out), str(src)], answers=1)
    assert out.read_bytes() == b"hello from owntrace\n"


def test_it_decrypts_stock_age(tmp_path):
    plain = tmp_path / "plain"
    plain.write_bytes(b"written by age\n")
    sealed = tmp_path / "sealed.age"
    _age_on_a_terminal(["-p", "-o", str(sealed), str(plain)], answers=2)  # the passphrase, then again
    assert pf.decrypt(sealed.read_bytes(), PW) == b"written by age\n"
