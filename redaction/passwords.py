"""Passwords need context: the text itself never says it is one.

Text the journal can tell is a password:
- in any text: what follows "password:", "passphrase is", "PIN =" and the like (a chat, a note, a
  config file on screen);
- in typed text: the line typed after a line that ran a command which prompts without echo
  (sudo, ssh, su, passwd, gpg, ...) or that itself shows a password prompt (`read -s -p "Password: "`);
- the line typed while the window title asks for one ("Password required", "[sudo] password",
  pinentry, "Authentication"), or while the screen shows a bullets-only field or a prompt (the
  OCR side reports that; the caller passes `prompt_visible`).
"""

from __future__ import annotations

import re
from collections.abc import Collection

from .findings import Finding

ENTITY = "PASSWORD"
_PROMPT_WORDS = r"(?:pass(?:word|phrase|wd|code)|pwd|pin)"
# "password: x", "passphrase is x", "PIN = 1234"; the value runs to the end of the word
_INLINE = re.compile(rf"(?i)\b{_PROMPT_WORDS}\b\s*(?:is\s+|[:=]\s*)(?P<s>[^\s;,\"']*[^\W_][^\s;,\"']*)")
_PROMPT = re.compile(rf"(?i)\b{_PROMPT_WORDS}\b")
_TITLE = re.compile(rf"(?i)\b{_PROMPT_WORDS}\b|pinentry|authenticat|unlock|sign[ -]?in|log[ -]?in|\[sudo\]")
# commands that read a secret from the terminal with echo off
_NO_ECHO_COMMAND = re.compile(
    r"(?:^(?:\S*[$#>]\s+)?|[;&|]\s*|\bsudo\s+(?:-\S+\s+)*)"  # command position, after a prompt, or sudo
    r"(?:sudo|su|doas|ssh|scp|sftp|ssh-add|ssh-keygen|passwd|chpasswd|kinit|gpg|gpg2|age|pass|mysql|psql|"
    r"htpasswd|openssl|cryptsetup|vncpasswd|smbpasswd|pkexec|ftp|git\s+(?:push|pull|fetch|clone))\b"
)


def inline(text: str) -> list[Finding]:
    return [Finding(m.start("s"), m.end("s"), ENTITY, 0.8, "password") for m in _INLINE.finditer(text)]


def title_asks(title: str) -> bool:
    return bool(_TITLE.search(title or ""))


def _line_prompts(line: str) -> bool:
    s = line.strip()
    return bool(_NO_ECHO_COMMAND.search(s) or _PROMPT.search(s))


def typed(text: str, prompted_lines: Collection[int] = (), previous: str = "") -> list[Finding]:
    """Password lines in the typed text of one focus run (lines end with Enter).

    `prompted_lines`: numbers of the lines typed while the window title or the screen asked for
    a password (see `title_asks`); `previous`: the line typed before the run in the same window
    (see `after`)."""
    out: list[Finding] = []
    pos = 0
    for n, line in enumerate(text.split("\n")):
        start, end = pos, pos + len(line)
        pos = end + 1
        if not line.strip():
            continue
        asked = n in prompted_lines
        if asked or _line_prompts(previous):
            out.append(Finding(start, end, ENTITY, 0.6 if asked else 0.5, "password"))
            previous = ""  # a password line prompts for nothing
        else:
            previous = line
    return out


def after(text: str, previous: str = "") -> str:
    """The line that text typed next in the same window follows: the last line of `text`, or
    nothing when that line was a password (it prompts for nothing)."""
    found = typed(text, previous=previous)
    end = len(text.rstrip("\n"))
    start = text.rfind("\n", 0, end) + 1
    if not text[start:end].strip():
        return previous
    return "" if any(f.start <= start < f.end or start <= f.start < end for f in found) else text[start:end]
