"""A held-out evaluation set, made by a different generator than the detectors were built
against (tests/support/screens.py draws text with PIL from hand-written value lists).

Here: HTML pages of a mail client, a chat, a pull request, a calendar, contacts, a spreadsheet
and a terminal showing `git log`, rendered in real headless Chromium (Playwright, the system
/usr/bin/chromium, pages set from memory: nothing is loaded), at 1x and 2x device scale, light
and dark, 12-15 px, four font families. Names, companies, addresses, phones, cards, IBANs and
the rest come from Faker in 13 locales. Gold boxes come from the DOM: every personal value is a
`<span data-pii=ENTITY>`, every other word (a token with a letter or digit) is measured with a
Range; each box is then shrunk to the value's ink pixels.

The split is frozen in bench/eval_split.json (seed 2026): detectors are tuned on "tune" only,
and only "test" is reported.
"""

from __future__ import annotations

import html
import io
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from recorder.demo.apps import find_chromium
from tests.support.screens import Screen, Truth

SEED = 2026
COUNT = 120
SPLIT_FILE = Path(__file__).with_name("eval_split.json")
LOCALES = ("en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "pl_PL", "pt_BR", "sv_SE", "tr_TR",
           "en_IN", "da_DK")
KINDS = ("mail", "chat", "pull", "calendar", "contacts", "sheet", "gitlog")
FONTS = ("Liberation Sans", "DejaVu Sans", "Liberation Serif", "DejaVu Sans Mono")
THEMES = {"light": ("#ffffff", "#1f2328", "#f6f8fa"), "dark": ("#0d1117", "#e6edf3", "#161b22")}
CARDS = ("visa16", "mastercard", "amex", "discover", "jcb16", "diners", "maestro", "visa13")
SIZE = (1280, 800)


@dataclass
class Spec:
    id: int
    kind: str
    locale: str
    theme: str
    scale: int
    px: int
    font: str


def specs(count: int = COUNT) -> list[Spec]:
    """The first `count` screens (ids past COUNT are outside the frozen split: tuning only)."""
    rng = random.Random(SEED)
    return [Spec(i, KINDS[i % len(KINDS)], rng.choice(LOCALES), rng.choice(("light", "dark")), rng.choice((1, 2)),
                 rng.choice((12, 13, 14, 15)), rng.choice(FONTS)) for i in range(count)]


def split() -> dict[str, list[int]]:
    return json.loads(SPLIT_FILE.read_text())


