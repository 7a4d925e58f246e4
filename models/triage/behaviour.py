"""Behavioural checks (CheckList-style, Ribeiro et al. 2020) on a trained predictor.

- invariance: swapping names, changing numbers or adding typos should not change the label;
- direction: adding "the site is down for all our users" must not lower the priority;
- minimum functionality: one plain, unambiguous ticket per category is classified correctly.
Rates are logged to MLflow with the run; they are measurements, not gates (yet).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable

PRIORITY_ORDER = {"low": 0, "normal": 1, "high": 2, "urgent": 3}
NAMES = ("Anna", "Ben", "Carla", "David", "Emma", "Felix", "Priya", "Kenji", "Fatima", "Luca")
OUTAGE_SENTENCE = " The site is down for all our users."

# One plain ticket per demo category (the demo company's vocabulary).
MINIMUM_FUNCTIONALITY = {
    "billing_dispute": "I was charged twice for the same invoice this month.",
    "refund": "Please refund my last payment, I want my money back.",
    "payment_failure": "My card was declined when paying the renewal.",
    "account_access": "I forgot my password and the reset email never arrives.",
    "two_factor_login": "My two-factor authentication code is rejected every time.",
    "bug_report": "Exporting a board to PDF loses all the images, looks like a bug.",
    "outage": "Nothing loads, we get a 503 error, is the service down?",
    "how_to": "How do I share a board with a guest as view-only?",
    "feature_request": "Please add a dark mode, it would be a great feature.",
    "cancellation": "Please cancel our subscription at the end of the period.",
    "data_privacy": "Under GDPR please send me a copy of all my personal data.",
    "integrations_api": "The API returns 401 for every call to /v2/boards.",
    "invoice_request": "Can you send me a copy of my invoice with our VAT number?",
}

Predict = Callable[[list[str]], list[dict]]


def swap_names(text: str, rng: random.Random) -> str:
    """Sign the text with a random first name."""
    return f"{text} Regards, {rng.choice(NAMES)}"


def change_numbers(text: str, rng: random.Random) -> str:
    """Replace each number with a random one of at most as many digits."""
    return re.sub(r"\d+", lambda m: str(rng.randint(1, 10 ** len(m.group()))), text)


def add_typos(text: str, rng: random.Random) -> str:
    """Swap two pairs of adjacent letters (texts under two characters come back unchanged)."""
    chars = list(text)
    if len(chars) < 2:
        return text
    for _ in range(2):
        i = rng.randrange(max(1, len(chars) - 1))
        if chars[i].isalpha() and chars[i + 1].isalpha():
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
    return "".join(chars)


def invariance_rate(
    predict: Predict,
    texts: list[str],
    field: str,
    perturb: Callable[[str, random.Random], str],
    seed: int = 0,
) -> float:
    """Share (0–1) of texts whose predicted ``field`` label survives the perturbation.

    Raises ValueError for no texts."""
    if not texts:
        raise ValueError("invariance needs at least one text")
    rng = random.Random(seed)
    before = predict(texts)
    after = predict([perturb(t, rng) for t in texts])
    same = sum(b[field].label == a[field].label for b, a in zip(before, after, strict=True))
    return same / len(texts)


def priority_direction_violations(predict: Predict, texts: list[str]) -> float:
    """Share (0–1) of texts whose priority goes down when an outage sentence is added
    (priorities ranked by ``PRIORITY_ORDER``). Raises ValueError for no texts."""
    if not texts:
        raise ValueError("the direction check needs at least one text")
    before = predict(texts)
    after = predict([t + OUTAGE_SENTENCE for t in texts])
    lower = sum(
        PRIORITY_ORDER.get(a["priority"].label, 0) < PRIORITY_ORDER.get(b["priority"].label, 0)
        for b, a in zip(before, after, strict=True)
    )
    return lower / len(texts)


def minimum_functionality(predict: Predict, categories: list[str]) -> dict[str, bool]:
    """{category: predicted right} for the plain tickets of the model's ``categories`` that
    ``MINIMUM_FUNCTIONALITY`` has; empty (nothing predicted) when it has none of them."""
    known = {c: t for c, t in MINIMUM_FUNCTIONALITY.items() if c in categories}
    if not known:
        return {}
    predictions = predict(list(known.values()))
    return {c: p["category"].label == c for c, p in zip(known, predictions, strict=True)}


def behaviour_metrics(predict: Predict, texts: list[str], fields: dict[str, list[str]]) -> dict:
    """All checks that apply to the model's fields ({field: labels}), as flat MLflow metrics
    (rates, 0–1). Checks that do not apply are left out: invariance and direction without texts,
    direction unless every priority label is in ``PRIORITY_ORDER``, minimum functionality for
    categories outside the demo vocabulary."""
    out: dict[str, float] = {}
    for field in fields if texts else ():
        for name, perturb in (
            ("names", swap_names),
            ("numbers", change_numbers),
            ("typos", add_typos),
        ):
            out[f"behaviour_{field}_invariance_{name}"] = invariance_rate(
                predict, texts, field, perturb
            )
    priorities = fields.get("priority")
    if texts and priorities and set(priorities) <= set(PRIORITY_ORDER):
        out["behaviour_priority_direction_violations"] = priority_direction_violations(
            predict, texts
        )
    if "category" in fields:
        passed = minimum_functionality(predict, fields["category"])
        if passed:
            out["behaviour_category_mft_pass_rate"] = sum(passed.values()) / len(passed)
    return out
