"""The customer's opening message: templated paraphrases, tone, typos, PII and look-alikes."""

from __future__ import annotations

import random
from string import Formatter

from supportflow.demo import catalog as cat
from supportflow.demo.pii import fake_card, fake_email, fake_iban, fake_phone
from supportflow.demo.sampling import Incident, iso

SLOTS = {
    "amount": lambda r: f"${r.choice((9, 12, 49, 99, 249, 1200))}.{r.choice(('00', '99', '50'))}",
    "plan": lambda r: r.choice(cat.PLANS),
    "invoice": lambda r: f"INV-{r.randint(2023, 2026)}-{r.randint(1, 99999):05d}",
    "date": lambda r: f"2026-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}",
    "error": lambda r: r.choice(cat.ERRORS),
    "version": lambda r: r.choice(cat.VERSIONS),
    "time": lambda r: f"{r.randint(0, 23):02d}:{r.choice(('00', '15', '30', '45'))}",
    "order": lambda r: r.randint(100000, 99999999),
    "ref": lambda r: f"{r.choice('ABCDEFGH')}{r.randint(1000, 999999)}",
}
_TEMPLATE_SLOTS: dict[str, list[str]] = {}


def fill(rng: random.Random, template: str) -> str:
    """Fill only the slots the template uses (draws stay deterministic per template)."""
    names = _TEMPLATE_SLOTS.get(template)
    if names is None:
        names = _TEMPLATE_SLOTS[template] = [f for _, f, _, _ in Formatter().parse(template) if f]
    return template.format(**{n: SLOTS[n](rng) for n in names}) if names else template


def _typos(rng: random.Random, text: str) -> str:
    chars = list(text)
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(max(1, len(chars) - 1))
        if chars[i].isalpha() and chars[i + 1].isalpha():
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
    return "".join(chars)


def _pii(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.4:
        return f"You can reach me at {fake_email(rng)}."
    if kind < 0.7:
        return f"Call me back on {fake_phone(rng)}."
    if kind < 0.85:
        return f"The card used was {fake_card(rng)}."
    return f"Please use IBAN {fake_iban(rng)} for the refund."


def opening_message(
    rng: random.Random,
    category: cat.Category,
    language: str,
    sentiment: str,
    incident: Incident | None,
    stats: dict[str, int],
) -> tuple[str, str, list[str]]:
    """Subject, body and tags of the opening customer message."""
    tags: list[str] = []
    if language != "en":
        body = fill(rng, category.foreign[language])
        return " ".join(body.split()[:6]), body, tags
    if incident is not None:  # near-duplicates: same template, small variations
        body = category.bodies[incident.variant].format(time=iso(incident.start)[11:16])
        subject = category.subjects[incident.variant]
        tags.append("incident")
    else:
        body = fill(rng, rng.choice(category.bodies))
        subject = rng.choice(category.subjects)
    parts = [rng.choice(cat.OPENERS), body]
    if rng.random() < 0.05:  # mixed topic
        other = rng.choice(cat.CATEGORIES)
        parts.append("Also, " + fill(rng, rng.choice(other.bodies)).lower())
        stats["mixed_topic"] += 1
    if sentiment == "negative":
        parts.append(rng.choice(cat.NEGATIVE))
    elif sentiment == "positive":
        parts.append(rng.choice(cat.POSITIVE))
    if rng.random() < 0.04:
        parts.append(rng.choice(cat.HUMAN_ASK))
        tags.append("asked_for_human")
    if category.queue in ("billing", "payments") and rng.random() < 0.08:
        parts.append(rng.choice(cat.LEGAL))
        tags.append("legal_risk")
    if rng.random() < 0.5:
        parts.append(fill(rng, rng.choice(cat.LOOKALIKES)) + ".")
    if rng.random() < 0.15:
        parts.append(_pii(rng))
        stats["with_pii"] += 1
    parts.append(rng.choice(cat.CLOSERS))
    body = " ".join(p for p in parts if p)
    if rng.random() < 0.05:
        body = _typos(rng, body)
    return subject, body, tags
