"""Work identifiers: who and what a screen of mail, chat, code review or a terminal is about.

@handles, #channels, repository slugs in code-hosting contexts, internal host names, ticket /
employee / invoice ids, SSH key fingerprints. Pure regular expressions over one text.
"""

from __future__ import annotations

import re

from .findings import Finding

_HANDLE = re.compile(r"(?<![\w.@/])@(?P<s>[A-Za-z0-9][A-Za-z0-9_.\-]{1,38}[A-Za-z0-9_])(?![\w@]|\.[A-Za-z])")
# a channel has a letter; "#123" is an issue reference and "#fff" / "#a0b1c2" a colour. OCR
# reads a sidebar's icon before it as a letter ("i#general") and may part it after a hyphen
_CHANNEL = re.compile(r"(?:(?<![\w#&/])|(?<=^[a-z|]))#(?P<s>[a-z0-9](?:[a-z0-9_.]|-(?: (?=[a-z0-9]))?){1,79})(?![\w])")
_HEX_COLOUR = re.compile(r"^(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$")
_HOSTS = r"(?:github\.com|gitlab\.com|bitbucket\.org|codeberg\.org|sr\.ht|gitea\.com|git\.[\w.\-]+|[\w\-]+\.gitlab\.io)"
_SLUG = r"[A-Za-z0-9][\w.\-]{0,38}/[A-Za-z0-9][\w.\-]{0,99}"
_REPO_URL = re.compile(rf"(?i)(?:https?://|git@|ssh://git@)?{_HOSTS}[:/](?P<s>{_SLUG}?)(?:\.git)?(?![\w/])")
_REPO_REF = re.compile(rf"(?<![\w/.])(?P<s>{_SLUG})(?:#\d+|@[0-9a-f]{{7,40}})(?!\w)")  # owner/repo#12
_REPO_CONTEXT = re.compile(
    r"(?i)\b(?:repo|repos|repository|repositories|fork(?:ed)?|clone[ds]?|pull requests?|merge requests?|merged"
    r"|pushed|starred|mirror|upstream|origin|remote|submodule|PR|MR|commits? to|opened|into)\b"
)
_BARE_SLUG = re.compile(rf"(?<![\w/.:~@\-])(?P<s>{_SLUG})(?![\w/])")
_PATH_LIKE = re.compile(r"^(?:[\w.\-]+\.(?:py|js|ts|md|txt|json|toml|yml|yaml|html|css|c|h|go|rs|sh|cfg|ini|lock)"
                        r"|\d+/\d+|[a-z]+/[a-z]+/.*|(?:src|lib|bin|usr|etc|var|tmp|home|docs?|tests?)/.*)$")
_INTERNAL_HOST = re.compile(
    r"(?i)(?<![\w.\-])(?P<s>[a-z0-9](?:[a-z0-9\-]{0,62}\.)+(?:internal|intranet|intra|corp|lan|local|localdomain"
    r"|private|home\.arpa|priv|int|ad|office))(?![\w\-])"
)
_PROMPT_HOST = re.compile(r"(?<![\w.\-])[a-z_][a-z0-9_\-]{0,31}@(?P<s>[A-Za-z0-9][A-Za-z0-9\-]{0,62})(?=:[~/])")
# ABC-1234, EMP-00482, INV-2026-0142; not standards and encodings that look the same
_WORK_ID = re.compile(r"(?<![\w\-])(?P<s>[A-Z][A-Z0-9]{1,9}-\d{2,8}(?:-\d{2,8})?)(?![\w\-])")
_NOT_IDS = frozenset({"UTF", "ISO", "SHA", "RFC", "CVE", "CWE", "GHSA", "COVID", "AES", "TLS", "SSL", "PEP", "ECMA",
                      "IEEE", "IEC", "DIN", "EN", "MD", "HTTP", "IPV", "X", "MP", "H", "RSA", "ED", "CP", "KOI",
                      "WIN", "MS", "P", "UTC", "GMT", "CET", "CEST", "EST", "PST", "PDT", "EDT", "BST", "A", "B",
                      "TOP", "PAGE", "STEP", "COUNT", "BUILD", "VERSION", "V", "FY", "Q", "AMD", "ARM", "ARM64"})
_FINGERPRINT = re.compile(r"(?<![\w+/])(?P<s>SHA256:[A-Za-z0-9+/]{43}=?|MD5:(?:[0-9a-f]{2}:){15}[0-9a-f]{2})")


def find(text: str) -> list[Finding]:
    out: list[Finding] = []

    def add(m: re.Match[str], entity: str, score: float, detector: str) -> None:
        out.append(Finding(m.start("s"), m.end("s"), entity, score, detector))

    for m in _HANDLE.finditer(text):
        add(m, "HANDLE", 0.8, "handle")
    for m in _CHANNEL.finditer(text):
        if not _HEX_COLOUR.match(m.group("s")) and any(c.isalpha() for c in m.group("s")):
            add(m, "CHANNEL", 0.7, "channel")
    for m in _REPO_URL.finditer(text):
        add(m, "REPOSITORY", 0.85, "repository")
    for m in _REPO_REF.finditer(text):
        add(m, "REPOSITORY", 0.8, "repository")
    if _REPO_CONTEXT.search(text):
        for m in _BARE_SLUG.finditer(text):
            if not _PATH_LIKE.match(m.group("s")):
                add(m, "REPOSITORY", 0.6, "repository")
    for m in _INTERNAL_HOST.finditer(text):
        add(m, "HOSTNAME", 0.7, "hostname")
    for m in _PROMPT_HOST.finditer(text):
        add(m, "HOSTNAME", 0.6, "hostname")
    for m in _WORK_ID.finditer(text):
        if m.group("s").split("-", 1)[0] not in _NOT_IDS:
            add(m, "WORK_ID", 0.7, "work-id")
    for m in _FINGERPRINT.finditer(text):
        add(m, "FINGERPRINT", 0.95, "fingerprint")
    return out
