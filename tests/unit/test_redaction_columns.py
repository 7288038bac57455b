"""Table columns: header cells vouch for the bare values below them."""

from redaction.columns import cells
from redaction.regions import Word


def table(rows: list[list[str]], x: tuple[int, ...] = (10, 200, 400, 600)) -> list[Word]:
    """One word box per cell (multi-word cells as one OCR word each), rows 22 px apart."""
    out = []
    for n, row in enumerate(rows):
        for text, left in zip(row, x):
            pos = left
            for part in text.split():
                out.append(Word(part, (pos, 10 + 22 * n, 7 * len(part), 12), 95.0))
                pos += 7 * len(part) + 5
    return out


def found(words: list[Word]) -> list[tuple[str, str]]:
    return [(c.entity, c.text) for c in cells(words)]


def test_contact_list_cells_take_their_columns_entity() -> None:
    words = table([["Name", "Company", "Phone", "Email"],
                   ["Ulla Klausen", "Kraus", "4732771075", "ulla@example.dk"],
                   ["Anka Junk", "Eti Gida", "980 0 963", "anka@example.de"]])
    assert found(words) == [
        ("PERSON", "Ulla Klausen"), ("ORGANIZATION", "Kraus"), ("PHONE_NUMBER", "4732771075"),
        ("EMAIL_ADDRESS", "ulla@example.dk"), ("PERSON", "Anka Junk"), ("ORGANIZATION", "Eti Gida"),
        ("PHONE_NUMBER", "980 0 963"), ("EMAIL_ADDRESS", "anka@example.de")]


def test_a_file_list_name_column_is_no_person() -> None:
    words = table([["Name", "Size", "Modified"], ["Quarterly Report", "12 KB", "Tuesday"]])
    assert found(words) == []


def test_cells_must_have_their_columns_shape() -> None:
    words = table([["#", "Customer", "Card", "IBAN"], ["1", "Mark Maldonado", "n/a", "pending"]])
    assert found(words) == [("PERSON", "Mark Maldonado")]


def test_the_table_ends_where_the_row_spacing_breaks() -> None:
    words = table([["Name", "Phone", "Email"], ["Jan Horbacz", "576 445 141", "jan@example.pl"]])
    words.append(Word("Mobile", (10, 10 + 22 + 80, 42, 12), 95.0))  # a card under the table
    words.append(Word("Settings", (200, 10 + 22 + 80, 56, 12), 95.0))
    assert ("PERSON", "Mobile") not in found(words)


def test_one_header_word_is_no_header_row() -> None:
    words = table([["Phone", "settings"], ["12345678", "on"]])
    assert found(words) == []
