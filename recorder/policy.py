"""What a recording may capture. The default captures everything the user's own rules allow;
a study narrows it to what the participant consented to (see recorder/study)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CapturePolicy:
    key_text: bool = True  # False: key events keep no characters, only non-text keys and modifiers
    screenshots: bool = True  # False: no frames at all
    window_titles: bool = True  # False: window events keep app class and geometry, title ""
    apps_allowed: tuple[str, ...] = ()  # WM_CLASS names; empty means every app not excluded
    apps_excluded: tuple[str, ...] = ()  # WM_CLASS names, on top of config and built-in exclusions
    extra_deny: tuple[str, ...] = ()  # terms the redaction always removes

    def app_allowed(self, app: str) -> bool:
        a = app.lower()
        if any(a == x.lower() for x in self.apps_excluded):
            return False
        return not self.apps_allowed or any(a == x.lower() for x in self.apps_allowed)
