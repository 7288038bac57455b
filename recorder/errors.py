"""One error type for everything a user can cause or fix: a one-line message plus what to do."""

from __future__ import annotations


class OwnTraceError(Exception):
    """An expected failure. The CLI prints `error: <message>` and `hint: <hint>`, never a traceback."""

    exit_code = 2

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class WrongPassphrase(OwnTraceError):
    pass


class CorruptFile(OwnTraceError):
    pass


class NotFound(OwnTraceError):
    pass
