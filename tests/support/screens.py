"""Synthetic screens with ground truth, for the screenshot-redaction benchmark and tests.

Screens look like what people record: mail lists, forms, terminals, chats and code editors, in
light and dark themes, 11-18 px, several fonts. Every personal value is drawn from a marked
segment, so its pixel box is known exactly (`Screen.truths`); every other word's box is known
too (`Screen.words`), to count words redacted by mistake. Everything stays in memory.
"""

from __future__ import annotations

import random
import string
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

Box = tuple[int, int, int, int]

FONT_DIR = "/usr/share/fonts/truetype"
FONTS = {
    "dejavu-mono": f"{FONT_DIR}/dejavu/DejaVuSansMono.ttf",
    "dejavu-sans": f"{FONT_DIR}/dejavu/DejaVuSans.ttf",
    "liberation-mono": f"{FONT_DIR}/liberation/LiberationMono-Regular.ttf",
    "liberation-sans": f"{FONT_DIR}/liberation/LiberationSans-Regular.ttf",
    "liberation-serif": f"{FONT_DIR}/liberation/LiberationSerif-Regular.ttf",
}
THEMES = {  # background, text
    "light": ((255, 255, 255), (30, 30, 30)),
    "dark": ((30, 32, 36), (215, 218, 222)),
}
KINDS = ("mail", "form", "terminal", "chat", "code")
DENY = ("Jane Roe", "jroe", "Acme Widgets")  # the benchmark user's deny-list

PARTIAL = "PARTIAL"  # a value still being typed
Segment = tuple[str, str | None]  # text, entity (None: not personal)


@dataclass
class Truth:
    entity: str
    text: str
    boxes: list[Box]


@dataclass
class Screen:
    image: Image.Image
    kind: str
    theme: str
    font: str
    px: int
    truths: list[Truth] = field(default_factory=list)
    words: list[tuple[str, Box]] = field(default_factory=list)  # words that are not personal


