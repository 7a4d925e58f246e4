"""Pure rollout logic: routing by phase, gates, holder history, drift."""

import numpy as np
import pytest

from models.triage import drift
from models.triage.predict import FieldPrediction
from supportflow.rollout.config import OfflineGates, OnlineGates
from supportflow.rollout.decisions import holder_history
from supportflow.rollout.gates import offline_gates, online_gates
from supportflow.rollout.routing import routing_action


@pytest.mark.parametrize(
    ("phase", "field", "confidence", "expected"),
    [
        ("shadow", "queue", 0.99, "logged"),
        ("shadow", "queue", 0.10, "logged"),
        ("assist", "queue", 0.99, "suggest"),
        ("assist", "queue", 0.50, "needs_human"),
        ("auto_route", "queue", 0.99, "auto_apply"),
        ("auto_route", "queue", 0.80, "suggest"),
        ("auto_route", "queue", 0.50, "needs_human"),
        ("auto_route", "category", 0.99, "suggest"),  # not an auto-routed field
    ],
)
def test_routing_action_by_phase_and_threshold(phase, field, confidence, expected):
    # the head's thresholds (suggest 0.7, auto-apply 0.95) were applied once, by the predictor
    prediction = FieldPrediction("x", confidence, [], confidence < 0.7, confidence >= 0.95)
    got = routing_action(phase, field, prediction, ["queue", "priority"])
    assert got == expected


def test_offline_gates_compare_with_the_holder_and_bound_calibration():
    candidate = {"test_category_macro_f1": 0.80, "test_category_ece_after": 0.02}
    holder = {"test_category_macro_f1": 0.82}
    ok = offline_gates(candidate, holder, ["category"], OfflineGates(macro_f1_tolerance=0.03))
    assert all(g.passed for g in ok)
    worse = offline_gates(candidate, holder, ["category"], OfflineGates())
    assert [g.name for g in worse if not g.passed] == ["category.macro_f1"]
    # validation metrics stand in when the run had no test split; a missing ECE fails
    uncalibrated = offline_gates(
        {"validation_category_macro_f1": 0.9}, None, ["category"], OfflineGates()
    )
    assert [g.name for g in uncalibrated if not g.passed] == ["category.calibration_error"]


def test_online_gates_need_enough_agreeing_tickets():
    config = OnlineGates(min_tickets=100, min_agreement=0.8, max_override_rate=0.1)
    good = {"queue": {"closed_tickets": 150, "agreement": 0.9, "override_rate": 0.05}}
    assert all(g.passed for g in online_gates(good, ["queue"], "shadow", config))
    few = {"queue": {"closed_tickets": 20, "agreement": 0.9, "override_rate": 0.2}}
    failed = [g.name for g in online_gates(few, ["queue"], "shadow", config) if not g.passed]
    assert failed == ["queue.shadow.tickets", "queue.shadow.override_rate"]
    missing = online_gates({}, ["queue"], "shadow", config)
    assert [g.passed for g in missing] == [False] and "no tickets scored" in missing[0].detail


def event(version, to_phase, action="promote", from_phase=None, passed=True):
    return {
        "version": version,
        "to_phase": to_phase,
        "action": action,
        "from_phase": from_phase,
        "passed": passed,
    }


def test_holder_history_replays_promotions_refusals_and_rollbacks():
    events = [
        event(1, "shadow"),
        event(1, "assist", from_phase="shadow"),
        event(2, "shadow"),
        event(3, "assist", from_phase=None, passed=False),  # refused: not a holder
        event(2, "assist", from_phase="shadow"),
    ]
    assert holder_history(events, "assist") == [1, 2]
    assert holder_history(events, "shadow") == []  # both moved on
    events.append(event(1, "assist", action="rollback", from_phase="assist"))
    assert holder_history(events, "assist") == [1]


def test_psi_is_zero_for_the_reference_and_large_for_a_shift():
    labels = ["a"] * 50 + ["b"] * 30 + ["c"] * 20
    confidence = np.linspace(0.3, 0.99, 100)
    reference = drift.profile(labels, confidence, ["a", "b", "c"])
    assert drift.compare(reference, reference) == (0.0, 0.0)
    shifted = drift.profile(["c"] * 90 + ["a"] * 10, np.full(100, 0.35), ["a", "b", "c"])
    label_psi, confidence_psi = drift.compare(reference, shifted)
    assert label_psi > 1.0 and confidence_psi > 1.0
