"""Issue 22, item 2: every file OwnTrace reads from a path it did not write is opened
non-blocking and read capped. The probe's `owntrace study join /dev/zero -y` grew to 9.9 GB
printing nothing; a 300 MB sparse profile, config.toml or withdrawal notice peaked at 680-740 MB
before its "larger than 1024 KiB". Each reader is replayed here with both, and with FIFOs."""

from __future__ import annotations

import os
import threading
import time
import tracemalloc
from pathlib import Path

import pytest

from recorder import limits
from recorder.study import profile as prof

PEAK_MB = 40  # what a reader may allocate while refusing: twice its cap (redact-text's 16 MiB is the largest)


@pytest.fixture(scope="module")
def sparse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sparse") / "sparse-300MB"
    with open(path, "wb") as f:
        f.truncate(300 * 1024**2)
    return path


@pytest.fixture
def files(tmp_path: Path, res) -> dict[str, Path]:
    unsigned = res.write(tmp_path / "unsigned.toml", res.profile())
    return {"profile": res.write(tmp_path / "profile.toml", res.signed()), "unsigned": unsigned,
            "identity": res.keys.identity_path}


READERS = {
    "study profile": ["study", "join", "{P}", "--yes"],
    "detached signature": ["study", "join", "{unsigned}", "--signature", "{P}", "--yes"],
    "config.toml": ["approve", "--yes"],
    "withdrawal notice": ["study", "ingest", "/dev/null", "--identity", "{identity}", "--profile", "{profile}",
                          "--out", "{tmp}/d", "--withdrawals", "{P}"],
    "donations identity": ["study", "ingest", "/dev/null", "--identity", "{P}", "--profile", "{profile}", "--out", "{tmp}/d"],
    "verify identity": ["verify", "{tmp}/none.age", "--identity", "{P}"],
    "consent text": ["study", "create", "--id", "s", "--title", "t", "--researcher", "r", "--consent-file", "{P}",
                     "--recipient", "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj", "--out", "{tmp}/n.toml"],
    "signing key": ["study", "sign", "{unsigned}", "--key", "{P}"],
    "passphrase file": ["recover", "nothing", "--passphrase-file", "{P}"],
    "text": ["redact-text", "{P}"],
    "image": ["redact-image", "{P}", "-o", "{tmp}/out.png"],
}


@pytest.fixture
def endless(tmp_path: Path):
    """/dev/zero, or where device nodes cannot be opened (a chroot on a nodev mount: the fresh
    Debian root's case), a FIFO that a thread fills with zeros for as long as it is read."""
    try:
        os.close(os.open("/dev/zero", os.O_RDONLY))
        yield Path("/dev/zero")
        return
    except PermissionError:
        pass
    fifo = tmp_path / "zero"
    os.mkfifo(fifo)
    stop = threading.Event()

    def fill() -> None:
        while not stop.is_set():
            try:
                fd = os.open(fifo, os.O_WRONLY)
            except OSError:
                return
            try:
                while not stop.is_set():
                    os.write(fd, bytes(65536))
            except BrokenPipeError:
                pass
            finally:
                os.close(fd)

    t = threading.Thread(target=fill, daemon=True)
    t.start()
    yield fifo
    stop.set()
    try:  # unblock a writer waiting for a reader
        os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))
    except OSError:
        pass
    t.join(5)


def run_reader(cli, home: Path, tmp_path: Path, files: dict[str, Path], reader: str, given: Path):
    args = [a.format(P=given, tmp=tmp_path, **files) for a in READERS[reader]]
    if reader == "config.toml":
        (home / "config.toml").unlink(missing_ok=True)
        (home / "config.toml").symlink_to(given)
    # modules a command imports are not what it reads: loaded before the count starts
    import PIL.Image  # noqa: F401
    import pyarrow.parquet  # noqa: F401

    import recorder.redact.session  # noqa: F401
    import recorder.study.ingest  # noqa: F401

    tracemalloc.start()
    t0 = time.monotonic()
    try:
        r = cli(*args)
        peak = tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()
    return r, peak, time.monotonic() - t0


@pytest.mark.timeout(120)
@pytest.mark.parametrize("given", ["/dev/zero", "sparse"])
@pytest.mark.parametrize("reader", list(READERS))
def test_an_endless_or_huge_file_costs_its_cap_not_its_size(home: Path, tmp_path: Path, files, sparse: Path, cli,
                                                             reader: str, given: str, endless: Path) -> None:
    r, peak, _ = run_reader(cli, home, tmp_path, files, reader, endless if given == "/dev/zero" else sparse)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    # an image is read only as far as its format needs: refused on its first bytes
    said = {"image": "not a plain file" if given == "/dev/zero" else "not a readable image"}.get(reader, "is larger than")
    assert r.stderr.startswith("error: ") and said in r.stderr.splitlines()[0], r.stderr
    assert peak < PEAK_MB, f"{reader} allocated {peak:.0f} MB"


@pytest.mark.timeout(60)
def test_a_fifo_neither_hangs_the_open_nor_the_read(home: Path, tmp_path: Path, files, cli, monkeypatch) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    # nobody writes: open() alone blocked before
    r, _, took = run_reader(cli, home, tmp_path, files, "study profile", fifo)
    assert r.returncode == 2 and r.stderr.startswith("error: study profile") and took < 5, r.stderr
    # a writer that never writes (or dribbles): the whole file has one deadline
    monkeypatch.setattr(limits, "STREAM_DEADLINE_S", 1.0)
    writer = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)
    stop = threading.Event()

    def dribble() -> None:
        while not stop.wait(0.3):
            os.write(writer, b"#")

    threading.Thread(target=dribble, daemon=True).start()
    try:
        r, _, took = run_reader(cli, home, tmp_path, files, "passphrase file", fifo)
    finally:
        stop.set()
    os.close(writer)
    assert r.returncode == 2 and "nothing more arrived within 1 s" in r.stderr and took < 5, r.stderr


def test_a_pipe_is_still_a_file(tmp_path: Path, res, endless: Path) -> None:
    # `--profile <(curl ...)` and the like: a pipe that delivers in time is read like a file
    text = prof.to_toml(res.signed()).encode()
    r, w = os.pipe()  # as bash's <(...) hands it over: /dev/fd/N, the writer attached

    def write() -> None:
        for i in range(0, len(text), 100):
            os.write(w, text[i:i + 100])
            time.sleep(0.01)
        os.close(w)

    t = threading.Thread(target=write)
    t.start()
    try:
        assert prof.load(Path(f"/proc/self/fd/{r}")).id == res.signed().id
    finally:
        t.join()
        os.close(r)
    assert limits.read_prefix(endless, 10) == bytes(11)
    with pytest.raises(limits.NotPlainFile):
        limits.read_prefix(endless, 10, plain_only=True)
