"""The headless Wayland desktop (sway + PipeWire + the screen-cast portal), one per test session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.wayland import DesktopError, HeadlessSway


@pytest.fixture(scope="session")
def wayland_desktop() -> Iterator[HeadlessSway]:
    try:
        desktop = HeadlessSway(1280, 800).start()
    except DesktopError as e:
        pytest.fail(str(e), pytrace=False)
    try:
        yield desktop
    finally:
        desktop.stop()


@pytest.fixture
def desktop(wayland_desktop: HeadlessSway) -> Iterator[HeadlessSway]:
    """The session's desktop, empty at the start of each test and after it."""
    wayland_desktop.close_clients()
    yield wayland_desktop
    wayland_desktop.close_clients()
