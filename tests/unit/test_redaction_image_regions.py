"""Pure geometry of screenshot redaction: change detection, region growth, text views, span boxes."""

from __future__ import annotations

import numpy as np
import pytest

from redaction.regions import (
    Word,
    boxes_for_span,
    changed_tiles,
    expand_to_text,
    glue_width,
    group_lines,
    grow_to_ink,
    line_views,
    merge_boxes,
    pad,
    scrolled,
    tile_boxes,
    token_views,
    vertical_shift,
    wrapped_views,
)


def test_changed_tiles_and_boxes():
    a = np.zeros((64, 96), np.uint8)
    b = a.copy()
    b[20, 40] = 255  # one pixel in tile (1, 2)
    b[20, 50] = 255  # same tile row, next tile (1, 3)
    b[60, 5] = 255  # tile (3, 0)
    grid = changed_tiles(a, b)
    assert grid.shape == (4, 6)
    assert set(zip(*np.nonzero(grid))) == {(1, 2), (1, 3), (3, 0)}
    assert tile_boxes(grid, (96, 64)) == [(32, 16, 32, 16), (0, 48, 16, 16)]


def test_tile_boxes_are_clipped_to_the_frame():
    a = np.zeros((20, 20), np.uint8)
    b = a.copy()
    b[19, 19] = 1
    assert tile_boxes(changed_tiles(a, b), (20, 20)) == [(16, 16, 4, 4)]


def test_merge_boxes():
    assert merge_boxes([(0, 0, 10, 10), (12, 0, 5, 5), (100, 100, 1, 1)], gap=3) == [(0, 0, 17, 10), (100, 100, 1, 1)]
    assert merge_boxes([(0, 0, 10, 10), (12, 0, 5, 5)]) == [(0, 0, 10, 10), (12, 0, 5, 5)]


def test_pad_clips():
    assert pad((1, 1, 5, 5), 3, (7, 100)) == (0, 0, 7, 9)


def test_expand_to_text_covers_the_whole_line_and_stops_at_column_gaps():
    ink = np.zeros((100, 400), bool)
    ink[40:52, 10:60] = ink[40:52, 66:120] = ink[40:52, 126:200] = True  # three words, one line
    ink[40:52, 300:380] = True  # another pane, far to the right
    ink[10:22, 10:200] = True  # the line above, separated by blank rows
    assert expand_to_text((130, 44, 16, 4), ink) == (10, 40, 190, 12)


def test_expand_to_text_leaves_blank_regions_alone():
    ink = np.zeros((50, 50), bool)
    assert expand_to_text((10, 10, 16, 16), ink) == (10, 10, 16, 16)


def words_of(rows: list[list[tuple[str, int]]], h: int = 12, top: int = 10, gap: int = 8) -> list[Word]:
    """Words from (text, x) per line; lines `h + 6` px apart; 7 px per character."""
    out = []
    for n, row in enumerate(rows):
        for text, x in row:
            out.append(Word(text, (x, top + n * (h + 6), 7 * len(text), h), 95.0))
    return out


def test_group_lines_orders_and_splits_panes():
    words = words_of([[("world", 60), ("hello", 10), ("pane", 600)], [("next", 10)]])
    lines = group_lines(words)
    assert [[words[i].text for i in ln] for ln in lines] == [["hello", "world"], ["pane"], ["next"]]


def test_token_views_glue_pieces_closer_than_a_space():
    # OCR split a token where two glyphs sit apart: 1 px gap is not a typed space
    words = words_of([[("token", 10), ("ghp_abc", 53), ("def123", 53 + 49 + 1)]])
    lines = group_lines(words)
    assert line_views(words, lines)[0].text == "token ghp_abc def123"  # as OCR separated them
    (view,) = token_views(words, lines)
    assert view.text == "token ghp_abcdef123"
    assert [i for _, _, i in view.words_in(6, 18)] == [1, 2]


def test_line_views_part_table_columns_with_a_tab():
    # a mail list row: sender cell, subject cell; word gaps 7 px, the column gap 40 px
    words = words_of([[("Luke", 10), ("Hawkins", 45), ("Human", 124), ("resources", 173), ("update", 243)]])
    lines = group_lines(words)
    assert line_views(words, lines)[0].text == "Luke Hawkins\tHuman resources update"


def test_token_views_glue_a_wider_split_and_keep_only_whole_tokens():
    # a monospace "." leaves 4 px of air where the line's typed spaces leave 8-10 px
    words = [Word("mail", (10, 10, 25, 12), 90), Word("john.", (43, 10, 31, 12), 90),
             Word("smith@example.com", (78, 10, 116, 12), 90), Word("Re:", (204, 10, 20, 12), 90),
             Word("lunch", (232, 10, 35, 12), 90)]
    lines = group_lines(words)
    assert glue_width(words, lines[0]) == pytest.approx(0.7 * 8)  # median gap 8 px
    assert line_views(words, lines)[0].text == "mail john. smith@example.com Re: lunch"
    (view,) = token_views(words, lines)
    assert view.text == "mail john.smith@example.com Re: lunch"
    start, end = view.text.index("john"), view.text.index(" Re:")
    assert view.counts(start, end)  # crosses the glue point
    assert not view.counts(view.text.index("smith"), end)  # the line view has that
    assert not view.counts(0, end)  # holds a space: not a token


def test_evenly_spaced_words_are_not_glued():
    # a proportional font at 12 px: typed spaces leave 2-3 px, all alike
    words = [Word(t, (x, 10, w, 10), 90) for t, x, w in
             (("card", 10, 20), ("is", 33, 8), ("6011", 43, 22), ("0199", 68, 22), ("4987", 92, 22))]
    assert token_views(words, group_lines(words)) == []


