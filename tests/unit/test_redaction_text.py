"""Text detectors, one by one: positives and near-miss negatives; the merged Detector API; the
offline build; `owntrace redact-text`."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

import redaction
from redaction import passwords, presidio_engine, secrets
from redaction.denylist import DenyList, TypedValues
from redaction.detect import Detector, SessionDetector
from redaction.findings import Finding, apply, merge, placeholder
from tests.support.cli import OWNTRACE
from tests.support.guards import traced


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector(deny=["Jane Roe", "jroe", "Acme Widgets"])


def entities(d: Detector, text: str) -> list[tuple[str, str]]:
    return [(f.entity, text[f.start:f.end]) for f in d.find(text)]


@pytest.mark.parametrize("text, entity, value", [
    ("write to maria.garcia@example.com today", "EMAIL_ADDRESS", "maria.garcia@example.com"),
    ("call +1 415 555 0134 now", "PHONE_NUMBER", "+1 415 555 0134"),
    ("ring +44 20 7946 0958 please", "PHONE_NUMBER", "+44 20 7946 0958"),
    ("Tel. +49 30 901820 12", "PHONE_NUMBER", "+49 30 901820 12"),
    ("card 4111 1111 1111 1111 exp 12/27", "CREDIT_CARD", "4111 1111 1111 1111"),
    ("card 5500-0000-0000-0004", "CREDIT_CARD", "5500-0000-0000-0004"),
    ("IBAN DE89 3704 0044 0532 0130 00", "IBAN_CODE", "DE89 3704 0044 0532 0130 00"),
    ("ssh root@203.0.113.42", "IP_ADDRESS", "203.0.113.42"),
    ("server 2001:db8:85a3::8a2e:370:7334 up", "IP_ADDRESS", "2001:db8:85a3::8a2e:370:7334"),
    ("see https://portal.example.org/users/314 for it", "URL", "https://portal.example.org/users/314"),
    ("SSN 536-22-8761", "US_SSN", "536-22-8761"),
    ("pay to 1BoatSLRHtKNngkdXEeobR76b53LETtpyT", "CRYPTO", "1BoatSLRHtKNngkdXEeobR76b53LETtpyT"),
    ("link/ether 3c:22:fb:1a:2b:3c brd", "MAC_ADDRESS", "3c:22:fb:1a:2b:3c"),
    ("Date of birth: 12/03/1987", "DATE_OF_BIRTH", "12/03/1987"),
    ("DOB 1987-03-12", "DATE_OF_BIRTH", "1987-03-12"),
    ("born on March 4, 1987 in town", "DATE_OF_BIRTH", "March 4, 1987"),
])
def test_structured_pii(detector: Detector, text: str, entity: str, value: str) -> None:
    assert (entity, value) in entities(detector, text)


@pytest.mark.parametrize("text", [
    "card 4111 1111 1111 1112",  # fails the Luhn check
    "meeting on 12/03/2024 at 10:30",  # a date, but not a birth date
    "Order date: 2024-05-14",
    "Date of birth:\nOrder date: 2024-05-14",  # birth context on another line
    "SSN 000-12-3456",  # area 000 is never issued
    "version 3.11 and 42 items",
])
def test_structured_near_misses(detector: Detector, text: str) -> None:
    assert entities(detector, text) == []


SECRET_POSITIVES = [
    "AKIAQ7RZ3M5T2XW4YB6N",
    "ghp_Qm7c1ZpL0aXv93RtYw2KsEe8Nn5BbUu4HhJj",
    "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJ",
    "glpat-xY9_zK2-mN4pQ7rS1tUv",
    "xoxb-123456789012-123456789012-AbCdEfGhIjKlMnOpQrStUvWx",
    "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
    "sk-proj-Xy7aB3cD9eF1gH5iJ2kL8mN4oP6qR0sT",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "postgres://app:pQRpQzVQYpDu@db.internal:5432/main",
    "AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ",
    "9fQ2xLm7Rt4Kp8Zw3Vb6Nc1Hd5Js0Ga",  # high entropy, 31 chars
]


@pytest.mark.parametrize("token", SECRET_POSITIVES)
def test_secret_formats(detector: Detector, token: str) -> None:
    text = f"value: {token} end"
    found = [f for f in detector.find(text) if f.entity == "SECRET"]
    assert found and text[found[0].start:found[0].end] == token, found


def test_private_key_blocks_terminated_or_not(detector: Detector) -> None:
    block = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\nQyNTUxOQAAACB\n-----END OPENSSH PRIVATE KEY-----"
    text = f"$ cat key\n{block}\n$ ls"
    out, _ = detector.redact(text)
    assert out.splitlines() == ["$ cat key", "<SECRET>", "<SECRET>", "<SECRET>", "<SECRET>", "$ ls"]
    cut = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nMIIEowIBAAKCAQEAx4\nsudo apt upgrade"
    out, _ = detector.redact(cut)
    assert out.splitlines() == ["<SECRET>", "<SECRET>", "<SECRET>", "sudo apt upgrade"]


def test_assignments_keep_the_name_and_hide_the_value(detector: Detector) -> None:
    out, _ = detector.redact('DB_PASSWORD="s3cr3t-value" api_key: abcd1234 Server=x;Password=hunter2;')
    out = out.replace("<PASSWORD>", "<SECRET>")  # both detectors claim the last one; either label hides it
    assert out == 'DB_PASSWORD="<SECRET>" api_key: <SECRET> Server=x;Password=<SECRET>;'


@pytest.mark.parametrize("text", [
    "abcdefghijklmnopqrs",  # 19 chars
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",  # long, no entropy
    "/usr/lib/python3.11/site-packages/presidio_analyzer",
    "test_redaction_keeps_ordinary_words_2024",
    "AbstractSingletonProxyFactoryBean",
    "sk-short",
    "ghp_tooshort123",
])
def test_secret_near_misses(text: str) -> None:
    assert secrets.find(text) == []


def test_hashes_are_kept_but_scored_low() -> None:
    found = secrets.find("checksum 9fceb02d0ae598e95dc970b74767f19372d61af8")
    assert [f.score for f in found] == [0.35]
    assert secrets.find("commit 9fceb02d0ae598e95dc970b74767f19372d61af8") == []  # git's object id


@pytest.mark.parametrize("text, hit", [
    ("Jane Roe", "Jane Roe"),
    ("JANE ROE wrote", "JANE ROE"),
    ("Jane  Roe", "Jane  Roe"),  # respaced by OCR
    ("Ja ne Roe", "Ja ne Roe"),  # split inside a word
    ("Jane\nRoe", "Jane\nRoe"),  # line-broken
    ("Ja-\nne Roe", "Ja-\nne Roe"),  # hyphenated line break
    ("JaneRoe", "JaneRoe"),
    ("jane.roe@corp", "jane.roe"),
    ("/home/jroe/src", "jroe"),
    ("ACME widgets GmbH", "ACME widgets"),
])
def test_deny_list_variants(text: str, hit: str) -> None:
    found = DenyList(["Jane Roe", "jroe", "Acme Widgets"]).find(text)
    assert [text[f.start:f.end] for f in found] == [hit]
    assert all(f.entity == "DENY" and f.score == 1.0 and f.detector == "deny" for f in found)


@pytest.mark.parametrize("text", ["Jürgen Müller", "Jurgen Muller", "Jiirgen Miiller", "JÜRGEN MÜLLER"])
def test_deny_list_terms_hold_when_ocr_misreads_their_accents(text: str) -> None:
    assert [text[f.start:f.end] for f in DenyList(["Jürgen Müller"]).find(text)] == [text]


@pytest.mark.parametrize("text", ["Janet Roeder", "jroes", "Acme", "Annual", "Jrgen Mller"])
def test_deny_list_does_not_match_inside_other_words(text: str) -> None:
    assert DenyList(["Jane Roe", "jroe", "Acme Widgets", "Ann", "Jürgen Müller"]).find(text) == []


def test_password_contexts() -> None:
    text = "the wifi password is hunter2 and PIN: 4242, passphrase=open sesame"
    assert [text[f.start:f.end] for f in passwords.inline(text)] == ["hunter2", "4242", "open"]
    assert passwords.inline("I forgot my password again") == []
    assert passwords.inline("read -s -p 'Password: ' pw") == []
    typed = "sudo apt update\nhunter2\nls\nssh build@host\nletmein\nexit\necho password is done\n"
    found = passwords.typed(typed)
    assert [typed[f.start:f.end] for f in found] == ["hunter2", "letmein"]
    assert [typed[f.start:f.end] for f in passwords.typed("git commit -m x\nls\n")] == []
    assert [f.start for f in passwords.typed("abc\ndef\n", prompted_lines={1})] == [4]
    for title in ("[sudo] password for jane", "Enter passphrase", "pinentry-gtk", "Authentication required"):
        assert passwords.title_asks(title), title
    assert not passwords.title_asks("Inbox - Mail")


def test_typed_values_are_found_half_typed_on_screen(detector: Detector) -> None:
    """A frame taken while a card number was typed shows only its start: no detector sees a card
    there, but the session knows the full value from the key events."""
    screen = "$ echo maria\n$ pay 4111 11"
    assert detector.find(screen) == []
    session = SessionDetector(detector, [("maria.garcia@example.com", "EMAIL_ADDRESS"),
                                         ("4111 1111 1111 1111", "CREDIT_CARD"), ("ok", "PASSWORD")])
    assert [(f.entity, screen[f.start:f.end]) for f in session.find(screen)] == [
        ("EMAIL_ADDRESS", "maria"), ("CREDIT_CARD", "4111 11")]
    assert session.find("make 41 items; mar") == []  # under 4 characters: too common to redact
    urls = TypedValues([("https://www.portal-example.org/u/1", "URL"), ("-----BEGIN KEY-----", "SECRET")])
    assert urls.find("see https://www.python.org ---- and https://www.po") == []
    screen = "https://www.port  -----BEGI"
    assert [screen[f.start:f.end] for f in urls.find(screen)] == ["https://www.port", "-----BEGI"]
    ocr = "id 41111111"  # OCR dropped the space
    assert [ocr[f.start:f.end] for f in TypedValues([("4111 1111", "X")]).find(ocr)] == ["41111111"]


def test_findings_merge_and_apply() -> None:
    text = "mail a@b.io now"
    found = merge([Finding(5, 11, "EMAIL_ADDRESS", 1.0, "presidio"), Finding(7, 11, "URL", 0.5, "presidio")])
    assert found == [Finding(5, 11, "EMAIL_ADDRESS", 1.0, "presidio")]
    assert apply(text, found) == "mail <EMAIL_ADDRESS> now"
    assert placeholder("SECRET") == "<SECRET>"
    assert apply("a\nb\nc", [Finding(0, 3, "DENY", 1.0, "deny")]) == "<DENY>\n<DENY>\nc"


def test_detector_api(detector: Detector) -> None:
    text = "Jane Roe <jane@example.com>, card 4111 1111 1111 1111, token ghp_Qm7c1ZpL0aXv93RtYw2KsEe8Nn5BbUu4HhJj"
    found = detector.find(text)
    assert found == sorted(found, key=lambda f: f.start)
    assert all(a.end <= b.start for a, b in zip(found, found[1:]))
    assert {f.entity for f in found} == {"DENY", "EMAIL_ADDRESS", "CREDIT_CARD", "SECRET"}
    assert all(f.score >= detector.threshold and f.detector for f in found)
    assert detector.find("") == [] and detector.find("   ") == []
    status = detector.status()
    assert status["ner"] == presidio_engine.ner_available()
    if not status["ner"]:
        assert status["ner_model"] is None
        assert status["lost_without_ner"] == ["PERSON", "LOCATION", "ORGANIZATION"]


def test_ner_pipeline_adds_names_places_and_organisations(tmp_path: Path) -> None:
    """The NER path with a real spaCy pipeline, built here with rules (no trained model is
    installable from a trustworthy source): its PERSON/GPE/ORG spans reach the findings."""
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("entity_ruler").add_patterns([
        {"label": "PERSON", "pattern": [{"LOWER": "maria"}, {"LOWER": "garcia"}]},
        {"label": "GPE", "pattern": "Hamburg"},
        {"label": "ORG", "pattern": [{"LOWER": "globex"}]},
    ])
    nlp.to_disk(tmp_path / "ner")
    d = Detector(ner_model=str(tmp_path / "ner"))
    text = "Maria Garcia moved to Hamburg to work for Globex; mail maria@example.com"
    assert entities(d, text) == [("PERSON", "Maria Garcia"), ("LOCATION", "Hamburg"), ("ORGANIZATION", "Globex"),
                                 ("EMAIL_ADDRESS", "maria@example.com")]
    assert d.status() == {"ner": True, "ner_model": str(tmp_path / "ner"), "lost_without_ner": []}
    plain = Detector(ner_model=None)  # no model: the name lexicon still finds the person, nothing else
    assert entities(plain, text) == [("PERSON", "Maria Garcia"), ("EMAIL_ADDRESS", "maria@example.com")]
    assert plain.status()["lost_without_ner"] == ["PERSON", "LOCATION", "ORGANIZATION"]


def test_phone_regions_are_configurable() -> None:
    text = "030 90182012"  # a national Berlin number: needs the DE region (or a phone word before it)
    assert ("PHONE_NUMBER", "030 90182012") in entities(Detector(phone_regions=["DE"]), text)
    assert entities(Detector(phone_regions=["US"]), text) == []
    with pytest.raises(ValueError, match="XX"):
        Detector(phone_regions=["US", "XX"])


def test_status_lines_for_doctor() -> None:
    lines = redaction.status()
    names = [name for name, _, _ in lines]
    assert "redaction NER" in names
    ner = next(line for line in lines if line[0] == "redaction NER")
    assert ner[1] == presidio_engine.ner_available()
    if not ner[1]:
        assert "PERSON" in ner[2] and "deny" in ner[2]


def test_redact_text_keeps_lines_and_opens_no_network(tmp_path: Path) -> None:
    src = tmp_path / "log.txt"
    lines = ["ok line", "user maria.garcia@example.com logged in", "-----BEGIN PRIVATE KEY-----", "MIIEvQ",
             "-----END PRIVATE KEY-----", "", "card 4111 1111 1111 1111 declined", "done"]
    src.write_text("\n".join(lines) + "\n")
    home = tmp_path / "userhome"
    env = dict(os.environ, OWNTRACE_HOME=str(tmp_path / "oh"), HOME=str(home))
    proc, connects = traced(OWNTRACE + ["redact-text", str(src)], tmp_path / "strace.log", env=env,
                            capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.split("\n")
    assert out[:-1] == ["ok line", "user <EMAIL_ADDRESS> logged in", "<SECRET>", "<SECRET>", "<SECRET>", "",
                        "card <CREDIT_CARD> declined", "done"]
    assert [c for c in connects if c.outbound] == []
    assert not home.exists() or not any(home.rglob("*")), "nothing cached (e.g. a suffix list) on disk"
    piped = subprocess.run(OWNTRACE + ["redact-text"], input="x jroe@example.com\n", env=env, capture_output=True,
                           text=True)
    assert piped.stdout == "x <EMAIL_ADDRESS>\n"


def test_redact_text_errors_are_one_line(tmp_path: Path) -> None:
    env = dict(os.environ, OWNTRACE_HOME=str(tmp_path / "oh"))
    bad = tmp_path / "bin"
    bad.write_bytes(b"\xff\xfe\x00garbage")
    for args in (["redact-text", str(tmp_path / "missing.txt")], ["redact-text", str(bad)]):
        r = subprocess.run(OWNTRACE + args, env=env, capture_output=True, text=True)
        assert r.returncode == 2 and r.stderr.startswith("error: ") and "Traceback" not in r.stderr, r.stderr
