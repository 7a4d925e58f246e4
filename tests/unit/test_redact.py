"""PII redaction against a corpus of true PII and of look-alikes that must survive."""

import random
from pathlib import Path

import pytest

from supportflow.demo.pii import fake_card, fake_email, fake_iban, fake_phone
from supportflow.ingest.redact import redact_texts

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
