"""Wall-clock time stamps: one format everywhere, UTC with a Z (RFC 3339), to the second or the
millisecond."""

from __future__ import annotations

import datetime as dt
from typing import Literal

Precision = Literal["seconds", "milliseconds"]


def format_utc(t: dt.datetime, timespec: Precision = "seconds") -> str:
    return t.astimezone(dt.UTC).isoformat(timespec=timespec).replace("+00:00", "Z")


def utc_now(timespec: Precision = "seconds") -> str:
    return format_utc(dt.datetime.now(dt.UTC), timespec)


def parse_utc(text: str) -> dt.datetime:
    """A time stamp written by `format_utc` (or any ISO 8601 one with an offset); ValueError if not."""
    t = dt.datetime.fromisoformat(text)
    if t.tzinfo is None:
        raise ValueError(f"time stamp without a time zone: {text!r}")
    return t
