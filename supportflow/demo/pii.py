"""Real-looking PII for the demo data and the redaction corpus: valid checksums, fake people."""

from __future__ import annotations

import random

FIRST = ("anna", "ben", "carla", "david", "emma", "felix", "grace", "hugo", "ines", "jonas")
LAST = ("miller", "schmidt", "garcia", "dubois", "rossi", "novak", "smith", "weber", "silva")
DOMAINS = ("example.com", "mail.example.org", "corp.example.net", "example.co.uk")


def luhn_check_digit(digits: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:  # these positions are doubled once the check digit is appended
            d = d * 2 - 9 if d >= 5 else d * 2
        total += d
    return str((10 - total % 10) % 10)


def fake_card(rng: random.Random, spaced: bool = True) -> str:
    prefix = rng.choice(("4", "51", "55", "37"))
    length = 15 if prefix == "37" else 16
    body = prefix + "".join(str(rng.randrange(10)) for _ in range(length - len(prefix) - 1))
    number = body + luhn_check_digit(body)
    if not spaced:
        return number
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4))


def iban_check_digits(country: str, bban: str) -> str:
    numeric = "".join(str(int(c, 36)) for c in bban + country) + "00"
    return f"{98 - int(numeric) % 97:02d}"


def fake_iban(rng: random.Random) -> str:
    country, length = rng.choice((("DE", 18), ("FR", 23), ("ES", 20), ("NL", 14)))
    if country == "NL":
        bban = "ABNA" + "".join(str(rng.randrange(10)) for _ in range(10))
    else:
        bban = "".join(str(rng.randrange(10)) for _ in range(length))
    iban = country + iban_check_digits(country, bban) + bban
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))


def fake_email(rng: random.Random) -> str:
    return f"{rng.choice(FIRST)}.{rng.choice(LAST)}{rng.randrange(100)}@{rng.choice(DOMAINS)}"


def fake_phone(rng: random.Random) -> str:
    n = rng.randrange(100, 999)
    return rng.choice(
        (
            f"+1 (415) 555-0{n}",
            f"415-555-0{n}",
            f"+44 20 7946 0{n}",
            f"+49 30 1234{n}",
            f"030 1234{n}",
            f"07700 900{n}",
            f"+33 1 42 68 5{n % 10} {n % 100:02d}",
        )
    )
