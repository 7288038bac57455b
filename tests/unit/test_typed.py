"""Typed text: rebuilding what was typed from key events, and mapping findings back to keys."""

from __future__ import annotations

import pytest

from recorder.store.records import Event
from redaction import typed
from redaction.detect import Detector
from redaction.findings import Finding

NAMED = {"\n": "enter", "\b": "backspace", "\x7f": "delete", "←": "left", "→": "right", "⇱": "home", "⇲": "end"}


class Journal:
    """Builds key events the way the recorder writes them (key, char, mods; t in ns)."""

    def __init__(self, title: str = "xterm", wid: int = 1) -> None:
        self.events: list[dict] = []
        self.t = 0
        self.window(title, wid)

    def _add(self, kind: str, gap_ns: int = 10_000_000, **fields) -> None:
        self.t += gap_ns
        self.events.append({"t": self.t, "kind": kind, **fields})

    def window(self, title: str, wid: int = 1) -> Journal:
        self._add("window", wid=wid, app="XTerm", title=title, pid=1, x=0, y=0, w=100, h=100, excluded=False)
        return self

    def press(self, key: str, char: str = "", mods: list[str] | None = None, gap_ns: int = 10_000_000) -> Journal:
        self._add("key_down", gap_ns, key=key, char=char, mods=mods or [])
        self._add("key_up", 1_000_000, key=key, mods=mods or [])
        return self

    def type(self, text: str, gap_ns: int = 10_000_000) -> Journal:
        for ch in text:
            if ch in NAMED:
                self.press(NAMED[ch], "\r" if ch == "\n" else "", gap_ns=gap_ns)
            else:
                self.press(ch, ch, ["shift"] if ch.isupper() else [], gap_ns=gap_ns)
        return self


def texts(events) -> list[str]:
    return [r.text for r in typed.rebuild(events)]


def test_plain_typing_and_enter():
    assert texts(Journal().type("ls -la\necho hi\n").events) == ["ls -la\necho hi\n"]


def test_backspace_and_delete():
    assert texts(Journal().type("helo\blo wrld←←←o").events) == ["hello world"]
    j = Journal().type("abcd←←\x7f")
    assert texts(j.events) == ["abd"]


def test_mid_word_edit_with_arrows_and_home_end():
    j = Journal().type("wrld←←←o⇲!⇱Hi ")
    assert texts(j.events) == ["Hi world!"]


def test_shift_and_caps_lock_when_char_is_missing():
    """Older journals (or keys pynput could not translate) carry no char: derive it, US layout."""
    j = Journal()
    j.press("shift")
    j.events.append({"t": j.t + 1, "kind": "key_down", "key": "h", "mods": ["shift"]})
    j.t += 2
    j.events.append({"t": j.t, "kind": "key_up", "key": "shift", "mods": []})
    j.press("i").press("1", mods=["shift"]).press("caps_lock").press("a").press("space")
    j.press("b", mods=["shift"]).press("caps_lock").press("c")
    assert texts(j.events) == ["Hi!A bc"]


def test_char_wins_over_key_name():
    j = Journal().press("a", "A", ["shift"]).press("2", "é")
    assert texts(j.events) == ["Aé"]


def test_ctrl_combos_type_nothing_and_paste_is_a_separator():
    j = Journal().type("ab").press("c", "c", ["ctrl"]).press("v", "v", ["ctrl"]).type("cd")
    j.press("insert", "", ["shift"]).type("e")
    assert texts(j.events) == ["ab" + typed.PASTE + "cd" + typed.PASTE + "e"]


def test_focus_change_and_click_split_runs_and_same_window_continues():
    j = Journal(wid=1).type("one")
    j.window("other", wid=2).type("two")
    j.window("xterm retitled", wid=1).type("three")
    j._add("click", x=1, y=1, button="left", pressed=True)
    j._add("click", x=1, y=1, button="left", pressed=False)
    j.type("four")
    assert texts(j.events) == ["one", "two", "three", "four"]


def test_excluded_input_breaks_the_run():
    j = Journal().type("ab")
    j._add("excluded")
    j.type("cd")
    assert texts(j.events) == ["ab", "cd"]


def test_span_maps_back_to_the_key_downs():
    j = Journal().type("mail x@y.io")
    run = typed.rebuild(j.events)[0]
    evs = run.span_events(5, 11)
    assert [j.events[i]["char"] for i in evs] == list("x@y.io")


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector(deny=["Jane Doe"])


def redacted_journal(events, found):
    over = typed.redactions(events, found)
    return [{**e, **over.get(i, {})} for i, e in enumerate(events)]


