"""PII redaction against a corpus of true PII and of look-alikes that must survive."""

import random
import unicodedata
from pathlib import Path

import duckdb
import pytest

from supportflow.demo.pii import fake_card, fake_email, fake_iban, fake_phone
from supportflow.ingest.redact import (
    KnownNames,
    install_known_names,
    install_macros,
    name_pattern,
    redact_texts,
    redaction_sql,
)
from supportflow.ingest.zendesk import name_forms

TRUE_PII = [
    ("mail anna.miller@example.com today", "anna.miller@example.com", "[EMAIL]"),
    (
        "x: j_doe+support@mail.corp.example.co.uk",
        "j_doe+support@mail.corp.example.co.uk",
        "[EMAIL]",
    ),
    ("card 4111 1111 1111 1111 declined", "4111 1111 1111 1111", "[CARD]"),
    ("card 5555-5555-5555-4444 declined", "5555-5555-5555-4444", "[CARD]"),
    ("amex 378282246310005 ok", "378282246310005", "[CARD]"),
    ("iban DE89 3704 0044 0532 0130 00 thanks", "DE89 3704 0044 0532 0130 00", "[IBAN]"),
    ("iban GB82WEST12345698765432", "GB82WEST12345698765432", "[IBAN]"),
    ("iban FR14 2004 1010 0505 0001 3M02 606", "FR14 2004 1010 0505 0001 3M02 606", "[IBAN]"),
    ("ssn 123-45-6789 on file", "123-45-6789", "[NATIONAL_ID]"),
    ("NI number AB 12 34 56 C", "AB 12 34 56 C", "[NATIONAL_ID]"),
    ("call +1 (415) 555-0134 now", "+1 (415) 555-0134", "[PHONE]"),
    ("call 415-555-0199", "415-555-0199", "[PHONE]"),
    ("call 415.555.0199", "415.555.0199", "[PHONE]"),
    ("call +44 20 7946 0958", "+44 20 7946 0958", "[PHONE]"),
    ("ruf an 030 12345678", "030 12345678", "[PHONE]"),
    ("mobile 07700 900123", "07700 900123", "[PHONE]"),
    ("tel +33 1 42 68 53 00", "+33 1 42 68 53 00", "[PHONE]"),
    ("ship to 221 Baker Street please", "221 Baker Street", "[ADDRESS]"),
    ("Adresse Hauptstraße 5, Berlin", "Hauptstraße 5", "[ADDRESS]"),
]

LOOKALIKES = [
    "Order #12345678 shipped",
    "invoice INV-2024-00123 is wrong",
    "on 2026-03-05 at 10:30",
    "version 4.2.1 and 5.0.0-beta",
    "price $49.99 or €1.200,00",
    "ref AB123456",
    "order 1234567890123",  # 13 digits, fails Luhn
    "card 4111 1111 1111 1112",  # fails Luhn
    "license key AB12 CDEF GHIJ KLMN",  # IBAN-shaped, fails mod-97
    "build 20260305.1",
    "error E-1021 and code 500",
    "ticket 29048119 and 3 boards",
    "QQ 12 34 56 C is the example NI number",  # invalid prefix
    "we have 250 users in 12 teams",
]


@pytest.mark.parametrize(("text", "pii", "token"), TRUE_PII)
def test_true_pii_is_replaced(text, pii, token):
    (out,) = redact_texts([text])
    assert pii not in out
    assert token in out


def test_lookalikes_survive_untouched():
    assert redact_texts(LOOKALIKES) == LOOKALIKES


def test_generated_pii_is_always_caught():
    rng = random.Random(3)
    samples = [f(rng) for f in (fake_card, fake_iban, fake_email, fake_phone) for _ in range(50)]
    outputs = redact_texts([f"see {s} thanks" for s in samples])
    leaked = [s for s, out in zip(samples, outputs, strict=True) if s in out]
    assert leaked == []


def test_nulls_and_empty_texts_pass_through():
    assert redact_texts([None, ""]) == [None, ""]


def test_training_from_a_csv_uses_a_redacted_copy(settings, tmp_path):
    """`train --data file.csv` never fits raw personal data into the model: it trains on a
    redacted copy, removed afterwards (issue: TF-IDF vocabularies held e-mails and phones)."""
    from models.triage.config import DataConfig, TrainConfig
    from supportflow.training_data import redacted_training_csv

    source = tmp_path / "labelled.csv"
    source.write_text(
        "text,category\n"
        '"Mail me at jo.doe@example.org, or call +44 20 7946 0958",refund\n'
        "Where is my invoice?,billing\n"
    )
    config = TrainConfig(name="t", data=DataConfig(source="csv", csv_path=source))
    with redacted_training_csv(settings, config) as used:
        copy = Path(used.data.csv_path)
        text = copy.read_text()
        assert copy != source and "jo.doe" not in text and "7946" not in text
        assert "[EMAIL]" in text and "[PHONE]" in text and "Where is my invoice?,billing" in text
    assert not copy.exists() and source.read_text().count("jo.doe") == 1


