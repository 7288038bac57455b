"""SwayWindows on a real headless sway: the focused window (foot, a GTK app), its title as the
app sets it, its frame, and the rectangles of excluded windows."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from recorder.capture.exclusion import ExclusionRules
from recorder.capture.wayland.sway import SwayWindows
from recorder.config import Config
from tests.support.wayland import HeadlessSway

pytestmark = pytest.mark.wayland

W, H = 1280, 800


@pytest.fixture
def windows(desktop: HeadlessSway) -> Iterator[SwayWindows]:
    source = SwayWindows(ExclusionRules.build(Config(exclude_apps=["gtk3-widget-factory"])), env=desktop.env)
    yield source
    source.close()


def test_focused_foot_then_gtk_app(desktop: HeadlessSway, windows: SwayWindows) -> None:
    assert windows.known()
    foot, _ = desktop.foot("owntrace-notes")
    win = windows.active()
    assert (win.wm_class, win.title, win.pid, win.app) == (("foot",), "owntrace-notes", foot.pid, "foot")
    assert win.rect == (0, 0, W, H)  # the only window: the whole output, title bar included

    gtk, node = desktop.gtk_app()
    desktop.swaymsg('[app_id="gtk3-widget-factory"] focus')
    desktop.wait_window(app_id="gtk3-widget-factory", focused=True)
    win = windows.active()
    # sway tiles the two side by side; the title is what GTK set
    assert (win.wm_class, win.title, win.pid) == (("gtk3-widget-factory",), node["name"], gtk.pid)
    assert node["name"]
    assert win.rect == (W // 2, 0, W // 2, H)
    assert win.wid == node["id"]

    desktop.swaymsg('[app_id="foot"] focus')
    desktop.wait_window(app_id="foot", focused=True)
    win = windows.active()
    assert (win.title, win.rect) == ("owntrace-notes", (0, 0, W // 2, H))
    assert windows.outputs() == [{"x": 0, "y": 0, "w": W, "h": H, "scale": 1.0, "name": "HEADLESS-1"}]


def test_title_the_app_sets_after_typing(desktop: HeadlessSway, windows: SwayWindows) -> None:
    # the shell reads one line typed through the virtual keyboard and makes it the title (OSC 2)
    desktop.foot("owntrace-before", "sh", "-c", r'read t; printf "\033]2;%s\007" "$t"; exec cat')
    desktop.wtype("renamed by typing\n")
    desktop.wait_for(lambda: windows.active().title == "renamed by typing", "the typed title")


def test_excluded_rects_cover_excluded_windows_only(desktop: HeadlessSway, windows: SwayWindows) -> None:
    desktop.foot("owntrace-plain")
    assert windows.excluded_rects() == []
    desktop.foot("Password vault")  # a default title rule
    vault = windows.active()
    assert windows.excluded_rects() == [vault.rect]
    desktop.gtk_app()  # excluded by app (the rules given above), even without the focus
    desktop.swaymsg('[app_id="foot" title="owntrace-plain"] focus')
    desktop.wait_window("owntrace-plain", focused=True)
    rects = windows.excluded_rects()
    gtk = next(n for n in desktop.views() if n.get("app_id") == "gtk3-widget-factory")
    vault_node = next(n for n in desktop.views() if n.get("name") == "Password vault")
    assert sorted(rects) == sorted([_frame(vault_node), _frame(gtk)])
    # three windows side by side, each the output's full height with its title bar: two excluded
    assert all(r[1] == 0 and r[3] == H for r in rects) and sum(r[2] for r in rects) < W


def _frame(node: dict) -> tuple[int, int, int, int]:
    r, deco = node["rect"], node["deco_rect"]
    return (r["x"], r["y"] - deco["height"], r["width"], r["height"] + deco["height"])