@lru_cache(maxsize=64)
def font(name: str, px: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(FONTS[name], px)


def render(
    lines: list[list[Segment]],
    *,
    size: tuple[int, int] = (960, 600),
    font_name: str = "dejavu-mono",
    px: int = 14,
    theme: str = "light",
    origin: tuple[int, int] = (12, 10),
    kind: str = "text",
) -> Screen:
    """Draw lines of segments; record the box of every personal segment and every other word."""
    bg, fg = THEMES[theme]
    img = Image.new("RGB", size, bg)
    draw = ImageDraw.Draw(img)
    f = font(font_name, px)
    screen = Screen(img, kind, theme, font_name, px)
    step = round(px * 1.45)
    for n, segments in enumerate(lines):
        y = origin[1] + n * step
        if y + step > size[1]:
            break
        text = "".join(s for s, _ in segments)
        draw.text((origin[0], y), text, font=f, fill=fg)
        pos = 0
        for seg, entity in segments:
            if entity and seg.strip():
                screen.truths.append(Truth(entity, seg, [ink_box(f, text, pos, seg, origin[0], y)]))
            elif not entity:
                i = pos
                for word in seg.split(" "):
                    if word.strip(string.punctuation + "$#"):
                        screen.words.append((word, ink_box(f, text, i, word, origin[0], y)))
                    i += len(word) + 1
            pos += len(seg)
    return screen


def ink_box(f: ImageFont.FreeTypeFont, line: str, pos: int, part: str, x: int, y: int) -> Box:
    """Pixel box of the ink of `part`, drawn at character `pos` of `line` at (x, y)."""
    x0 = x + f.getlength(line[:pos])
    left, top, right, bottom = f.getbbox(part)
    return (int(x0 + left), y + top, int(round(right - left)) + 1, bottom - top)


# ---- personal values ---------------------------------------------------------------------

FIRST = ("Maria", "John", "Aisha", "Wei", "Lukas", "Sofia", "Omar", "Emma", "Ravi", "Chloe")
LAST = ("Garcia", "Smith", "Khan", "Zhang", "Muller", "Rossi", "Haddad", "Brown", "Patel", "Martin")
DOMAINS = ("example.com", "mailbox.org", "uni-hamburg.de", "corp.example.net", "gmail.com")


def _luhn_complete(digits: str) -> str:
    total = 0
    for i, d in enumerate(reversed(digits)):
        n = int(d) * (2 if i % 2 == 0 else 1)
        total += n - 9 if n > 9 else n
    return digits + str((10 - total % 10) % 10)


def _iban(rnd: random.Random) -> str:
    bban = "".join(rnd.choices(string.digits, k=18))
    check = 98 - int("".join(str(int(c, 36)) for c in bban + "DE00")) % 97
    raw = f"DE{check:02d}{bban}"
    return " ".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def _token(rnd: random.Random, n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(rnd.choices(alphabet, k=n))


class Values:
    """Random but valid personal values (cards pass Luhn, IBANs their checksum)."""

    def __init__(self, rnd: random.Random) -> None:
        self.rnd = rnd

    def name(self) -> str:
        return f"{self.rnd.choice(FIRST)} {self.rnd.choice(LAST)}"

    def email(self) -> str:
        first, last = self.name().lower().split()
        return f"{first}.{last}{self.rnd.randint(1, 99)}@{self.rnd.choice(DOMAINS)}"

    def phone(self) -> str:
        return f"+1 {self.rnd.choice(('415', '212', '617', '312'))} 555 {self.rnd.randint(100, 9999):04d}"

    def card(self) -> str:
        prefix = self.rnd.choice(("4", "51", "6011"))
        raw = _luhn_complete(prefix + "".join(self.rnd.choices(string.digits, k=15 - len(prefix))))
        return " ".join(raw[i : i + 4] for i in range(0, 16, 4))

    def iban(self) -> str:
        return _iban(self.rnd)

    def ip(self) -> str:
        return ".".join(str(self.rnd.randint(11, 223)) for _ in range(4))

    def ssn(self) -> str:
        return f"{self.rnd.randint(100, 665)}-{self.rnd.randint(10, 99)}-{self.rnd.randint(1000, 9999)}"

    def mac(self) -> str:
        return ":".join(f"{self.rnd.randint(0, 255):02x}" for _ in range(6))

    def dob(self) -> str:
        return f"{self.rnd.randint(1, 28):02d}/{self.rnd.randint(1, 12):02d}/{self.rnd.randint(1950, 2004)}"

    def github(self) -> str:
        return "ghp_" + _token(self.rnd, 36)

    def aws(self) -> str:
        return "AKIA" + _token(self.rnd, 16, string.ascii_uppercase + string.digits)

    def slack(self) -> str:
        return f"xoxb-{self.rnd.randint(10**11, 10**12 - 1)}-{self.rnd.randint(10**11, 10**12 - 1)}-{_token(self.rnd, 24)}"

    def stripe(self) -> str:
        return "sk_live_" + _token(self.rnd, 24)

    def openai(self) -> str:
        return "sk-" + _token(self.rnd, 48)

    def jwt(self) -> str:
        return "eyJhbGciOiJIUzI1NiJ9." + _token(self.rnd, 30) + "." + _token(self.rnd, 22)

    def conn(self) -> str:
        return f"postgres://app:{_token(self.rnd, 12)}@db.internal:5432/main"

    def deny(self) -> str:
        return self.rnd.choice(DENY)


# ---- screen layouts ----------------------------------------------------------------------

SUBJECTS = ("Quarterly report draft", "Lunch on Friday?", "Re: build is failing", "Invoice for October",
            "Meeting notes", "Your order has shipped", "Team offsite plans", "Fwd: travel booking")
WORDS = ("the", "report", "please", "review", "before", "tomorrow", "thanks", "meeting", "project", "update",
         "server", "deploy", "branch", "tests", "passed", "see", "attached", "notes", "schedule", "budget")


def _prose(rnd: random.Random, n: int) -> str:
    return " ".join(rnd.choice(WORDS) for _ in range(n))


def mail_lines(v: Values) -> list[list[Segment]]:
    rnd = v.rnd
    lines: list[list[Segment]] = [[("Inbox (24)   Sent   Drafts   Archive", None)], [("", None)]]
    for i in range(14):
        sender: Segment = (v.deny(), "DENY") if i % 5 == 0 else (v.email(), "EMAIL_ADDRESS")
        lines.append([(f"{'*' if i % 3 == 0 else ' '} ", None), sender, (f"   {rnd.choice(SUBJECTS)}   {rnd.randint(8, 18)}:{rnd.randint(10, 59)}", None)])
    return lines


def form_lines(v: Values) -> list[list[Segment]]:
    rows = [
        ("Email address:  ", v.email(), "EMAIL_ADDRESS"),
        ("Phone:  ", v.phone(), "PHONE_NUMBER"),
        ("Card number:  ", v.card(), "CREDIT_CARD"),
        ("IBAN:  ", v.iban(), "IBAN_CODE"),
        ("Date of birth:  ", v.dob(), "DATE_OF_BIRTH"),
        ("SSN:  ", v.ssn(), "US_SSN"),
        ("Company:  ", "Acme Widgets", "DENY"),
    ]
    lines: list[list[Segment]] = [[("Checkout - billing details", None)], [("", None)]]
    for label, value, entity in rows:
        lines += [[(label, None), (value, entity)], [("", None)]]
    lines.append([("[ Cancel ]   [ Pay now ]", None)])
    return lines


def terminal_lines(v: Values) -> list[list[Segment]]:
    prompt: Segment = ("jroe", "DENY")
    host = ("@laptop:~/src$ ", None)
    return [
        [prompt, host, ("export GITHUB_TOKEN=", None), (v.github(), "SECRET")],
        [prompt, host, ("export AWS_ACCESS_KEY_ID=", None), (v.aws(), "SECRET")],
        [prompt, host, ("ping -c 1 ", None), (v.ip(), "IP_ADDRESS")],
        [("PING 1 packets transmitted, 1 received, 0% packet loss", None)],
        [prompt, host, ("psql ", None), (v.conn(), "SECRET")],
        [("psql: connection ok, server version 16.2", None)],
        [prompt, host, ("ip link show eth0", None)],
        [("    link/ether ", None), (v.mac(), "MAC_ADDRESS"), (" brd ff:ff:ff:ff:ff:ff", None)],
        [prompt, host, ("git log --oneline | head -3", None)],
        [("a1b2c3d fix flaky test in parser", None)],
        [("9f8e7d6 update dependencies", None)],
        [prompt, host, ("curl -H 'Authorization: Bearer ", None), (v.openai(), "SECRET"), ("'", None)],
    ]


def chat_lines(v: Values) -> list[list[Segment]]:
    a, b = v.name().split()[0], v.name().split()[0]
    return [
        [("# general", None)],
        [(f"{a}: ", None), ("can you send me the ", None), ("invoice details?", None)],
        [(f"{b}: ", None), ("sure, card is ", None), (v.card(), "CREDIT_CARD")],
        [(f"{a}: ", None), ("and reach me at ", None), (v.email(), "EMAIL_ADDRESS")],
        [(f"{b}: ", None), ("or call ", None), (v.phone(), "PHONE_NUMBER")],
        [(f"{a}: ", None), ("thanks ", None), (v.deny(), "DENY"), (", " + _prose(v.rnd, 4), None)],
        [(f"{b}: ", None), (_prose(v.rnd, 8), None)],
        [(f"{a}: ", None), ("wallet ", None), ("1BoatSLRHtKNngkdXEeobR76b53LETtpyT", "CRYPTO")],
        [(f"{b}: ", None), (_prose(v.rnd, 6), None)],
    ]


def code_lines(v: Values) -> list[list[Segment]]:
    lines = [
        ("import os", None, None),
        ("", None, None),
        ('STRIPE_KEY = "', v.stripe(), "SECRET"),
        ('SLACK_TOKEN = "', v.slack(), "SECRET"),
        ('JWT = "', v.jwt(), "SECRET"),
        ('ADMIN_EMAIL = "', v.email(), "EMAIL_ADDRESS"),
        ("", None, None),
        ("def connect(retries=3):", None, None),
        ('    url = os.environ.get("DATABASE_URL")', None, None),
        ("    for attempt in range(retries):", None, None),
        ("        if ping(url):", None, None),
        ("            return open_pool(url)", None, None),
        ('    raise RuntimeError("database unreachable")', None, None),
    ]
    out: list[list[Segment]] = []
    for n, (code, value, entity) in enumerate(lines, 1):
        segs: list[Segment] = [(f"{n:3d}  {code}", None)]
        if value:
            segs += [(value, entity), ('"', None)]
        out.append(segs)
    return out


LAYOUTS = {"mail": mail_lines, "form": form_lines, "terminal": terminal_lines, "chat": chat_lines, "code": code_lines}


def screens(seed: int = 0, *, sizes=(11, 12, 14, 16, 18), fonts=tuple(FONTS), themes=tuple(THEMES),
            kinds=KINDS, size: tuple[int, int] = (1280, 800)) -> list[Screen]:
    """One screen per combination of kind, theme and font size; fonts rotate through the set
    (monospace for terminal and code, as those apps use)."""
    rnd = random.Random(seed)
    out = []
    for i, (kind, theme, px) in enumerate((k, t, p) for k in kinds for t in themes for p in sizes):
        usable = [f for f in fonts if "mono" in f] if kind in ("terminal", "code") else list(fonts)
        name = usable[i % len(usable)]
        out.append(render(LAYOUTS[kind](Values(rnd)), size=size, font_name=name, px=px, theme=theme, kind=kind))
    return out


def typing_session(seconds: int = 300, fps: int = 2, *, size: tuple[int, int] = (1280, 800), px: int = 14,
                   theme: str = "dark", seed: int = 1) -> Iterator[Screen]:
    """The frames (lazily: a 5-minute session does not fit in memory at once) of someone typing
    into a terminal at 2-4 characters per frame, with secrets among ordinary commands."""
    rnd = random.Random(seed)
    v = Values(rnd)
    prompt: list[Segment] = [("jroe", "DENY"), ("@laptop:~/src$ ", None)]
    history: list[list[Segment]] = [prompt + [("ls", None)], [("README  src  tests  notes", None)]]
    rows = size[1] // round(px * 1.45) - 1
    cmd: list[Segment] = []
    pos = 0
    for _ in range(seconds * fps):
        if not cmd:
            cmd = rnd.choice((
                [("git status", None)],
                [("export GITHUB_TOKEN=", None), (v.github(), "SECRET")],
                [(f"echo {_prose(rnd, 5)}", None)],
                [("mail -s notes ", None), (v.email(), "EMAIL_ADDRESS")],
                [(f"grep -rn {rnd.choice(WORDS)} src", None)],
            ))
        length = sum(len(t) for t, _ in cmd)
        pos = min(length, pos + rnd.randint(2, 4))
        yield render((history + [prompt + _prefix(cmd, pos)])[-rows:], size=size, px=px, theme=theme, kind="session")
        if pos == length:
            history += [prompt + cmd, [(_prose(rnd, 6), None)]]
            cmd, pos = [], 0


def _prefix(segments: list[Segment], n: int) -> list[Segment]:
    """The first n characters of a line. A partly typed value is marked PARTIAL: no detector can
    know it yet, so it counts neither as missed nor as wrongly redacted."""
    out: list[Segment] = []
    for text, entity in segments:
        if n <= 0:
            break
        out.append((text[:n], entity if n >= len(text) or entity is None else PARTIAL))
        n -= len(text)
    return out
