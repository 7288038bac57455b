"""Structured values that hold on data nobody here wrote: payment cards in every current IIN
range, phone numbers that are *possible* (not only assigned) and any number in a phone context,
IBANs and account numbers however OCR spaces or splits them.

presidio's recognizers stay in the detector; these fill the classes they miss (Mastercard
2-series, unassigned area codes, IBANs with irregular groups, "Account no." values).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import phonenumbers

from .findings import Finding

# ---- payment cards ------------------------------------------------------------------------

# (first digits low, high, lengths): the networks' published IIN ranges
_IIN: list[tuple[int, int, tuple[int, ...]]] = [
    (4, 4, (13, 16, 19)),  # Visa
    (51, 55, (16,)),  # Mastercard
    (2221, 2720, (16,)),  # Mastercard 2-series
    (34, 34, (15,)), (37, 37, (15,)),  # Amex
    (6011, 6011, (16, 17, 18, 19)), (644, 649, (16, 17, 18, 19)), (65, 65, (16, 17, 18, 19)),  # Discover
    (622126, 622925, (16, 17, 18, 19)),  # Discover co-branded UnionPay
    (3528, 3589, (16, 17, 18, 19)),  # JCB
    (62, 62, (16, 17, 18, 19)), (81, 81, (16, 17, 18, 19)),  # UnionPay
    (5018, 5018, tuple(range(12, 20))), (5020, 5020, tuple(range(12, 20))), (5038, 5038, tuple(range(12, 20))),
    (5893, 5893, tuple(range(12, 20))), (6304, 6304, tuple(range(12, 20))), (6759, 6759, tuple(range(12, 20))),
    (6761, 6763, tuple(range(12, 20))), (6390, 6390, tuple(range(12, 20))),  # Maestro
    (36, 36, tuple(range(14, 20))), (300, 305, (14, 15, 16, 17, 18, 19)), (3095, 3095, (14, 15, 16, 17, 18, 19)),
    (38, 39, (14, 15, 16, 17, 18, 19)),  # Diners Club
    (2200, 2204, (16, 17, 18, 19)),  # Mir
    (60, 60, (16,)), (65, 65, (16,)), (81, 82, (16,)), (508, 508, (16,)), (353, 353, (16,)), (356, 356, (16,)),  # RuPay
]
# groups of digits with any separator a card is written or OCR'd with ("4111 1111", "4111-1111",
# "4111.1111", "4111 - 1111", "4111/1111")
_DIGIT_RUN = re.compile(r"(?<![\d])\d+(?:[ \t]{0,3}[\-./]?[ \t]{0,3}\d+)*(?!\d)")
_GROUP = re.compile(r"\d+")


# written as a card is, in groups of four, Luhn-valid, in no IIN range we know (an old Maestro
# range, a private-label card): still a card number to the person who reads it
_FOUR_GROUPS = re.compile(r"(?<![\d\-])\d{4}(?:([ \-])\d{4})(?:\1\d{4}){1,2}(?:\1\d{1,3})?(?![\d\-])")



def _covered(start: int, found: list[Finding]) -> bool:
    """A shape match starting inside a value already found is that value, not a second one."""
    return any(f.start <= start < f.end for f in found)

def luhn(digits: str) -> bool:
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def card_network_ok(digits: str) -> bool:
    """The number's length fits an IIN range it starts with."""
    for low, high, lengths in _IIN:
        n = len(str(low))
        if len(digits) in lengths and low <= int(digits[:n]) <= high:
            return True
    return False


def is_card(digits: str) -> bool:
    return 12 <= len(digits) <= 19 and card_network_ok(digits) and luhn(digits)


