"""The study profile: a TOML file a researcher publishes and signs, a participant verifies.

The signature covers canonical bytes (a domain tag plus sorted compact JSON of every field
except the signature), so reformatting the TOML keeps it valid and changing any value breaks
it. The profile's hash (`config_sha256` in a donation's manifest) is the SHA-256 of the same
canonical bytes. The signature is embedded as a [signature] table or kept in a detached
`PROFILE.sig` file holding only that table.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from recorder import limits as bounded
from recorder.atomic import write_atomic
from recorder.capture.policy import CapturePolicy
from recorder.errors import OwnTraceError
from recorder.keys import fingerprint, parse_recipient, public_raw
from recorder.study.keys import load_signing_key

FORMAT = 1
DOMAIN = b"owntrace-study-profile/v1\n"
ASK_AGAIN = "ask the researcher for the file again"
ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


class ProfileError(OwnTraceError):
    pass


@dataclass(frozen=True)
class Collect:
    """What a study may capture. Each field maps onto the recorder's CapturePolicy."""

    key_text: bool = False
    screenshots: bool = True
    window_titles: bool = True
    apps_allowed: tuple[str, ...] = ()  # empty: every app the participant does not exclude
    apps_excluded: tuple[str, ...] = ()

    def more_than(self, accepted: Collect) -> list[str]:
        """What this asks for beyond `accepted`, in words (empty when it asks no more)."""
        more = [
            name.replace("_", " ")
            for name in ("key_text", "screenshots", "window_titles")
            if getattr(self, name) and not getattr(accepted, name)
        ]
        allowed = {a.lower() for a in accepted.apps_allowed}
        if allowed and not self.apps_allowed:
            more.append("every app instead of " + ", ".join(accepted.apps_allowed))
        elif allowed:
            extra = [a for a in self.apps_allowed if a.lower() not in allowed]
            if extra:
                more.append("apps " + ", ".join(extra))
        excluded = {a.lower() for a in self.apps_excluded}
        dropped = [a for a in accepted.apps_excluded if a.lower() not in excluded]
        if dropped:
            more.append("apps no longer excluded: " + ", ".join(dropped))
        return more

    def allows_app(self, app: str) -> bool:
        return CapturePolicy(apps_allowed=self.apps_allowed, apps_excluded=self.apps_excluded).app_allowed(app)

    def describe(self) -> list[str]:
        """One line per category, as shown to a participant before they consent."""
        yes_no = {True: "YES", False: "no"}
        apps = ", ".join(self.apps_allowed) if self.apps_allowed else "every app except your exclusions"
        lines = [
            f"typed text (key characters): {yes_no[self.key_text]}",
            f"screenshots:                 {yes_no[self.screenshots]}",
            f"window titles:               {yes_no[self.window_titles]}",
            f"apps recorded:               {apps}",
        ]
        if self.apps_excluded:
            lines.append(f"apps never recorded:         {', '.join(self.apps_excluded)}")
        return lines

    def to_obj(self) -> dict[str, Any]:
        return {**asdict(self), "apps_allowed": list(self.apps_allowed), "apps_excluded": list(self.apps_excluded)}


@dataclass(frozen=True)
class Signature:
    public_key: bytes  # raw Ed25519, 32 bytes
    value: bytes  # 64 bytes

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.public_key)

    def to_obj(self) -> dict[str, str]:
        return {"algorithm": "ed25519", "public_key": self.public_key.hex(), "value": self.value.hex()}


