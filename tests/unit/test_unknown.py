"""The out-of-scope score's calibration on vectors whose geometry is known."""

from __future__ import annotations

import numpy as np
import pytest

from models.triage import unknown


def clusters(classes: int, per_class: int, spread: float, seed: int, dim: int = 32):
    """Unit vectors around one random centre per class; labels ``c0``…"""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(classes, dim))
    points = np.repeat(centres, per_class, axis=0) + spread * rng.normal(
        size=(classes * per_class, dim)
    )
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    return points.astype(np.float32), [f"c{i}" for i in range(classes) for _ in range(per_class)]


def test_leaving_a_class_out_is_exact_and_calibrates_the_threshold():
    train, train_labels = clusters(12, 40, 0.3, seed=1)
    val, val_labels = clusters(12, 10, 0.3, seed=1)  # same centres, fresh points
    val = val + 0  # distinct array
    detector = unknown.fit(train, {"intent": train_labels}, val, {"intent": val_labels}, 0.8)
    c = detector.calibration["intent"]
    assert c.threshold is not None and c.auroc > 0.95
    assert c.pseudo_unknown_recall == pytest.approx(0.8, abs=0.02)
    assert c.in_scope_kept > 0.9 and c.fpr_at_95 < 0.2
    # a new cluster nobody trained on is flagged; points of trained clusters are not
    new, _ = clusters(1, 30, 0.3, seed=99)
    flags = detector.out_of_scope(detector.distances(new))["intent"]
    assert flags.mean() > 0.7
    assert detector.out_of_scope(detector.distances(val))["intent"].mean() < 0.1


def test_a_field_whose_new_classes_do_not_look_new_gets_no_threshold():
    train, intents = clusters(8, 30, 0.3, seed=2)
    val, val_intents = clusters(8, 10, 0.3, seed=2)
    rng = np.random.default_rng(0)
    # priority is independent of the text: leaving "high" out leaves its twins behind
    levels = ["low", "normal", "high"]
    priority = [rng.choice(levels) for _ in intents]
    val_priority = [rng.choice(levels) for _ in val_intents]
    detector = unknown.fit(
        train, {"intent": intents, "priority": priority},
        val, {"intent": val_intents, "priority": val_priority}, 0.75,
    )  # fmt: skip
    assert detector.calibration["priority"].threshold is None
    assert detector.calibration["priority"].auroc < 0.75
    assert set(detector.out_of_scope(detector.distances(val))) == {"intent"}
    # a 2-class flag has no unknown intents: not calibrated at all
    flag = [rng.choice(["yes", "no"]) for _ in intents]
    val_flag = [rng.choice(["yes", "no"]) for _ in val_intents]
    flags = unknown.fit(train, {"flag": flag}, val, {"flag": val_flag}, 0.75)
    assert "flag" not in flags.calibration


def test_saved_and_loaded_detector_flags_the_same(tmp_path):
    train, labels = clusters(6, 20, 0.3, seed=3)
    val, val_labels = clusters(6, 8, 0.3, seed=3)
    detector = unknown.fit(train, {"intent": labels}, val, {"intent": val_labels}, 0.75)
    detector.save(tmp_path)
    again = unknown.UnknownDetector.load(tmp_path)
    queries, _ = clusters(9, 5, 0.5, seed=4)
    np.testing.assert_array_equal(
        detector.out_of_scope(detector.distances(queries))["intent"],
        again.out_of_scope(again.distances(queries))["intent"],
    )
    assert again.metrics()["unknown_intent_enabled"] == 1.0
    assert unknown.UnknownDetector.load(tmp_path / "nothing") is None


def test_unlabelled_validation_rows_are_not_scored():
    train, labels = clusters(4, 10, 0.3, seed=5)
    val, val_labels = clusters(4, 5, 0.3, seed=5)
    holes = [None if i % 2 else v for i, v in enumerate(val_labels)]
    detector = unknown.fit(train, {"intent": labels}, val, {"intent": holes}, 0.75)
    assert "intent" in detector.calibration


def test_auroc_matches_its_definition():
    assert unknown.auroc_of(np.array([0.1, 0.2]), np.array([0.3, 0.4])) == 1.0
    assert unknown.auroc_of(np.array([0.3, 0.4]), np.array([0.1, 0.2])) == 0.0
    assert unknown.auroc_of(np.array([0.1, 0.3]), np.array([0.2, 0.4])) == 0.75
    assert unknown.auroc_of(np.array([]), np.array([0.2])) == 0.5
