"""Behavioural tests (CheckList, Ribeiro et al. 2020) on the registered tiny model: minimum
functionality, invariance and direction cases, asserted one by one.

behaviour.py measures the same checks as rates on held-out texts; here they are cases. A case
whose expected label the trained model lacks is skipped, not failed.
"""

import random

import pytest

from models.triage.behaviour import (
    MINIMUM_FUNCTIONALITY,
    OUTAGE_SENTENCE,
    PRIORITY_ORDER,
    add_typos,
    change_numbers,
    swap_names,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def predictor(trained):
    """The Predictor inside the registered pyfunc (what scoring loads)."""
    from models.triage.registry import load_model

    info, uri, _ = trained
    return load_model(info["model_uri"], uri).unwrap_python_model().predictor


def labels_of(predictor, field: str) -> list[str]:
    return predictor.meta.heads[field].labels if field in predictor.meta.heads else []


def predict_one(predictor, text: str) -> dict:
    return predictor.predict([text])[0]


@pytest.mark.parametrize(("category", "text"), sorted(MINIMUM_FUNCTIONALITY.items()))
def test_minimum_functionality(predictor, category, text):
    """One plain, unambiguous ticket per category is classified as that category."""
    if category not in labels_of(predictor, "category"):
        pytest.skip(f"the trained model has no {category!r} category")
    assert predict_one(predictor, text)["category"].label == category


PLAIN_TEXTS = [
    MINIMUM_FUNCTIONALITY["billing_dispute"],
    MINIMUM_FUNCTIONALITY["account_access"],
    MINIMUM_FUNCTIONALITY["feature_request"],
]
TEXTS_WITH_NUMBERS = [
    "Order 48213 was billed 2 times, 59 EUR each, please fix invoice 7731.",
    "The API returns 401 for every call to /v2/boards since 09:30 today.",
]
PERTURBATIONS = {"names": swap_names, "numbers": change_numbers, "typos": add_typos}
INVARIANCE_CASES = [
    *[(p, t) for p in ("names", "typos") for t in PLAIN_TEXTS],
    *[("numbers", t) for t in TEXTS_WITH_NUMBERS],
]


@pytest.mark.parametrize(("perturbation", "text"), INVARIANCE_CASES)
@pytest.mark.parametrize("field", ["category", "priority"])
def test_invariance(predictor, field, perturbation, text):
    """A signature, other numbers or two typos do not change the predicted label."""
    if not labels_of(predictor, field):
        pytest.skip(f"the trained model has no {field!r} field")
    changed = PERTURBATIONS[perturbation](text, random.Random(7))
    assert changed != text
    before, after = predictor.predict([text, changed])
    assert after[field].label == before[field].label, changed


DIRECTION_TEXTS = [
    "How do I share a board with a guest as view-only?",
    "Please add a dark mode, it would be a great feature.",
    "I was charged twice for the same invoice this month.",
]


@pytest.mark.parametrize("text", DIRECTION_TEXTS)
def test_an_outage_never_lowers_the_priority(predictor, text):
    """Adding "the site is down for all our users" keeps or raises the priority."""
    priorities = labels_of(predictor, "priority")
    if not priorities or not set(priorities) <= set(PRIORITY_ORDER):
        pytest.skip(f"priority labels {priorities} are not the ranked demo priorities")
    before, after = predictor.predict([text, text + OUTAGE_SENTENCE])
    rank = PRIORITY_ORDER
    assert rank[after["priority"].label] >= rank[before["priority"].label]


def test_labels_without_the_out_of_scope_pass_are_the_same_labels(predictor):
    """The behavioural checks skip the frozen-encoder pass (``out_of_scope=False``): the labels
    and confidences must be exactly what full scoring gives; only the abstentions differ."""
    assert predictor.detector is not None  # the tiny model has an out-of-scope score
    texts = [
        "I was charged twice this month",
        "The app crashes when I open settings",
        "What is the weather on Mars tomorrow?",
    ]
    full = predictor.predict(texts)
    cheap = predictor.predict(texts, out_of_scope=False)
    for f, c in zip(full, cheap, strict=True):
        for field in f:
            assert (c[field].label, c[field].confidence) == (f[field].label, f[field].confidence)
            assert c[field].out_of_scope is False and c[field].out_of_scope_score is None
    assert all(f[field].out_of_scope_score is not None for f in full for field in f)