@dataclass(frozen=True)
class StudyProfile:
    id: str
    version: int
    title: str
    researcher: str
    consent: str
    recipients: tuple[str, ...]
    collect: Collect = field(default_factory=Collect)
    extra_deny: tuple[str, ...] = ()
    retention_days: int = 0
    withdrawal_contact: str = ""
    format: int = FORMAT
    signature: Signature | None = None

    def to_obj(self) -> dict[str, Any]:
        """Every signed field, as plain JSON-able values (the signature is not part of it)."""
        return {
            "format": self.format,
            "id": self.id,
            "version": self.version,
            "title": self.title,
            "researcher": self.researcher,
            "consent": self.consent,
            "retention_days": self.retention_days,
            "withdrawal_contact": self.withdrawal_contact,
            "recipients": list(self.recipients),
            "collect": self.collect.to_obj(),
            "redaction": {"extra_deny": list(self.extra_deny)},
        }

    def canonical_bytes(self) -> bytes:
        return DOMAIN + json.dumps(self.to_obj(), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.canonical_bytes()).hexdigest()

    @property
    def consent_sha256(self) -> str:
        return hashlib.sha256(self.consent.encode()).hexdigest()

    def policy(self) -> CapturePolicy:
        c = self.collect
        return CapturePolicy(
            key_text=c.key_text,
            screenshots=c.screenshots,
            window_titles=c.window_titles,
            apps_allowed=c.apps_allowed,
            apps_excluded=c.apps_excluded,
            extra_deny=self.extra_deny,
        )

    def signed(self, key: Ed25519PrivateKey) -> StudyProfile:
        return replace(self, signature=Signature(public_raw(key), key.sign(self.canonical_bytes())))

    def verify(self) -> Signature:
        """The valid signature, or ProfileError saying why there is none."""
        if self.signature is None:
            raise ProfileError(
                f"study profile {self.id!r} is not signed",
                "ask the researcher for the signed profile (or its .sig file); unsigned profiles are refused",
            )
        try:
            Ed25519PublicKey.from_public_bytes(self.signature.public_key).verify(
                self.signature.value, self.canonical_bytes()
            )
        except (InvalidSignature, ValueError):
            raise ProfileError(
                f"study profile {self.id!r}: the signature does not match its content (tampered or corrupt)",
                "get the profile again from the researcher; do not join a profile that fails verification",
            ) from None
        return self.signature


# ---- TOML in and out -------------------------------------------------------------------------

_TOP_KEYS = {"format", "id", "version", "title", "researcher", "consent", "retention_days",
             "withdrawal_contact", "recipients", "collect", "redaction", "signature"}
_COLLECT_KEYS = {"key_text", "screenshots", "window_titles", "apps_allowed", "apps_excluded"}


def _toml_value(v: Any) -> str:
    # JSON strings are valid TOML basic strings (same escapes), JSON booleans and ints too
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return json.dumps(v, ensure_ascii=False)


def _toml_table(obj: dict[str, Any]) -> str:
    return "".join(f"{k} = {_toml_value(v)}\n" for k, v in obj.items())


def to_toml(profile: StudyProfile, *, embed_signature: bool = True) -> str:
    obj = profile.to_obj()
    collect, redaction = obj.pop("collect"), obj.pop("redaction")
    text = "# OwnTrace study profile. Participants verify the signature before joining.\n"
    text += _toml_table(obj) + "\n[collect]\n" + _toml_table(collect) + "\n[redaction]\n" + _toml_table(redaction)
    if embed_signature and profile.signature:
        text += "\n[signature]\n" + _toml_table(profile.signature.to_obj())
    return text


def signature_toml(sig: Signature) -> str:
    return "[signature]\n" + _toml_table(sig.to_obj())


def _check(cond: bool, what: str) -> None:
    if not cond:
        raise ProfileError(f"study profile: {what}", "fix the profile, or ask the researcher for a valid one")


