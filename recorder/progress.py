"""Progress callbacks of long library calls: called with (items done, items in total)."""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[int, int], None]
