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


class MalformedInput(OwnTraceError):
    """A file from outside that cannot be parsed at all (broken container, over a bound).
    Its own exit code: a bundle that parses but does not match its signature exits 1 (tampered)."""

    exit_code = 3


class Tampered(OwnTraceError):
    """Content that parses but fails its integrity check: the same exit code as a bundle whose
    files do not match their signed manifest."""

    exit_code = 1