def _str_list(obj: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    v = obj.get(key, [])
    _check(isinstance(v, list) and all(isinstance(x, str) for x in v), f"{where}{key} should be a list of strings")
    return tuple(v)


def _typed(obj: dict[str, Any], key: str, kind: type, default: Any = None, where: str = "") -> Any:
    if key not in obj:
        _check(default is not None, f"{where}{key} is missing")
        return default
    v = obj[key]
    _check(isinstance(v, kind) and not (kind is int and isinstance(v, bool)), f"{where}{key} should be a {kind.__name__}")
    return v


def _parse_signature(obj: Any) -> Signature:
    _check(isinstance(obj, dict), "[signature] should be a table")
    _check(obj.get("algorithm") == "ed25519", "[signature] algorithm should be \"ed25519\"")
    try:
        pub, val = bytes.fromhex(obj["public_key"]), bytes.fromhex(obj["value"])
    except (KeyError, TypeError, ValueError):
        raise ProfileError("study profile: [signature] needs hex public_key and value") from None
    _check(len(pub) == 32 and len(val) == 64, "[signature] has a key or value of the wrong length")
    return Signature(pub, val)


def from_obj(obj: dict[str, Any]) -> StudyProfile:
    fmt = obj.get("format")
    if fmt != FORMAT:
        raise ProfileError(
            f"study profile format {fmt!r} is not supported (this OwnTrace reads format {FORMAT})",
            "upgrade OwnTrace, or ask the researcher for a format 1 profile",
        )
    unknown = set(obj) - _TOP_KEYS
    _check(not unknown, f"unknown field(s) {', '.join(sorted(unknown))}")
    sid = _typed(obj, "id", str)
    _check(bool(ID_RE.match(sid)), f"id {sid!r} should be lowercase letters, digits, '.', '_' or '-' (≤64)")
    version = _typed(obj, "version", int)
    _check(version >= 1, "version should be 1 or more")
    collect_obj = _typed(obj, "collect", dict, {})
    unknown = set(collect_obj) - _COLLECT_KEYS
    _check(not unknown, f"unknown [collect] field(s) {', '.join(sorted(unknown))}")
    redaction = _typed(obj, "redaction", dict, {})
    _check(set(redaction) <= {"extra_deny"}, "[redaction] holds only extra_deny")
    recipients = _str_list(obj, "recipients", "")
    _check(bool(recipients), "recipients is empty: donations would have nobody to be encrypted to")
    for r in recipients:
        parse_recipient(r)
    for name in ("title", "researcher", "consent"):
        _check(isinstance(obj.get(name), str) and bool(obj[name].strip()), f"{name} is missing or empty")
    d = Collect()
    return StudyProfile(
        id=sid,
        version=version,
        title=_typed(obj, "title", str),
        researcher=_typed(obj, "researcher", str),
        consent=_typed(obj, "consent", str),
        recipients=recipients,
        collect=Collect(
            key_text=_typed(collect_obj, "key_text", bool, d.key_text, "[collect] "),
            screenshots=_typed(collect_obj, "screenshots", bool, d.screenshots, "[collect] "),
            window_titles=_typed(collect_obj, "window_titles", bool, d.window_titles, "[collect] "),
            apps_allowed=_str_list(collect_obj, "apps_allowed", "[collect] "),
            apps_excluded=_str_list(collect_obj, "apps_excluded", "[collect] "),
        ),
        extra_deny=_str_list(redaction, "extra_deny", "[redaction] "),
        retention_days=_typed(obj, "retention_days", int, 0),
        withdrawal_contact=_typed(obj, "withdrawal_contact", str, ""),
        format=fmt,
        signature=_parse_signature(obj["signature"]) if "signature" in obj else None,
    )


def _load_toml(text: str, what: str) -> dict[str, Any]:
    try:
        return bounded.loads_toml(text)
    except tomllib.TOMLDecodeError as e:
        raise ProfileError(f"{what} is not valid TOML: {e}", ASK_AGAIN) from None


def parse(text: str) -> StudyProfile:
    return from_obj(_load_toml(text, "study profile"))


def load(path: Path, signature_path: Path | None = None) -> StudyProfile:
    """A profile from its TOML file; a detached signature comes from `signature_path` or PROFILE.sig."""
    profile = parse(bounded.read_text(path, bounded.TOML_MAX_BYTES, "study profile", ASK_AGAIN, error=ProfileError))
    detached = Path(signature_path) if signature_path else detached_signature_path(path)
    if profile.signature is None and (signature_path or detached.exists()):
        sig_text = bounded.read_text(detached, bounded.TOML_MAX_BYTES, "signature file", ASK_AGAIN, error=ProfileError)
        sig_obj = _load_toml(sig_text, f"signature file {detached.name}")
        _check(set(sig_obj) == {"signature"}, f"{detached.name} should hold only a [signature] table")
        profile = replace(profile, signature=_parse_signature(sig_obj["signature"]))
    return profile


def write_draft(path: Path, draft: StudyProfile) -> StudyProfile:
    """Write an unsigned profile, after the same validation a participant's join applies."""
    profile = from_obj(draft.to_obj())
    write_atomic(path, to_toml(profile).encode(), mode=0o644)
    return profile


def detached_signature_path(path: Path) -> Path:
    """Where a detached signature of the profile at `path` lives: PROFILE.sig beside it."""
    return Path(f"{path}.sig")


def sign_file(path: Path, key_file: Path, *, detached: bool = False) -> tuple[StudyProfile, Path]:
    """Sign the profile at `path` in place with the researcher's key in `key_file`: the signature
    embedded as its [signature] table or, `detached`, the profile rewritten without one and the
    signature in PROFILE.sig (where `load` finds it). Returns the signed profile and the file
    that holds its signature."""
    profile = load(path)  # first: a missing profile is the error to report, not the key
    profile = profile.signed(load_signing_key(key_file))
    target = detached_signature_path(path) if detached else path
    write_atomic(path, to_toml(profile, embed_signature=not detached).encode(), mode=0o644)
    if detached:
        write_atomic(target, signature_toml(profile.verify()).encode(), mode=0o644)
    return profile, target
