"""Temperature scaling and precision thresholds on synthetic, known-answer data."""

import numpy as np

from models.triage.calibrate import (
    expected_calibration_error,
    fit_temperature,
    softmax,
    threshold_for_precision,
)


def test_temperature_undoes_overconfidence():
    rng = np.random.default_rng(0)
    targets = rng.integers(0, 3, 3000)
    true_logits = rng.normal(0, 1, (3000, 3))
    true_logits[np.arange(3000), targets] += 1.5
    overconfident = true_logits * 4.0  # same argmax, claims far more certainty
    t = fit_temperature(overconfident, targets)
    assert t > 1.5  # it cools the overconfident logits down
    before = softmax(overconfident)
    after = softmax(overconfident, t)
    correct = before.argmax(1) == targets
    assert (after.argmax(1) == before.argmax(1)).all()
    assert (
        expected_calibration_error(after.max(1), correct)
        < expected_calibration_error(before.max(1), correct) / 2
    )


def test_a_validation_set_without_errors_keeps_the_trained_temperature():
    rng = np.random.default_rng(2)
    targets = rng.integers(0, 3, 12)  # a tiny validation set the model gets all right
    logits = rng.normal(0, 1, (12, 3))
    logits[np.arange(12), targets] += 4.0
    assert fit_temperature(logits, targets) == 1.0  # not sharpened to the 0.05 bound
    assert softmax(logits).max(1).min() < 0.999
    wrong = targets.copy()
    wrong[0] = (targets[0] + 1) % 3  # one error: the fit runs
    assert fit_temperature(logits, wrong) > 1.0


def test_threshold_meets_the_target_precision_on_its_data():
    rng = np.random.default_rng(1)
    confidence = rng.uniform(0, 1, 5000)
    correct = rng.uniform(0, 1, 5000) < confidence  # higher confidence, more often right
    threshold, coverage, precision = threshold_for_precision(confidence, correct, 0.9)
    answered = confidence >= threshold
    assert precision >= 0.9 and correct[answered].mean() >= 0.9
    assert abs(coverage - answered.mean()) < 1e-9 and 0.1 < coverage < 0.5
    looser = threshold_for_precision(confidence, correct, 0.8)
    assert looser[0] < threshold and looser[1] > coverage


def test_unreachable_precision_answers_nothing():
    confidence = np.array([0.9, 0.8, 0.7])
    correct = np.array([False, True, False])
    assert threshold_for_precision(confidence, correct, 0.99) == (1.01, 0.0, 0.0)
