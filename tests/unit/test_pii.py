"""The demo's fake card numbers and IBANs carry valid checksums (so redaction is really tested)."""

import random

from supportflow.demo.pii import fake_card, fake_iban


def luhn_valid(number: str) -> bool:
    digits = [int(c) for c in number if c.isdigit()][::-1]
    total = sum(
        d if i % 2 == 0 else (d * 2 - 9 if d * 2 > 9 else d * 2) for i, d in enumerate(digits)
    )
    return total % 10 == 0


def iban_valid(iban: str) -> bool:
    s = iban.replace(" ", "")
    return int("".join(str(int(c, 36)) for c in s[4:] + s[:4])) % 97 == 1


def test_fake_cards_pass_luhn():
    rng = random.Random(0)
    assert all(luhn_valid(fake_card(rng)) for _ in range(500))


def test_fake_ibans_pass_mod97():
    rng = random.Random(0)
    assert all(iban_valid(fake_iban(rng)) for _ in range(500))


def test_known_test_numbers():
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")
    assert iban_valid("DE89370400440532013000") and not iban_valid("DE00370400440532013000")