def test_partial_word_is_cut_with_a_margin():
    # OCR reads "GITHUB_TOKEN=ghp_x..." as one word, 7 px per character
    word = "GITHUB_TOKEN=" + "g" * 20
    words = words_of([[(word, 10)]])
    (view,) = line_views(words, group_lines(words))
    (box,) = boxes_for_span(words, view, 13, len(word))
    assert box == (10 + int((13 - 1.5) * 7), 10, 7 * len(word) - int(11.5 * 7), 12)

def test_wrapped_views_glue_a_full_line_to_the_next():
    words = words_of([[("reach", 10), ("me:", 60), ("maria.garcia.fer", 90)], [("nandez@example.com", 10), ("ok", 150)]])
    lines = group_lines(words)
    view, spaced = wrapped_views(words, lines)  # cut inside a token, or at a space: both are read
    assert view.text == "reach me: maria.garcia.fernandez@example.com ok"
    assert view.junctions == [len("reach me: maria.garcia.fer")]
    assert view.counts(view.text.index("maria"), view.text.index(" ok"))
    assert not view.counts(0, 5)
    assert spaced.text == "reach me: maria.garcia.fer nandez@example.com ok"


def test_a_short_line_is_not_glued_to_a_longer_one():
    words = words_of([[("ls", 10)], [("maria@example.com", 10), ("and", 140)]])
    assert wrapped_views(words, group_lines(words)) == []


def test_span_boxes_cover_whole_words_one_box_per_line():
    # wrapped at the column's right margin (x=113): the next line is the rest of the card
    words = words_of([[("card", 10), ("4111", 50), ("1111", 85)], [("1111", 10), ("1111", 45)], [("thanks", 10)]])
    lines = group_lines(words)
    view = wrapped_views(words, lines)[0]
    start = view.text.index("4111")
    boxes = boxes_for_span(words, view, start, start + len("4111 11111111 1111"))
    assert boxes == [(50, 10, 63, 12), (10, 28, 63, 12)]


def test_a_line_short_of_its_columns_margin_is_not_glued():
    # a word short of the margin: a word wrap, read joined with a space ("…, 94088556" / "Praia.")
    words = words_of([[("13:47", 10)], [("maria@example.com", 10)], [("a much longer line of text", 10)]])
    (view,) = wrapped_views(words, group_lines(words))
    assert view.text == "maria@example.com a much longer line of text"


def test_a_line_far_short_of_its_columns_margin_is_not_joined():
    words = words_of([[("ls", 10)], [("a much longer line of text that fills the column", 10)]])
    assert wrapped_views(words, group_lines(words)) == []


def test_a_fragment_at_the_right_edge_continues_at_the_left_margin():
    # a terminal row: text, a wide run of spaces, then the start of an email that wraps
    words = words_of([[("write", 10), ("to", 52), ("carlos.fernand", 400)], [("ez@example.org", 10), ("today", 120)]])
    lines = group_lines(words)
    assert len(lines) == 3  # the far fragment is a line of its own
    (view,) = [v for v in wrapped_views(words, lines) if v.text.startswith("carlos")][:1]
    assert view.text == "carlos.fernandez@example.org today"
    assert view.counts(0, len("carlos.fernandez@example.org"))


def test_a_line_does_not_continue_into_another_pane_on_its_left():
    # a mail's body line ends at the margin; left of it, the mail list's time column goes on
    words = words_of([[("12:40", 10), ("send the copy to 14 Elm Street, 89104", 200)], [("12:47", 10), ("Hopkinsview.", 200)]])
    views = [v.text for v in wrapped_views(words, group_lines(words))]
    assert "send the copy to 14 Elm Street, 89104 Hopkinsview." in views
    assert not any("89104 12:47" in v for v in views)


def test_grow_to_ink_takes_in_a_last_glyph_but_not_the_next_word():
    ink = np.zeros((20, 100), bool)
    ink[5:15, 10:40] = True  # a word; OCR's box says 10..35
    ink[12:15, 39:41] = True  # its full stop, reaching past the box
    ink[5:15, 44:90] = True  # the next word, four columns on
    assert grow_to_ink((10, 3, 26, 14), ink, 3, 8) == (10, 3, 31, 14)
    ink[5:15, 41:44] = True  # no gap: the ink runs on into the next word, so the box stays
    assert grow_to_ink((10, 3, 26, 14), ink, 3, 8) == (10, 3, 26, 14)


def test_vertical_shift_finds_a_scroll_and_scrolled_replays_it():
    rng = np.random.default_rng(1)
    prev = np.full((120, 50), 255, np.uint8)
    prev[5:115:10, 5:45] = rng.integers(0, 200, (11, 40))  # distinct text-like rows
    cur = np.full_like(prev, 255)
    cur[:-20] = prev[20:]  # content moved up 20 rows, new rows at the bottom
    cur[110, 5:45] = 7
    box = (0, 0, 50, 120)
    assert vertical_shift(prev, cur, box) == 20
    replay = scrolled(prev, box, 20)
    assert (replay[:100] == cur[:100]).all()
    assert vertical_shift(cur, prev, box) == -20
    assert vertical_shift(prev, prev.copy(), box) == 0


def test_no_shift_when_rows_do_not_match():
    prev = np.full((60, 40), 255, np.uint8)
    prev[10, 5:30] = 0
    cur = prev.copy()
    cur[10, 5:30] = 90  # edited in place, not moved
    assert vertical_shift(prev, cur, (0, 0, 40, 60)) == 0
