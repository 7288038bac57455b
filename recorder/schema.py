"""One small declarative schema per parser: types and ranges checked before a value is used.

`check(value, spec, where)` returns the value or raises SchemaError naming the first field that
is off ("files[3].size should be an integer in 0..1099511627776"), so every parser of outside
input (manifests, config.toml, journal events) reports one line instead of failing later on a
value of the wrong type.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class SchemaError(ValueError):
    """The first value that does not fit: "<where> should be <what>" or "<where> is missing"."""


@dataclass(frozen=True)
class Num:
    """A number in [lo, hi]: an integer (never a bool), or any finite number (TOML `5` for 5.0)."""

    lo: float
    hi: float
    integer: bool

    def describe(self) -> str:
        return f"an integer in {self.lo}..{self.hi}" if self.integer else f"a number in {self.lo:g}..{self.hi:g}"


def Int(lo: int, hi: int) -> Num:  # noqa: N802 (reads as a type in a schema)
    return Num(lo, hi, True)


def Float(lo: float, hi: float) -> Num:  # noqa: N802
    return Num(lo, hi, False)


@dataclass(frozen=True)
class Str:
    max_len: int = 4096
    pattern: str | None = None  # full match

    def describe(self) -> str:
        return f"a string matching {self.pattern}" if self.pattern else f"a string of at most {self.max_len} characters"


@dataclass(frozen=True)
class Bool:
    def describe(self) -> str:
        return "true or false"


@dataclass(frozen=True)
class ListOf:
    item: Spec
    max_items: int = 10_000

    def describe(self) -> str:
        return f"a list of at most {self.max_items} items"


@dataclass(frozen=True)
class Obj:
    fields: Mapping[str, Spec]
    required: frozenset[str] = frozenset()
    extra: bool = True  # unknown keys allowed (kept, not checked)
    nullable: bool = False  # null stands for an empty object
    max_keys: int = 10_000
    what: str = "an object"  # "a table" in TOML

    def describe(self) -> str:
        return self.what


Spec = Num | Str | Bool | ListOf | Obj
HEX64 = Str(64, "[0-9a-f]{64}")


def _fail(where: str, spec: Spec | str) -> SchemaError:
    what = spec if isinstance(spec, str) else spec.describe()
    return SchemaError(f"{where or 'the document'} should be {what}")


def check(value: Any, spec: Spec, where: str = "") -> Any:
    """`value` when it fits `spec`, else SchemaError naming the first field that does not."""
    if isinstance(spec, Bool):
        if not isinstance(value, bool):
            raise _fail(where, spec)
    elif isinstance(spec, Num):
        kinds = int if spec.integer else (int, float)
        if (not isinstance(value, kinds) or isinstance(value, bool)
                or (isinstance(value, float) and not math.isfinite(value)) or not spec.lo <= value <= spec.hi):
            raise _fail(where, spec)
    elif isinstance(spec, Str):
        if not isinstance(value, str) or len(value) > spec.max_len or (
                spec.pattern is not None and re.fullmatch(spec.pattern, value) is None):
            raise _fail(where, spec)
    elif isinstance(spec, ListOf):
        if not isinstance(value, list) or len(value) > spec.max_items:
            raise _fail(where, spec)
        for i, item in enumerate(value):
            check(item, spec.item, f"{where}[{i}]")
    elif isinstance(spec, Obj):
        if value is None and spec.nullable:
            return value
        if not isinstance(value, dict) or len(value) > spec.max_keys:
            raise _fail(where, spec)
        missing = sorted(spec.required - set(value))
        if missing:
            raise SchemaError(f"{_dot(where, missing[0])} is missing")
        unknown = sorted(set(value) - set(spec.fields))
        if unknown and not spec.extra:
            raise SchemaError(f"{_dot(where, str(unknown[0])[:40])} is not a known setting")
        for k, sub in spec.fields.items():
            if k in value:
                check(value[k], sub, _dot(where, k))
    return value


def _dot(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key