def cards(text: str) -> list[Finding]:
    """Every Luhn-valid number in a current IIN range, separators anywhere; the longest run of
    whole digit groups that is one (a card followed by "12/27" is still found)."""
    out: list[Finding] = []
    if sum(c.isdigit() for c in text) < 12:
        return out
    for run in _DIGIT_RUN.finditer(text):
        groups = [(m.start() + run.start(), m.end() + run.start()) for m in _GROUP.finditer(run.group())]
        best: tuple[int, int] | None = None
        for a in range(len(groups)):
            digits = ""
            for b in range(a, len(groups)):
                digits += text[groups[b][0]:groups[b][1]]
                if len(digits) > 19:
                    break
                if is_card(digits) and (best is None or groups[b][1] - groups[a][0] > best[1] - best[0]):
                    best = (groups[a][0], groups[b][1])
        if best:
            out.append(Finding(best[0], best[1], "CREDIT_CARD", 1.0, "card"))
    for m in _FOUR_GROUPS.finditer(text):
        digits = re.sub(r"\D", "", m.group())
        if luhn(digits) and not _covered(m.start(), out):
            out.append(Finding(m.start(), m.end(), "CREDIT_CARD", 0.6, "card-shape"))
    return out


# ---- phone numbers ------------------------------------------------------------------------

_PHONE_CONTEXT = re.compile(
    r"(?i)(?:\b(?:tel|tél|telephone|téléphone|telefon|teléfono|telefono|phone|ph|mobile|mob|cell|cellular|handy"
    r"|portable|móvil|cellulare|call|fax|whatsapp|sms|hotline|dial-in)\b\.?"
    r"|☎|📞|✆)[\s:.#]{0,4}(?:\([a-z]+\)[\s:]{0,3})?"
    r"(?:(?:me|us|him|her|them|on|at|to|via|is|no|number|nr|under|unter|au|al)\.?[ :]+){0,3}"  # "call me on"
)
_PHONE_BODY = re.compile(r"\+?\(?\d[\d ().\-/]{5,20}\d")  # not across a tab: another column
_DATE_LIKE = re.compile(r"\d{4}[\-./]\d{1,2}[\-./]\d{1,2}(?!\d)|(?<!\d)\d{1,2}[\-./]\d{1,2}[\-./]\d{4}(?!\d)")
_AMOUNT_END = re.compile(r"(?<![\d.])\d+\.\d{2}$")  # "… 856.16": a price in the next cell, not a phone's end
_IPV4 = re.compile(r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}")
_POSSIBLE_SCORE = 0.5
_VALID_SCORE = 0.75  # an assigned number, however it is written  # possible but maybe not assigned: still someone's number, often a test one


def _phone_shaped(raw: str) -> bool:
    """Written as a phone number: grouped (spaces, dashes, dots, brackets) or international, with
    enough digits for a full number; a bare run of digits is a phone only in a phone context."""
    raw = re.split(r"(?i)\s*(?:x|ext\.?|extension)\s*\d+$", raw)[0]  # an extension adds digits, not a number
    digits = sum(c.isdigit() for c in raw)
    if raw.startswith("+"):
        return digits >= 8
    longest = 13 if raw.startswith("0") else 12  # 00 / 0 dial prefixes add digits
    return 10 <= digits <= longest and any(c in raw for c in " -.()/")


def _not_phone(raw: str) -> bool:
    """Dates, IPv4 addresses and card-shaped groups (the card detector checks those)."""
    groups = re.findall(r"\d+", raw)
    return bool(_DATE_LIKE.search(raw) or _IPV4.search(raw) or (len(groups) >= 3 and all(len(g) == 4 for g in groups))
                or "\t" in raw or _AMOUNT_END.search(raw))


def phones(text: str, regions: Sequence[str]) -> list[Finding]:
    """Numbers that are possible (length and shape) in one of `regions`, and any 7-15 digit
    number right after a phone word (tel, phone, mobile, call, fax, ☎ …)."""
    out: list[Finding] = []
    if sum(c.isdigit() for c in text) < 7:
        return out
    for region in regions:
        for m in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.POSSIBLE):
            if _phone_shaped(m.raw_string) and not _not_phone(m.raw_string):
                score = _VALID_SCORE if phonenumbers.is_valid_number(m.number) else _POSSIBLE_SCORE
                out.append(Finding(m.start, m.end, "PHONE_NUMBER", score, "phone"))
    for ctx in _PHONE_CONTEXT.finditer(text):
        body = _PHONE_BODY.match(text, ctx.end())
        if body and 7 <= sum(c.isdigit() for c in body.group()) <= 15:
            out.append(Finding(body.start(), body.end(), "PHONE_NUMBER", 0.8, "phone-context"))
    return out


