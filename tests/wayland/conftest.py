"""The headless Wayland desktop (sway + PipeWire + the screen-cast portal): `wayland_desktop`, one
per test session, is in tests/conftest.py (the conformance suite shares it); here each test gets
it empty."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.wayland import HeadlessSway


@pytest.fixture
def desktop(wayland_desktop: HeadlessSway) -> Iterator[HeadlessSway]:
    """The session's desktop, empty at the start of each test and after it."""
    wayland_desktop.close_clients()
    yield wayland_desktop
    wayland_desktop.close_clients()
