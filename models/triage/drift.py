"""Prediction drift: how far a batch's predicted labels and confidences moved from training.

The reference is taken on the validation split when the model is trained (predicted-label
shares and a 10-bin confidence histogram per field) and saved with the model; a scoring batch
is compared with the population stability index, PSI = Σ (a − e) · ln(a / e). The usual reading:
< 0.1 stable, 0.1–0.25 moderate, > 0.25 a real shift (the scoring config sets the bar).
"""

from __future__ import annotations

import numpy as np

BINS = np.linspace(0.0, 1.0, 11)
EPSILON = 1e-4  # shares of zero would make PSI infinite; floor them


def profile(labels: list[str], confidences: np.ndarray, vocabulary: list[str]) -> dict:
    """Predicted-label shares (over the head's vocabulary) and a confidence histogram."""
    n = max(len(labels), 1)
    counts = {label: 0 for label in vocabulary}
    for label in labels:
        counts[label] = counts.get(label, 0) + 1
    histogram, _ = np.histogram(np.clip(confidences, 0.0, 1.0), bins=BINS)
    return {
        "labels": {label: c / n for label, c in counts.items()},
        "confidence": (histogram / n).tolist(),
    }


def psi(expected: list[float], actual: list[float]) -> float:
    e = np.clip(np.asarray(expected, dtype=float), EPSILON, None)
    a = np.clip(np.asarray(actual, dtype=float), EPSILON, None)
    return float(((a - e) * np.log(a / e)).sum())


def compare(reference: dict, batch: dict) -> tuple[float, float]:
    """(PSI of predicted labels, PSI of confidences) of a batch profile against the reference."""
    vocabulary = list(reference["labels"])
    label_psi = psi(
        [reference["labels"][v] for v in vocabulary],
        [batch["labels"].get(v, 0.0) for v in vocabulary],
    )
    return label_psi, psi(reference["confidence"], batch["confidence"])
