"""Confidence that means something: temperature scaling, then thresholds for target precision.

Temperature scaling (Guo et al., 2017) fits one scalar per head on validation logits; it does not
change the argmax, only how sure the model claims to be. Thresholds are then the lowest
confidence at which the validation precision of the answered tickets still meets the target,
which gives the largest coverage at that precision.
"""

from __future__ import annotations

import itertools

import numpy as np
import torch


def fit_temperature(logits: np.ndarray, targets: np.ndarray, steps: int = 200) -> float:
    """The temperature minimising validation NLL (optimised in log space, so it stays > 0),
    within [0.05, 20].

    When every validation example is already predicted right (a small or easy validation
    set), NLL has no minimum: it falls as the temperature goes to 0, and the fit would make
    every confidence 1.0. There is then no evidence of over- or under-confidence, so the
    logits are kept as trained (1.0)."""
    if len(targets) == 0 or (np.asarray(logits).argmax(axis=1) == np.asarray(targets)).all():
        return 1.0
    x = torch.tensor(logits, dtype=torch.float64)
    y = torch.tensor(targets, dtype=torch.long)
    log_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimiser = torch.optim.LBFGS([log_t], lr=0.1, max_iter=steps)

    def closure():
        optimiser.zero_grad()
        loss = torch.nn.functional.cross_entropy(x / log_t.exp(), y)
        loss.backward()
        return loss

    optimiser.step(closure)
    return float(log_t.detach().exp().clamp(0.05, 20.0))


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = logits / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def threshold_for_precision(
    confidence: np.ndarray, correct: np.ndarray, target: float
) -> tuple[float, float, float]:
    """(threshold, coverage, precision): the lowest threshold whose answered set meets ``target``.

    Returns threshold 1.01 (answer nothing) when no threshold reaches the target.
    """
    order = np.argsort(-confidence, kind="stable")
    hits = np.cumsum(correct[order])
    answered = np.arange(1, len(order) + 1)
    precision = hits / answered
    ok = np.nonzero(precision >= target)[0]
    if len(ok) == 0:
        return 1.01, 0.0, 0.0
    k = ok[-1]  # the most answered while precision still meets the target
    # Ties: everything at the threshold's confidence is answered too; keep only safe cut points.
    while k + 1 < len(order) and confidence[order[k + 1]] == confidence[order[k]]:
        k -= 1
        if k < 0:
            return 1.01, 0.0, 0.0
    threshold = float(confidence[order[k]])
    mask = confidence >= threshold
    return threshold, float(mask.mean()), float(correct[mask].mean())


def expected_calibration_error(
    confidence: np.ndarray, correct: np.ndarray, bins: int = 15
) -> float:
    """ECE with equal-width bins: the confidence-weighted gap between confidence and accuracy."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    ece = 0.0
    for low, high in itertools.pairwise(edges):
        in_bin = (confidence > low) & (confidence <= high)
        if in_bin.any():
            ece += in_bin.mean() * abs(confidence[in_bin].mean() - correct[in_bin].mean())
    return float(ece)