# ---- IBANs and account numbers ------------------------------------------------------------

# ISO 13616 lengths per country (SWIFT IBAN registry)
_IBAN_LENGTH = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29, "BY": 28,
    "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18,
    "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22,
    "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20,
    "LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15,
    "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24, "SC": 31, "SE": 24, "SI": 19,
    "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}
# a country code and check digits, then letters and digits with any spacing OCR left (or a line
# break: a table cell wraps)
_IBAN_START = re.compile(r"(?<![A-Za-z0-9])([A-Z]{2})[ \t]?(\d[ \t]?\d)")
_IBAN_UNIT = re.compile(r"[ \t]{0,2}(?:\n[ \t]*)?([A-Za-z0-9])")


# the shape alone, for IBANs whose checksum or length OCR (or a typo) broke: a country code,
# check digits, then groups of four (the last shorter, or one longer: an extra digit read)
_IBAN_SHAPE = re.compile(r"(?<![A-Za-z0-9])(?P<cc>[A-Z]{2})\d{2}(?P<body>(?:[ .]?[A-Z0-9\]|]{4}){2,7}(?:[ .]?[A-Z0-9]{1,5})?)"
                         r"(?![A-Za-z0-9])")


def iban_valid(compact: str) -> bool:
    if _IBAN_LENGTH.get(compact[:2]) != len(compact):
        return False
    moved = compact[4:] + compact[:4]
    return int("".join(str(int(c, 36)) for c in moved.upper())) % 97 == 1


def ibans(text: str) -> list[Finding]:
    out = []
    for m in _IBAN_START.finditer(text):
        want = _IBAN_LENGTH.get(m.group(1))
        if not want:
            continue
        compact = m.group(1) + m.group(2).replace(" ", "").replace("\t", "")
        pos = m.end()
        while len(compact) < want:
            u = _IBAN_UNIT.match(text, pos)
            if not u:
                break
            compact += u.group(1)
            pos = u.end()
        if len(compact) == want and iban_valid(compact.upper()):
            out.append(Finding(m.start(), pos, "IBAN_CODE", 1.0, "iban"))
    for m in _IBAN_SHAPE.finditer(text):
        body = re.sub(r"[ .]", "", m.group("body"))
        want = _IBAN_LENGTH.get(m.group("cc"), 0)
        digits = sum(c.isdigit() for c in body)
        if (abs(4 + len(body) - want) <= 2 and digits * 10 >= len(body) * 6
                and not _covered(m.start(), out)):
            out.append(Finding(m.start(), m.end(), "IBAN_CODE", 0.7, "iban-shape"))
    return out


_ACCOUNT = re.compile(
    r"(?i)\b(?:account|acct|a/c|konto|kontonummer|compte|cuenta|conto|rekening|routing|sort[\s-]?code|aba|bsb"
    r"|customer|member|policy|contract)(?:[\s.]*(?:no|nr|num|number|#|id|nummer|numéro|número))?\.?[\s:#=]{1,4}"
    r"(?P<s>[A-Z]{0,4}[\d][\d \-]{3,30}\d)"
)


def accounts(text: str) -> list[Finding]:
    """A number after "account no.", "Konto", "sort code", "routing", "customer id" …"""
    return [Finding(m.start("s"), m.end("s"), "ACCOUNT_NUMBER", 0.85, "account") for m in _ACCOUNT.finditer(text)]


def find(text: str, phone_regions: Sequence[str]) -> list[Finding]:
    return cards(text) + phones(text, phone_regions) + ibans(text) + accounts(text)
