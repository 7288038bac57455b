"""Settings from $OWNTRACE_HOME/config.toml: no recorded content and no people live there (the
deny list is sealed: recorder.deny)."""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from recorder import limits
from recorder.atomic import shred, write_atomic
from recorder.errors import OwnTraceError
from recorder.schema import Bool, Float, Int, ListOf, Obj, SchemaError, Str, check
from redaction import PHONE_REGIONS

DEFAULT_CONFIG = f"""\
# OwnTrace settings. Nothing recorded is ever stored here.

[capture]
# frames on visible change at most this many per second, plus one before each action
max_fps = 2.0
# a keyframe every this many seconds while the screen changes
keyframe_s = 10.0
# toggles pause; its own keys never reach the recording
pause_hotkey = "ctrl+alt+shift+p"

[exclude]
# windows whose WM_CLASS or title match are never captured (keys dropped, pixels blacked out);
# these add to the built-in defaults (password managers, private browsing, sign-in windows)
apps = []
titles = []

[redaction]
# your own name, usernames and contacts are not kept here: `owntrace deny add` seals them
phone_regions = {json.dumps(list(PHONE_REGIONS))}

[retention]
# delete sessions older than this many days (0 keeps them until you delete them)
days = 0

[search]
# index a session for `owntrace search` in the background after it stops (needs the
# passphrase in $OWNTRACE_PASSPHRASE or the keyring; else run `owntrace index`)
index_after_stop = true
# study sessions are indexed only when this is true (or with `owntrace index --include-study`)
index_studies = false
"""


@dataclass
class Config:
    max_fps: float = 2.0
    keyframe_s: float = 10.0
    pause_hotkey: str = "ctrl+alt+shift+p"
    exclude_apps: list[str] = field(default_factory=list)
    exclude_titles: list[str] = field(default_factory=list)
    # [redaction] deny as older versions kept it, in clear: moved into the sealed list on first unlock
    legacy_deny: list[str] = field(default_factory=list)
    phone_regions: list[str] = field(default_factory=lambda: list(PHONE_REGIONS))
    retention_days: int = 0
    index_after_stop: bool = True
    index_studies: bool = False


_TEXTS = ListOf(Str(1000), 10_000)
SCHEMA = Obj({
    # at most 30 frames a second, at least one a minute (1e-300 would never take one)
    "capture": Obj({"max_fps": Float(0.02, 30.0), "keyframe_s": Float(0.5, 3600.0), "pause_hotkey": Str(100)},
                   extra=False, what="a table"),
    "exclude": Obj({"apps": _TEXTS, "titles": _TEXTS}, extra=False, what="a table"),
    "redaction": Obj({"deny": _TEXTS, "phone_regions": ListOf(Str(10), 300)}, extra=False, what="a table"),
    # past a century the date arithmetic overflows
    "retention": Obj({"days": Int(0, 100 * 366)}, extra=False, what="a table"),
    "search": Obj({"index_after_stop": Bool(), "index_studies": Bool()}, extra=False, what="a table"),
}, extra=False, what="a table")


def load(root: Path) -> Config:
    path = root / "config.toml"
    if not path.exists():
        return Config()
    data = limits.read_file(path, limits.TOML_MAX_BYTES, "config file", f"fix or delete {path}")
    try:
        obj = check(limits.loads_toml(data.decode("utf-8")), SCHEMA)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise OwnTraceError(f"config.toml is not valid TOML: {e}", f"fix or delete {path}") from None
    except SchemaError as e:
        raise OwnTraceError(f"config.toml: {e}", f"fix or delete {path}") from None
    d = Config()
    capture, exclude = obj.get("capture", {}), obj.get("exclude", {})
    redaction, retention = obj.get("redaction", {}), obj.get("retention", {})
    search = obj.get("search", {})
    return Config(
        max_fps=float(capture.get("max_fps", d.max_fps)),
        keyframe_s=float(capture.get("keyframe_s", d.keyframe_s)),
        pause_hotkey=capture.get("pause_hotkey", d.pause_hotkey),
        exclude_apps=exclude.get("apps", d.exclude_apps),
        exclude_titles=exclude.get("titles", d.exclude_titles),
        legacy_deny=redaction.get("deny", d.legacy_deny),
        phone_regions=redaction.get("phone_regions", d.phone_regions),
        retention_days=retention.get("days", d.retention_days),
        index_after_stop=search.get("index_after_stop", d.index_after_stop),
        index_studies=search.get("index_studies", d.index_studies),
    )


def write_default(root: Path) -> None:
    path = root / "config.toml"
    if not path.exists():
        write_atomic(path, DEFAULT_CONFIG.encode())  # 0600: settings say something about the person too


def remove_legacy_deny(root: Path) -> None:
    """Rewrite config.toml without `[redaction] deny`, keeping every other line as the person
    wrote it, and overwrite the old file's bytes: the names must not stay on disk in clear."""
    path = root / "config.toml"
    text = limits.read_file(path, limits.TOML_MAX_BYTES, "config file").decode("utf-8")
    want = limits.loads_toml(text)
    want.get("redaction", {}).pop("deny", None)
    lines = text.splitlines(keepends=True)
    # the shortest run of whole lines whose removal leaves exactly the same settings but deny
    # (an array may span lines; tomllib decides, so no TOML is parsed by hand here)
    for start in range(len(lines)):
        if not lines[start].lstrip().startswith(("deny", "redaction.deny")):
            continue
        for end in range(start + 1, len(lines) + 1):
            candidate = "".join(lines[:start] + lines[end:])
            try:
                if limits.loads_toml(candidate) == want:
                    return _replace_shredding(path, candidate.encode())
            except tomllib.TOMLDecodeError:
                continue
    raise OwnTraceError(f"could not remove [redaction] deny from {path}: your terms are sealed now, "
                        "but the file still holds them in clear", f"delete the deny line from {path} yourself")


def _replace_shredding(path: Path, data: bytes) -> None:
    old = path.with_name(f".{path.name}.old")
    shred(old)  # one an interrupted run left
    os.link(path, old)  # config.toml stays whole (old or new) whatever happens next
    write_atomic(path, data)
    shred(old)
