"""Screen frames on a real headless Wayland desktop: the portal's PipeWire stream read through a
gst-launch-1.0 child, and the wlr-screencopy route through grim. Every frame source runs in a
child as the desktop's user (tests/support/wayland_frames.py): the session bus takes no other."""

from __future__ import annotations

import os
import signal
import stat
from pathlib import Path

import pytest

from tests.support.wayland import FramesClient, HeadlessSway, iter_files

pytestmark = pytest.mark.wayland

W, H = 1280, 800
RED, BLUE, GREEN = "ff0000", "0000ff", "00c000"


def _content_box(node: dict) -> list[int]:
    """A box well inside a terminal's text area: its background colour only (the text and the
    cursor sit in the top-left corner)."""
    r = node["rect"]
    return [r["x"] + 60, r["y"] + 60, r["x"] + r["width"] - 20, r["y"] + r["height"] - 20]


def _intersects(rect: list[int], box: list[int]) -> bool:
    x, y, w, h = rect
    return x < box[2] and box[0] < x + w and y < box[3] and box[1] < y + h


def _owntrace_home(desktop: HeadlessSway, name: str) -> Path:
    """An OwnTrace home the desktop's user owns (the recorder runs as that user)."""
    path = desktop.home / name
    desktop.run(["mkdir", "-p", "-m", "700", str(path)])
    return path


def test_portal_stream_shows_the_screen_and_its_changes(desktop: HeadlessSway) -> None:
    _, red = desktop.foot("owntrace-red", background=RED)
    with FramesClient(desktop) as frames:
        opened = frames.call("open", kind="portal", home=None)
        # the monitor, whole: the output's size at its position
        assert opened["bounds"] == [0, 0, W, H]
        desktop.wtype("x")  # a change now: xdpw sends a session's first frame only after one (see wait_frame)
        first = frames.call("wait_frame", timeout=10)
        print(f"\nportal: the portal answered in {opened['portal_s'] * 1000:.0f} ms; first frame "
              f"{first['first_frame_s'] * 1000:.0f} ms after gst started, "
              f"{first['start_to_frame_s'] * 1000:.0f} ms after asking the portal")
        # the first look: everything is new (asked before `region`, whose retries look too)
        assert frames.call("changes", timeout=0)["rects"] == [[0, 0, W, H]]
        stats = frames.call("stats")
        assert stats["shape"] == [H, W] and stats["dtype"] == "uint32"
        assert stats["black"] < 0.2 and stats["colours"] > 2  # a real picture: title bar, text, background
        assert frames.call("region", box=_content_box(red), rgb=RED, share=0.98)["share"] >= 0.98

        _, blue = desktop.foot("owntrace-blue", background=BLUE)  # sway tiles it to the right of the red one
        box = _content_box(blue)
        changed: list[list[int]] = []

        def blue_shown() -> bool:
            changed.extend(frames.call("changes", timeout=1)["rects"])
            return frames.call("region", box=box, rgb=BLUE, share=0.98, timeout=0)["share"] >= 0.98

        desktop.wait_for(blue_shown, "the blue window in the stream")
        assert changed and all(_intersects(r, [0, 0, W, H]) for r in changed)
        assert any(_intersects(r, box) for r in changed)
        # a still screen sends no buffer, and changes says so
        desktop.wait_for(lambda: frames.call("changes", timeout=1)["rects"] == [], "the screen to settle")

        # typing changes only the terminal that has the focus: the box says where
        desktop.wtype("typed on Wayland")
        typed = desktop.wait_for(lambda: frames.call("changes", timeout=1)["rects"], "the typed text in the stream")
        x, y, w, h = typed[0]
        r = blue["rect"]
        assert r["x"] <= x and x + w <= r["x"] + r["width"] and r["y"] <= y and y + h <= r["y"] + r["height"]


def test_restore_token_is_kept_private_and_used_next_time(desktop: HeadlessSway) -> None:
    home = _owntrace_home(desktop, "owntrace-restore")
    token_file = home / "screencast-monitor.token"
    with FramesClient(desktop) as frames:
        first = frames.call("open", kind="portal", home=str(home))
        desktop.foot("owntrace-restore-1")
        frames.call("wait_frame", timeout=10)
    assert first["restore_token"], "the portal (version 4) gave no restore token"
    st = token_file.stat()
    assert stat.S_IMODE(st.st_mode) == 0o600
    assert st.st_uid == (desktop.uid if desktop.uid is not None else os.getuid())
    assert token_file.read_text() == first["restore_token"]

    restored_before = desktop.log_tail("xdpw", 10**7).count("restore data available")
    with FramesClient(desktop) as frames:
        second = frames.call("open", kind="portal", home=str(home))
        desktop.foot("owntrace-restore-2")
        frames.call("wait_frame", timeout=10)  # the restored session streams the screen
    # the backend got the first session's choice back; the file holds what the last Start gave
    # (xdg-desktop-portal 1.16 hands the same token back for a grant kept until revoked)
    assert desktop.log_tail("xdpw", 10**7).count("restore data available") == restored_before + 1
    assert second["restore_token"] and token_file.read_text() == second["restore_token"]
    assert sorted(p.name for p in home.iterdir()) == ["screencast-monitor.token"]  # no temp file left