def test_entity_typed_slowly_with_corrections_is_found_and_removed(detector):
    # 2 s between keys: the entity spans many journal segments
    j = Journal().type("to: jane.doe@exampel\b\b\bple.com\n", gap_ns=2_000_000_000)
    found = typed.find(j.events, detector.find)
    assert [tf.finding.entity for tf in found] == ["EMAIL_ADDRESS"]
    out = redacted_journal(j.events, found)
    assert texts(out) == ["to: <EMAIL_ADDRESS>\n"]
    # the deleted "el" and the backspaces are gone too; nothing left spells the address
    keys = "".join(e.get("char") or "" for e in out if e["kind"] == "key_down" and not e.get("redacted"))
    assert "example" not in keys and "exampel" not in keys and "@" not in keys
    names = [e.get("key") for e in out if e.get("redacted")]
    assert set(names) == {""}, "redacted key events keep no key names"
    first = next(e for e in out if e.get("redacted"))
    assert first["kind"] == "key_down" and first["char"] == "<EMAIL_ADDRESS>"


def test_every_key_up_of_a_redacted_key_is_redacted(detector):
    j = Journal().type("4111 1111 1111 1111")
    out = redacted_journal(j.events, typed.find(j.events, detector.find))
    assert all(e.get("redacted") for e in out if e["kind"] in ("key_down", "key_up"))


def test_text_typed_then_deleted_is_redacted(detector):
    j = Journal().type("ghp_aBcD1234eFgH5678iJkL9012mNoP3456qRsT" + "\b" * 40 + "oops")
    found = typed.find(j.events, detector.find)
    assert any(tf.deleted and tf.finding.entity == "SECRET" for tf in found)
    out = redacted_journal(j.events, found)
    assert "ghp_" not in "".join(e.get("char") or "" for e in out)
    assert texts(out) == ["oops"]


def test_password_after_no_echo_command_and_typed_prompt(detector):
    j = Journal().type("sudo apt update\nhunter2\nls\nread -s -p 'Password: ' pw\ns3cret!\necho ok\n")
    found = typed.find(j.events, detector.find)
    out = redacted_journal(j.events, found)
    assert texts(out) == ["sudo apt update\n<PASSWORD>\nls\nread -s -p 'Password: ' pw\n<PASSWORD>\necho ok\n"]


def test_password_after_a_click_or_a_visit_to_another_window(detector):
    j = Journal(wid=1).type("sudo apt update\n")
    j._add("click", x=1, y=1, button="left", pressed=True)
    j.window("browser", wid=2).type("news\n")
    j.window("xterm", wid=1).type("hunter2\nls\n")
    out = redacted_journal(j.events, typed.find(j.events, detector.find))
    assert texts(out) == ["sudo apt update\n", "news\n", "<PASSWORD>\nls\n"]
    j = Journal(wid=1).type("sudo ls\nhunter2\n").window("x", wid=2).window("xterm", wid=1).type("ls\n")
    assert texts(redacted_journal(j.events, typed.find(j.events, detector.find))) == ["sudo ls\n<PASSWORD>\n", "ls\n"]


def test_password_when_title_or_screen_asks(detector):
    j = Journal(title="[sudo] password for jane").type("letmein\n")
    assert texts(redacted_journal(j.events, typed.find(j.events, detector.find))) == ["<PASSWORD>\n"]
    j = Journal(title="Sign up").type("swordfish\n")
    first_key = next(i for i, e in enumerate(j.events) if e["kind"] == "key_down")
    found = typed.find(j.events, detector.find, prompted=lambda i: i == first_key)
    assert texts(redacted_journal(j.events, found)) == ["<PASSWORD>\n"]
    assert typed.find(j.events, detector.find) == []


def test_rebuild_of_a_redacted_journal_is_stable(detector):
    j = Journal().type("hi Jane Doe, card 4111 1111 1111 1112\b1 ok\n")
    out = redacted_journal(j.events, typed.find(j.events, detector.find))
    once = texts(out)
    assert once == ["hi <DENY>, card <CREDIT_CARD> ok\n"]
    again = redacted_journal(out, typed.find(out, detector.find))
    assert texts(again) == once


def test_works_on_recorder_events(detector):
    events = [Event.from_obj(e) for e in Journal().type("x@y.io").events]
    found = typed.find(events, detector.find)
    assert [tf.finding.entity for tf in found] == ["EMAIL_ADDRESS"]


def test_redactions_prefer_the_higher_scoring_finding():
    j = Journal().type("abcdef")
    run = typed.rebuild(j.events)[0]
    low = typed.TypedFinding(run.start, Finding(0, 6, "URL", 0.4, "presidio"), run.key_events)
    high = typed.TypedFinding(run.start, Finding(0, 6, "SECRET", 0.9, "secrets"), run.key_events)
    out = redacted_journal(j.events, [low, high])
    assert texts(out) == ["<SECRET>"]
