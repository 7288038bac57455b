"""Settings from $OWNTRACE_HOME/config.toml (no recorded content lives there)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import OwnTraceError

DEFAULT_CONFIG = """\
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
# always redacted, case-insensitively: your name, usernames, addresses, contacts, companies
deny = []
phone_regions = ["US", "GB", "DE", "FR"]

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
    deny: list[str] = field(default_factory=list)
    phone_regions: list[str] = field(default_factory=lambda: ["US", "GB", "DE", "FR"])
    retention_days: int = 0
    index_after_stop: bool = True
    index_studies: bool = False


def _get(obj: dict[str, Any], section: str, key: str, kind: type, default: Any) -> Any:
    value = obj.get(section, {}).get(key, default)
    if kind is float and isinstance(value, int):
        value = float(value)
    if not isinstance(value, kind) or (kind is list and not all(isinstance(v, str) for v in value)):
        raise OwnTraceError(f"config.toml: [{section}] {key} should be a {kind.__name__}", "fix or delete config.toml")
    return value


def load(root: Path) -> Config:
    path = root / "config.toml"
    if not path.exists():
        return Config()
    try:
        obj = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise OwnTraceError(f"config.toml is not valid TOML: {e}", f"fix or delete {path}") from None
    d = Config()
    return Config(
        max_fps=_get(obj, "capture", "max_fps", float, d.max_fps),
        keyframe_s=_get(obj, "capture", "keyframe_s", float, d.keyframe_s),
        pause_hotkey=_get(obj, "capture", "pause_hotkey", str, d.pause_hotkey),
        exclude_apps=_get(obj, "exclude", "apps", list, d.exclude_apps),
        exclude_titles=_get(obj, "exclude", "titles", list, d.exclude_titles),
        deny=_get(obj, "redaction", "deny", list, d.deny),
        phone_regions=_get(obj, "redaction", "phone_regions", list, d.phone_regions),
        retention_days=_get(obj, "retention", "days", int, d.retention_days),
        index_after_stop=_get(obj, "search", "index_after_stop", bool, d.index_after_stop),
        index_studies=_get(obj, "search", "index_studies", bool, d.index_studies),
    )


def write_default(root: Path) -> None:
    path = root / "config.toml"
    if not path.exists():
        path.write_text(DEFAULT_CONFIG)