def freeze_split() -> None:
    """Written once; the committed file is the split."""
    ids = list(range(COUNT))
    random.Random(SEED).shuffle(ids)
    SPLIT_FILE.write_text(json.dumps({"seed": SEED, "tune": sorted(ids[: COUNT // 2]),
                                      "test": sorted(ids[COUNT // 2:])}, indent=0) + "\n")


# ---- page content ---------------------------------------------------------------------------


def _pii(entity: str, value: str) -> str:
    return f'<span data-pii="{entity}">{html.escape(value)}</span>'


def _t(text: str) -> str:
    return html.escape(text)


class Values:
    """Values for one page, from Faker in the page's locale (names, companies, addresses) and
    en_US (formats Faker has only there)."""

    def __init__(self, spec: Spec) -> None:
        from faker import Faker

        self.f = Faker(spec.locale)
        self.f.seed_instance(SEED * 1000 + spec.id)
        self.en = Faker("en_US")
        self.en.seed_instance(SEED * 1000 + spec.id)
        self.rng = random.Random(spec.id)

    def person(self) -> str:
        return self._one_line(self.f.first_name() + " " + self.f.last_name())

    def company(self) -> str:
        return self._one_line(self.f.company())

    def address(self) -> str:
        return self._one_line(self.f.street_address())

    def city(self) -> str:
        return self._one_line(f"{self.f.postcode()} {self.f.city()}")

    def email(self, name: str | None = None) -> str:
        if name and self.rng.random() < 0.6:
            local = ".".join(name.lower().split()[:2])
            local = local.encode("ascii", "ignore").decode() or self.en.user_name()
            return f"{local}@{self.en.domain_name()}"
        return self.en.email()

    def phone(self) -> str:
        return self._one_line(self.f.phone_number() if self.rng.random() < 0.5 else self.en.phone_number())

    def card(self) -> str:
        number = self.en.credit_card_number(self.rng.choice(CARDS))
        sep = self.rng.choice(("", " ", "-"))
        return sep.join(number[i:i + 4] for i in range(0, len(number), 4)) if sep else number

    def iban(self) -> str:
        raw = self.f.iban()
        return " ".join(raw[i:i + 4] for i in range(0, len(raw), 4)) if self.rng.random() < 0.6 else raw

    def handle(self) -> str:
        return "@" + self.en.user_name()

    def channel(self) -> str:
        return "#" + self.en.slug()

    def repo(self) -> str:
        return f"{self.en.user_name()}/{self.en.slug()}"

    def ticket(self) -> str:
        return f"{self.rng.choice(('OPS', 'WEB', 'PAY', 'INFRA', 'CRM'))}-{self.rng.randint(10, 9999)}"

    def subject(self) -> str:
        return self.en.sentence(nb_words=self.rng.randint(3, 7)).rstrip(".")

    def text(self, words: int = 12) -> str:
        return self.en.sentence(nb_words=words)

    @staticmethod
    def _one_line(s: str) -> str:
        return ", ".join(part.strip() for part in s.splitlines() if part.strip())


def _mail(v: Values) -> str:
    rows = []
    for _ in range(9):
        who = v.person()
        rows.append(f"<tr><td class=who>{_pii('PERSON', who)}</td><td>{_t(v.subject())}</td>"
                    f"<td class=dim>{v.rng.randint(1, 12)}:{v.rng.randint(10, 59)}</td></tr>")
    sender, to = v.person(), v.person()
    company = v.company()
    body = (f"<p>{_t('From:')} {_pii('PERSON', sender)} &lt;{_pii('EMAIL_ADDRESS', v.email(sender))}&gt;</p>"
            f"<p>{_t('To:')} {_pii('PERSON', to)}</p><p>{_t('Subject:')} {_t(v.subject())}</p>"
            f"<p>{_t('Hi')} {_pii('PERSON', to.split()[0])},</p><p>{_t(v.text(14))}</p>"
            f"<p>{_t('Please send the signed copy to')} {_pii('ADDRESS', v.address())}, "
            f"{_pii('ADDRESS', v.city())}.</p>"
            f"<p>{_t('Best regards,')}<br>{_pii('PERSON', sender)}<br>{_pii('ORGANIZATION', company)}<br>"
            f"{_t('Phone')} {_pii('PHONE_NUMBER', v.phone())}</p>")
    return (f"<div class=bar>{_t('Inbox')} · {_t('Starred')} · {_t('Sent')} · {_t('Drafts')}</div>"
            f"<div class=cols><table class=list>{''.join(rows)}</table><div class=pane>{body}</div></div>")


def _chat(v: Values) -> str:
    lines = []
    for _ in range(7):
        who = v.person()
        extra = v.rng.choice([
            lambda: f"{_t('ping')} {_pii('HANDLE', v.handle())} {_t('about it')}",
            lambda: f"{_t('moved to')} {_pii('CHANNEL', v.channel())}",
            lambda: f"{_t('call me on')} {_pii('PHONE_NUMBER', v.phone())}",
            lambda: f"{_t('the contract with')} {_pii('ORGANIZATION', v.company())} {_t('is signed')}",
            lambda: _t(v.text(9)),
        ])()
        lines.append(f"<div class=msg><b>{_pii('PERSON', who)}</b> <span class=dim>{v.rng.randint(8, 18)}:"
                     f"{v.rng.randint(10, 59)}</span><br>{extra}</div>")
    side = "".join(f"<div>{_pii('CHANNEL', v.channel())}</div>" for _ in range(5))
    return f"<div class=cols><div class=side>{side}</div><div class=pane>{''.join(lines)}</div></div>"


def _pull(v: Values) -> str:
    repo = v.repo()
    author, reviewer = v.person(), v.person()
    return (f"<div class=bar>{_pii('REPOSITORY', repo)} · {_t('Pull requests')} · {_t('Issues')}</div>"
            f"<h2>{_t(v.subject())} <span class=dim>#{v.rng.randint(10, 999)}</span></h2>"
            f"<p>{_pii('PERSON', author)} {_t('wants to merge 3 commits into main')}</p>"
            f"<p>{_t('Fixes')} {_pii('WORK_ID', v.ticket())}. {_t(v.text(10))}</p>"
            f"<div class=msg><b>{_pii('PERSON', reviewer)}</b> {_t('commented')}<br>{_t(v.text(8))} "
            f"{_pii('HANDLE', v.handle())}</div>"
            f"<div class=msg><b>{_pii('PERSON', author)}</b> {_t('commented')}<br>{_t(v.text(11))}</div>"
            f"<p>{_t('Reviewers')}</p><p>{_pii('PERSON', reviewer)}</p><p>{_pii('PERSON', v.person())}</p>")


def _calendar(v: Values) -> str:
    cells = []
    for day in ("Mon", "Tue", "Wed", "Thu", "Fri"):
        who = v.person()
        cells.append(f"<td><b>{day}</b><br>{_t(v.subject())}<br>{_t('with')} {_pii('PERSON', who)}</td>")
    attendees = ", ".join(_pii("PERSON", v.person()) for _ in range(3))
    return (f"<table class=grid><tr>{''.join(cells)}</tr></table>"
            f"<div class=pane><h3>{_t(v.subject())}</h3><p>{_t('Organizer:')} {_pii('PERSON', v.person())}</p>"
            f"<p>{_t('Attendees:')} {attendees}</p><p>{_t('Where:')} {_pii('ORGANIZATION', v.company())}, "
            f"{_pii('ADDRESS', v.address())}</p><p>{_t('Dial-in')} {_pii('PHONE_NUMBER', v.phone())}</p></div>")


def _contacts(v: Values) -> str:
    rows = []
    for _ in range(6):
        who = v.person()
        rows.append(f"<tr><td>{_pii('PERSON', who)}</td><td>{_pii('ORGANIZATION', v.company())}</td>"
                    f"<td>{_pii('PHONE_NUMBER', v.phone())}</td><td>{_pii('EMAIL_ADDRESS', v.email(who))}</td></tr>")
    who = v.person()
    card = (f"<div class=pane><h3>{_pii('PERSON', who)}</h3><p>{_pii('ADDRESS', v.address())}</p>"
            f"<p>{_pii('ADDRESS', v.city())}</p><p>{_t('Mobile')} {_pii('PHONE_NUMBER', v.phone())}</p></div>")
    head = "<tr><th>Name</th><th>Company</th><th>Phone</th><th>Email</th></tr>"
    return f"<table class=list>{head}{''.join(rows)}</table>{card}"


def _sheet(v: Values) -> str:
    head = "<tr><th>#</th><th>Customer</th><th>Card</th><th>IBAN</th><th>Amount</th></tr>"
    rows = []
    for n in range(1, 10):
        rows.append(f"<tr><td>{n}</td><td>{_pii('PERSON', v.person())}</td><td>{_pii('CREDIT_CARD', v.card())}</td>"
                    f"<td>{_pii('IBAN_CODE', v.iban())}</td><td>{v.rng.randint(10, 9999)}.{v.rng.randint(10, 99)}</td></tr>")
    return f"<div class=bar>{_t('Sheet1')} · {_t('Payments')}</div><table class='list sheet'>{head}{''.join(rows)}</table>"


def _gitlog(v: Values) -> str:
    out = []
    for _ in range(5):
        who = v.person()
        commit = "".join(v.rng.choice("0123456789abcdef") for _ in range(40))
        out.append(f"<div class=y>commit {commit}</div><div>Author: {_pii('PERSON', who)} "
                   f"&lt;{_pii('EMAIL_ADDRESS', v.email(who))}&gt;</div><div>Date:   Tue Mar 3 10:{v.rng.randint(10, 59)}:"
                   f"07 2026 +0100</div><div>&nbsp;</div><div>&nbsp;&nbsp;&nbsp;&nbsp;{_t(v.subject())}</div><div>&nbsp;</div>")
    return f"<div class=term><div>$ git log -5</div>{''.join(out)}</div>"


PAGES = {"mail": _mail, "chat": _chat, "pull": _pull, "calendar": _calendar, "contacts": _contacts,
         "sheet": _sheet, "gitlog": _gitlog}


def page_html(spec: Spec) -> str:
    bg, fg, panel = THEMES[spec.theme]
    font = "DejaVu Sans Mono" if spec.kind == "gitlog" else spec.font
    style = (f"body{{margin:0;padding:12px;background:{bg};color:{fg};font:{spec.px}px '{font}';}}"
             f".bar{{background:{panel};padding:6px;margin-bottom:8px}} .cols{{display:flex;gap:24px}}"
             f".list td,.list th{{padding:4px 14px 4px 0;text-align:left;white-space:nowrap}}"
             f".pane{{padding:8px;background:{panel};max-width:620px}} .side{{width:200px}} .dim{{opacity:.7}}"
             f".msg{{margin:10px 0}} .grid td{{vertical-align:top;padding:8px;width:220px}} p{{margin:6px 0}}"
             f".term{{background:#000;color:#ddd;padding:8px;font-family:'DejaVu Sans Mono'}} .y{{color:#c9b000}}")
    return f"<!doctype html><html><head><meta charset=utf-8><style>{style}</style></head><body>" \
           f"{PAGES[spec.kind](Values(spec))}</body></html>"


# every personal span's rects, and a rect per other word (a Range over each word of each text node)
_MEASURE = """() => {
  const out = {pii: [], words: []};
  for (const el of document.querySelectorAll('[data-pii]')) {
    out.pii.push({entity: el.dataset.pii, text: el.textContent,
                  rects: [...el.getClientRects()].map(r => [r.x, r.y, r.width, r.height])});
  }
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walk.nextNode(); n; n = walk.nextNode()) {
    if (n.parentElement.closest('[data-pii]') || n.parentElement.closest('style')) continue;
    const re = /\\S+/g; let m;
    while ((m = re.exec(n.textContent))) {
      if (!/[\\p{L}\\p{N}]/u.test(m[0])) continue;  // "<", "·", "—" are no words
      const r = document.createRange(); r.setStart(n, m.index); r.setEnd(n, m.index + m[0].length);
      const b = r.getBoundingClientRect();
      if (b.width > 0) out.words.push({text: m[0], rect: [b.x, b.y, b.width, b.height]});
    }
  }
  return out;
}"""


def ink_box(pixels: np.ndarray, rect: list[float], scale: int) -> tuple[int, int, int, int] | None:
    """The DOM rect (CSS px) shrunk to the pixels that differ from its background (device px)."""
    h, w = pixels.shape[:2]
    x0, y0 = max(0, int(rect[0] * scale)), max(0, int(rect[1] * scale))
    x1, y1 = min(w, int((rect[0] + rect[2]) * scale + 0.999)), min(h, int((rect[1] + rect[3]) * scale + 0.999))
    if x1 <= x0 or y1 <= y0:
        return None
    crop = pixels[y0:y1, x0:x1].astype(int)
    colours, counts = np.unique(crop.reshape(-1, 3), axis=0, return_counts=True)
    bg = colours[counts.argmax()]
    ink = np.abs(crop - bg).sum(axis=2) > 60
    if not ink.any():
        return None
    ys, xs = np.nonzero(ink)
    return (x0 + int(xs.min()), y0 + int(ys.min()), int(xs.max() - xs.min()) + 1, int(ys.max() - ys.min()) + 1)


def render(ids: list[int]) -> Iterator[tuple[Spec, Screen]]:
    """Screens of the given ids, rendered one by one in one headless Chromium."""
    from playwright.sync_api import sync_playwright

    chosen = [s for s in specs(max(ids, default=0) + 1) if s.id in set(ids)]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=find_chromium(), args=["--no-sandbox"])
        try:
            for scale in (1, 2):
                ctx = browser.new_context(viewport={"width": SIZE[0], "height": SIZE[1]}, device_scale_factor=scale,
                                          offline=True)
                page = ctx.new_page()
                for spec in (s for s in chosen if s.scale == scale):
                    page.set_content(page_html(spec))
                    shot = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
                    dom = page.evaluate(_MEASURE)
                    pixels = np.asarray(shot)
                    screen = Screen(shot, spec.kind, spec.theme, spec.font, spec.px)
                    for item in dom["pii"]:
                        boxes = [b for r in item["rects"] if (b := ink_box(pixels, r, scale))]
                        if boxes:
                            screen.truths.append(Truth(item["entity"], item["text"], boxes))
                    for word in dom["words"]:
                        if (b := ink_box(pixels, word["rect"], scale)):
                            screen.words.append((word["text"], b))
                    yield spec, screen
                ctx.close()
        finally:
            browser.close()
