"""Table columns: a header cell ("Phone", "IBAN", "Customer", "Company") vouches for the cells
below it. Alone, such cells are often values no text detector can place: "4732771075" (a
phone in no known shape), "Kraus" (a one-word company), "Ekanta Gokhale" (a name in no list).

Pure geometry over OCR words. A header row is a row of mostly header words, two or more of
them known. Each header cell's column runs from its left edge to the next header cell's, down
through the rows below while the row spacing holds (a larger gap ends the table). A cell counts
when its text has the shape its column asks for (digits for a phone, letters for a name).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from statistics import median

from .regions import Box, Word, bottom, right

# header word -> what the cells under it hold
_ENTITY_HEADERS = {
    "PERSON": "customer client contact sender recipient author assignee owner employee attendee member person "
              "patient student guest reviewer requester reporter from to kunde klant cliente destinataire "
              "absender empfänger",
    "ORGANIZATION": "company organisation organization employer firm vendor supplier business firma société "
                    "empresa azienda bedrijf företag",
    "PHONE_NUMBER": "phone tel telephone mobile cell fax telefon téléphone teléfono telefono telefoon handy",
    "IBAN_CODE": "iban",
    "CREDIT_CARD": "card pan",
    "ADDRESS": "address street adresse dirección indirizzo endereço adres",
    "EMAIL_ADDRESS": "email e-mail",
}
HEADERS = {w: entity for entity, words in _ENTITY_HEADERS.items() for w in words.split()}
# "Name" heads file lists as often as contact lists: it names a person only beside a column of
# contact details
_NAME = "name"
_CONTACT_COLUMNS = frozenset({"PHONE_NUMBER", "EMAIL_ADDRESS", "ADDRESS", "ORGANIZATION", "IBAN_CODE", "CREDIT_CARD"})
# other words of header rows ("Card number", "Amount", "#")
_OTHER = frozenset("""
# no no. nr number id date time amount total status title role type city country zip postcode postal code
department team notes note balance due paid price qty quantity description subject size modified created
updated last first full account location region state priority label tags
""".split())
MAX_ROWS = 200


@dataclass(frozen=True)
class Cell:
    """Words of one table cell, and what its column says they are."""

    words: tuple[int, ...]  # indices into the frame's words, left to right
    entity: str
    text: str


def _key(text: str) -> str:
    return text.strip(":.,;()[]").lower()


def _rows(words: list[Word]) -> list[list[int]]:
    """Word indices grouped by vertical centre (a row may span several OCR lines' gaps)."""
    order = sorted(range(len(words)), key=lambda i: words[i].bbox[1] + words[i].bbox[3] / 2)
    rows: list[list[int]] = []
    for i in order:
        b = words[i].bbox
        cy = b[1] + b[3] / 2
        if rows:
            last = words[rows[-1][0]].bbox
            if abs(cy - (last[1] + last[3] / 2)) <= max(last[3], b[3]) / 2:
                rows[-1].append(i)
                continue
        rows.append([i])
    return [sorted(r, key=lambda i: words[i].bbox[0]) for r in rows]


def _header_cells(words: list[Word], row: list[int]) -> list[tuple[int, str | None]] | None:
    """The row's cells as (left edge, entity or None) when it is a header row."""
    keys = [_key(words[i].text) for i in row]
    known = sum(k in HEADERS or k in _OTHER or k == _NAME for k in keys)
    if known < 2 or known * 3 < len(keys) * 2 or not any(k in HEADERS or k == _NAME for k in keys):
        return None
    height = median(words[i].bbox[3] for i in row)
    cells: list[tuple[int, list[str]]] = []
    prev: Box | None = None
    for i, k in zip(row, keys):
        box = words[i].bbox
        if prev is not None and box[0] - right(prev) < height:  # "Card number": one cell
            cells[-1][1].append(k)
        else:
            cells.append((box[0], [k]))
        prev = box
    entities = [next((HEADERS[k] for k in ks if k in HEADERS), _NAME if _NAME in ks else None) for _, ks in cells]
    contact = any(e in _CONTACT_COLUMNS for e in entities)
    resolved = [("PERSON" if contact else None) if e == _NAME else e for e in entities]
    if not any(resolved):
        return None
    return [(x, e) for (x, _), e in zip(cells, resolved)]


_DIGIT = re.compile(r"\d")


def _fits(entity: str, text: str) -> bool:
    digits = len(_DIGIT.findall(text))
    alnum = sum(c.isalnum() for c in text)
    if entity == "PHONE_NUMBER":
        return 5 <= digits <= 18 and digits * 2 >= alnum
    if entity == "CREDIT_CARD":
        return 12 <= digits <= 19
    if entity == "IBAN_CODE":
        return alnum >= 12 and digits >= 8
    if entity in ("PERSON", "ORGANIZATION"):
        return any(c.isalpha() for c in text) and len(text.split()) <= 8
    if entity == "EMAIL_ADDRESS":
        return "@" in text
    return alnum >= 2  # ADDRESS


def cells(words: list[Word]) -> list[Cell]:
    """Every cell of every table on the frame whose column names personal data."""
    rows = _rows(words)
    out: list[Cell] = []
    r = 0
    while r < len(rows):
        header = _header_cells(words, rows[r])
        if header is None:
            r += 1
            continue
        height = median(words[i].bbox[3] for i in rows[r])
        edges = [x - height / 2 for x, _ in header] + [float("inf")]
        above = max(bottom(words[i].bbox) for i in rows[r])
        pitch: float | None = None  # the first gap between rows sets the table's spacing
        r += 1
        for _ in range(MAX_ROWS):
            if r >= len(rows) or _header_cells(words, rows[r]) is not None:
                break
            row = rows[r]
            top = min(words[i].bbox[1] for i in row)
            gap = top - above
            if pitch is None:
                pitch = max(gap, height / 2)
            elif gap > 1.8 * pitch + height / 4:
                break
            by_column: dict[int, list[int]] = {}
            for i in row:
                col = next((c for c in range(len(header)) if edges[c] <= words[i].bbox[0] < edges[c + 1]), None)
                if col is not None:
                    by_column.setdefault(col, []).append(i)
            if len(header) >= 3 and len(by_column) < 2:
                break  # a line under a table is no row of it
            for col, idx in by_column.items():
                entity = header[col][1]
                text = " ".join(words[i].text for i in idx)
                if entity and _fits(entity, text):
                    out.append(Cell(tuple(idx), entity, text))
            above = max(bottom(words[i].bbox) for i in row)
            r += 1
    return out
