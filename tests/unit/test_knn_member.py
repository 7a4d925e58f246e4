"""The kNN member's weighted vote (models/triage/members/knn.py)."""

import numpy as np

from models.triage.members.knn import FLOOR, vote


def unit(rows):
    rows = np.asarray(rows, dtype=np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


REFERENCE = unit([[1, 0, 0], [0.95, 0.05, 0], [0, 1, 0], [0, 0.9, 0.1], [0, 0, 1]])


def test_the_nearest_class_wins_and_every_class_keeps_a_finite_log_probability():
    targets = {"intent": np.array([0, 0, 1, 1, 2])}
    logits = vote(unit([[1, 0.1, 0], [0.1, 1, 0]]), REFERENCE, targets, {"intent": 3}, k=3)
    probs = np.exp(logits["intent"])
    assert probs.shape == (2, 3)
    assert np.allclose(probs.sum(axis=1), 1.0)
    assert list(probs.argmax(axis=1)) == [0, 1]
    assert np.isfinite(logits["intent"]).all() and probs.min() >= FLOOR / 3 * 0.99


def test_unlabelled_references_do_not_vote_for_that_field():
    # the query's nearest references (0 and 1) have no "team" label: team comes from reference 2
    targets = {"intent": np.array([0, 0, 1, 1, 2]), "team": np.array([-1, -1, 0, 0, 1])}
    logits = vote(unit([[1, 0.5, 0]]), REFERENCE, targets, {"intent": 3, "team": 2}, k=1)
    assert np.exp(logits["intent"])[0].argmax() == 0
    team = np.exp(logits["team"])[0]
    assert team[0] > 0.99 and np.isclose(team.sum(), 1.0)


def test_a_lower_temperature_sharpens_the_vote():
    targets = {"intent": np.array([0, 0, 1, 1, 2])}
    query = unit([[0.6, 0.5, 0]])
    soft = np.exp(vote(query, REFERENCE, targets, {"intent": 3}, k=4, tau=1.0)["intent"])[0]
    sharp = np.exp(vote(query, REFERENCE, targets, {"intent": 3}, k=4, tau=0.01)["intent"])[0]
    assert sharp.max() > soft.max()
