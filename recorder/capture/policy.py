"""What a recording may capture. The default captures everything the user's own rules allow;
a study narrows it to what the participant consented to (see recorder/study)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CapturePolicy:
    key_text: bool = True  # False: key events keep no characters, only non-text keys and modifiers
    screenshots: bool = True  # False: no frames at all
    window_titles: bool = True  # False: window events keep app class and geometry, title ""
    apps_allowed: tuple[str, ...] = ()  # WM_CLASS classes; empty means every app not excluded
    apps_excluded: tuple[str, ...] = ()  # WM_CLASS names, on top of config and built-in exclusions
    extra_deny: tuple[str, ...] = ()  # terms the redaction always removes

    def app_excluded(self, name: str) -> bool:
        """`name`: either WM_CLASS name, instance or class (a deny rule matching more is safer)."""
        return any(name.lower() == x.lower() for x in self.apps_excluded)

    def app_allowed(self, app_class: str) -> bool:
        """`app_class`: the WM_CLASS class only, never the instance, which any user can set
        (`xterm -class Scratch` keeps the instance "xterm" but is not XTerm)."""
        if self.app_excluded(app_class):
            return False
        return not self.apps_allowed or any(app_class.lower() == x.lower() for x in self.apps_allowed)