def _one_alternation(names: set[str]):
    """The reference: one pattern of every name, longest first, each matched as KnownNames
    does (no candidate filtering)."""
    return name_pattern(tuple(sorted(names, key=lambda n: (-len(n), n))))


def test_known_names_are_replaced_as_whole_words_in_any_script():
    names = KnownNames({"Ann", "Ann Smith", "Łukasz Nowak", "Дмитрий", "O'Brien", "田中"})
    cases = {
        "Ann Ann Ann": "[NAME] [NAME] [NAME]",  # adjacent names sharing one delimiter
        "Hi Ann Smith,": "Hi [NAME],",  # the longest name wins
        "Annette, Ann2, 2Ann": "Annette, Ann2, 2Ann",  # inside a word is not a name
        "Ann_x": "[NAME]_x",  # an underscore is a delimiter, as in RE2's [^\pL\pN]
        "Pan Łukasz Nowak pisze": "Pan [NAME] pisze",
        "Привет, Дмитрий!": "Привет, [NAME]!",
        "Mr O'Brien.": "Mr [NAME].",
        "田中さん、こんにちは": "[NAME]さん、こんにちは",  # no spaces between words: anywhere
        "": "",
    }
    assert {text: names.redact(text) for text in cases} == cases


def test_names_in_any_case_decomposed_or_in_unspaced_scripts_are_found():
    """Cases from a new user's check: a two-character Chinese name, an internal note in
    capitals, a name pasted in Unicode NFD, a Korean name with its honorific attached."""
    names = KnownNames({"王芳", "José Núñez", "José", "Grace", "김민수", "Nguyễn Văn An"})
    nfd = unicodedata.normalize("NFD", "Hola José Núñez")
    cases = {
        "你好，我是王芳。文件上传失败。王芳": "你好，我是[NAME]。文件上传失败。[NAME]",
        "Hello 王芳, see below": "Hello [NAME], see below",
        "Internal: JOSÉ NÚÑEZ is a VIP": "Internal: [NAME] is a VIP",
        nfd: "Hola [NAME]",
        unicodedata.normalize("NFD", "Nguyễn Văn An wrote"): "[NAME] wrote",
        "김민수님 안녕하세요": "[NAME]님 안녕하세요",
        "the grace period, GRACE": "the grace period, GRACE",  # one-word names as written
        "Dear Grace,": "Dear [NAME],",
        "Cafe\u0301 without a name": "Cafe\u0301 without a name",  # kept as written
    }
    assert {text: names.redact(text) for text in cases} == cases


def test_name_forms_cover_short_full_names_and_hyphenated_parts():
    assert name_forms("王芳", "end-user") == {"王芳"}
    assert name_forms("Anne-Marie  Dubois", "end-user") == {
        "Anne-Marie Dubois", "Anne-Marie", "Anne", "Marie", "Dubois"
    }  # fmt: skip
    assert name_forms("Lena Schmidt", "agent") == {"Lena Schmidt"}  # agents sign with parts
    assert name_forms("X", "end-user") == set()


def test_known_names_match_one_alternation_over_thousands_of_names():
    rng = random.Random(5)
    letters = "abcdefghijklmnopqrstuvwxyzäöüß"
    first = ["".join(rng.choices(letters, k=rng.randint(3, 7))).title() for _ in range(400)]
    last = ["".join(rng.choices(letters, k=rng.randint(3, 9))).title() for _ in range(400)]
    names = {f"{rng.choice(first)} {rng.choice(last)}" for _ in range(3000)} | set(first[:200])
    listed = sorted(names)
    texts = []
    for _ in range(400):
        words = [rng.choice(listed) if rng.random() < 0.3 else rng.choice(first + last + ["x"])
                 for _ in range(rng.randint(1, 12))]  # fmt: skip
        texts.append(rng.choice([" ", ", ", "\n", "_", "-"]).join(words))
    reference = _one_alternation(names)
    known = KnownNames(names)
    assert [known.redact(t) for t in texts] == [reference.sub("[NAME]", t) for t in texts]
    assert sum("[NAME]" in t for t in map(known.redact, texts)) > 100


def test_the_names_of_the_file_being_loaded_replace_the_last_files():
    con = duckdb.connect()
    install_macros(con)
    install_known_names(con, {"Ingrid Haugvoll"})
    install_known_names(con, {"Bertram Lowe"})  # the next file's users
    sql = f"SELECT {redaction_sql('t')} FROM (SELECT unnest($t) AS t) ORDER BY t"
    texts = ["Bertram Lowe here", "Ingrid Haugvoll here", None]
    assert con.execute(sql, {"t": texts}).fetchall() == [
        ("[NAME] here",),
        ("Ingrid Haugvoll here",),
        (None,),
    ]
    install_known_names(con, [])
    assert con.execute(sql, {"t": texts[:1]}).fetchall() == [("Bertram Lowe here",)]
