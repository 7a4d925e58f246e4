"""Behavioural metrics on label sets that are not the demo's: no crash, only the checks that fit."""

import random
from types import SimpleNamespace

import pytest

from models.triage.behaviour import add_typos, behaviour_metrics, minimum_functionality


def fake_predict(labels: dict[str, str]):
    """Predicts the same labels for every text; like the tokenizer, fails on an empty batch."""

    def predict(texts: list[str]) -> list[dict]:
        if not texts:
            raise IndexError("list index out of range")  # what the real tokenizer raises
        return [{f: SimpleNamespace(label=v) for f, v in labels.items()} for _ in texts]

    return predict


def test_labels_outside_the_demo_vocabulary_do_not_crash():
    predict = fake_predict({"category": "hardware", "priority": "P2"})
    fields = {"category": ["hardware", "software"], "priority": ["P1", "P2"]}
    metrics = behaviour_metrics(predict, ["Laptop will not boot", "Excel crashes 3 times"], fields)
    assert metrics["behaviour_category_invariance_names"] == 1.0
    assert metrics["behaviour_priority_invariance_typos"] == 1.0
    assert "behaviour_category_mft_pass_rate" not in metrics  # no demo category to test
    assert "behaviour_priority_direction_violations" not in metrics  # P1/P2 are not ranked
    assert minimum_functionality(predict, fields["category"]) == {}


def test_no_texts_and_other_field_names_give_only_what_applies():
    predict = fake_predict({"queue": "tier1"})
    assert behaviour_metrics(predict, [], {"queue": ["tier1", "tier2"]}) == {}


def test_demo_categories_are_still_checked():
    predict = fake_predict({"category": "refund", "priority": "high"})
    fields = {"category": ["refund", "hardware"], "priority": ["low", "high"]}
    metrics = behaviour_metrics(predict, ["Money back please"], fields)
    assert metrics["behaviour_category_mft_pass_rate"] == 1.0
    assert metrics["behaviour_priority_direction_violations"] == 0.0


@pytest.mark.parametrize("text", ["", "a", "ab"])
def test_typos_on_very_short_texts(text):
    assert len(add_typos(text, random.Random(0))) == len(text)
