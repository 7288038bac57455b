"""Which windows are never captured: built-in defaults, the user's config rules, a study's policy.

Pure: a window is described by its WM_CLASS names and title; the answer is a reason or None.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from recorder.capture.policy import CapturePolicy
from recorder.config import Config
from recorder.errors import OwnTraceError

# WM_CLASS names (instance or class, lowercase) of password managers
DEFAULT_APPS = (
    "keepassxc",
    "keepass",
    "keepass2",
    "1password",
    "bitwarden",
    "lastpass",
    "enpass",
    "org.keepassxc.keepassxc",
    "com.bitwarden.desktop",
)
# private browsing windows (Firefox, Chrome/Chromium, Edge, Brave, Opera) and credential prompts
DEFAULT_TITLES = (
    r"private browsing",
    r"\(incognito\)|\bincognito\b",
    r"\binprivate\b",
    r"\bprivate window\b",
    r"\bsign[ -]?(in|on|up)\b",
    r"\blog[ -]?in\b",
    r"\bpassword\b|\bpasswort\b|\bmot de passe\b|\bcontraseña\b",
)


@dataclass(frozen=True)
class ExclusionRules:
    apps: frozenset[str]
    titles: tuple[re.Pattern[str], ...]
    policy: CapturePolicy

    @classmethod
    def build(cls, config: Config, policy: CapturePolicy | None = None) -> ExclusionRules:
        patterns = []
        for text in (*DEFAULT_TITLES, *config.exclude_titles):
            try:
                patterns.append(re.compile(text, re.IGNORECASE))
            except re.error as e:
                raise OwnTraceError(
                    f"config.toml: [exclude] titles has an invalid regex {text!r}: {e}",
                    "fix or remove it in config.toml",
                ) from None
        apps = frozenset(a.lower() for a in (*DEFAULT_APPS, *config.exclude_apps))
        return cls(apps, tuple(patterns), policy or CapturePolicy())

    def reason(self, wm_class: tuple[str, ...], title: str) -> str | None:
        """Why this window is excluded, or None when it may be captured. `wm_class` is WM_CLASS
        as X gives it, (instance, class): deny rules match either name, the allow-list only the
        class (`xterm -class Scratch` is not XTerm)."""
        names = [n.lower() for n in wm_class if n]
        if any(n in self.apps for n in names):
            return "app"
        if any(p.search(title) for p in self.titles):
            return "title"
        if any(self.policy.app_excluded(n) for n in names) or not self.policy.app_allowed(wm_class[-1] if wm_class else ""):
            return "study"
        return None


def pointer_in(rects: Sequence[tuple[int, int, int, int]], x: int, y: int) -> bool:
    """Is (x, y) inside any of the (x, y, w, h) rectangles, such as those of excluded windows."""
    return any(rx <= x < rx + rw and ry <= y < ry + rh for rx, ry, rw, rh in rects)