def test_window_mode_is_refused_clearly_when_the_portal_cannot_share_windows(desktop: HeadlessSway) -> None:
    desktop.foot("owntrace-window", background=GREEN)
    with FramesClient(desktop) as frames:
        answer = frames.ask("open", kind="portal", home=None, window=True)
    if "error" in answer:  # xdg-desktop-portal-wlr 0.7 offers monitors only
        assert answer["error"] == "this desktop's screen-cast portal cannot share single windows (it offers: monitor)"
        assert "without --window" in answer["hint"]
    else:
        assert answer["value"]["source_types"] & 2 and answer["value"]["bounds"][2] > 0


def test_the_gst_child_writes_no_file(desktop: HeadlessSway) -> None:
    # GStreamer caches its plugin list (no pixels) on first use: made now, so only the stream is watched
    desktop.run(["gst-inspect-1.0", "pipewiresrc"])
    desktop.run(["gst-inspect-1.0", "fdsink"])
    uid = desktop.uid if desktop.uid is not None else os.getuid()

    def files() -> set[Path]:
        found = set(iter_files(desktop.home, desktop.runtime))
        for shared in (Path("/tmp"), Path("/dev/shm")):
            for p in shared.iterdir():
                try:
                    if p.lstat().st_uid == uid and not p.is_socket():
                        found.add(p)
                except OSError:
                    continue
        return {p for p in found if p.suffix != ".log"}  # the desktop's own services' logs

    _, node = desktop.foot("owntrace-nofile", background=RED)
    before = files()
    with FramesClient(desktop) as frames:
        opened = frames.call("open", kind="portal", home=None)
        desktop.wtype("pixels stay in memory")
        frames.call("wait_frame", timeout=10)
        desktop.wait_for(lambda: frames.call("changes", timeout=1)["rects"], "the typed text in the stream")
        # what the child holds open while it streams: pipes, sockets, and the producer's buffers
        # (PipeWire memfds, and xdpw's shared memory, which it unlinks from /dev/shm, a RAM disk, at once)
        fd_dir = Path(f"/proc/{opened['gst_pid']}/fd")
        targets = [os.readlink(fd) for fd in fd_dir.iterdir()]
        files_open = [t for t in targets if t.startswith("/") and not t.startswith(("/memfd:", "/dev/null"))
                      and not (t.startswith("/dev/shm/") and t.endswith(" (deleted)"))]
        assert not files_open, files_open
    assert files() - before == set()


def test_screencopy_grabs_the_screen(desktop: HeadlessSway) -> None:
    _, green = desktop.foot("owntrace-green", background=GREEN)
    with FramesClient(desktop) as frames:
        opened = frames.call("open", kind="screencopy")
        assert opened["bounds"] == [0, 0, W, H]
        assert frames.call("changes", timeout=0.1)["rects"] is None  # cannot tell: the sampler compares
        assert frames.call("region", box=_content_box(green), rgb=GREEN, share=0.98, timeout=5)["share"] >= 0.98
        stats = frames.call("stats")
        assert stats["shape"] == [H, W] and stats["black"] < 0.2 and stats["colours"] > 2


def test_a_dead_stream_is_an_error_not_a_frozen_screen(desktop: HeadlessSway) -> None:
    desktop.foot("owntrace-dies", background=BLUE)
    with FramesClient(desktop) as frames:
        opened = frames.call("open", kind="portal", home=None)
        desktop.wtype("x")
        frames.call("wait_frame", timeout=10)
        os.kill(opened["gst_pid"], signal.SIGKILL)  # the child this test's frame source started
        # frames read before it died may still be reported; then the end is
        answer = desktop.wait_for(lambda: (a := frames.ask("changes", timeout=1)).get("error") and a, "the error")
        assert answer["error"].startswith("the screen stream ended (gst-launch-1.0 exited -9")
        assert answer["hint"].startswith("start recording again")
        assert frames.ask("stats")["error"] == answer["error"]  # grab says so too


def test_no_session_bus_is_a_one_line_error(desktop: HeadlessSway) -> None:
    with FramesClient(desktop, env={"DBUS_SESSION_BUS_ADDRESS": f"unix:path={desktop.runtime}/no-such-bus"}) as frames:
        answer = frames.ask("open", kind="portal", home=None)
    assert answer["error"].startswith("cannot reach the desktop's session bus")
    assert "\n" not in answer["error"] and "DBUS_SESSION_BUS_ADDRESS" in answer["hint"]
