"""A calibrated combination around the fine-tuned transformer.

The three models' errors overlap only partly (STACK_NOTES: fine-tuned MiniLM 92.9 %, a logistic
regression over frozen MiniLM embeddings 93.0 %, TF-IDF 91.3 %; their probability mean 94.2 %
on Banking77). The members are fitted on the training side; their weights per field are the
point of a simplex grid with the best validation accuracy (log-loss breaks near-ties), after
each member is temperature-scaled on validation; temperature scaling and thresholds then apply
to the mixture exactly as to a single model.
"""

from __future__ import annotations

import itertools
import logging
from pathlib import Path

import joblib
import numpy as np

from models.triage.calibrate import fit_temperature
from models.triage.data import Examples
from models.triage.evaluate import target_indices
from models.triage.members import MEMBERS, Logits, Member

log = logging.getLogger("supportflow.train")
MEMBERS_FILE = "members.joblib"
TRANSFORMER = "transformer"
ACCURACY_TIE = 0.002  # validation accuracies this close count as equal (≈ 2 of 1,000 examples)


class Members:
    """The non-transformer members (``members.MEMBERS``), their per-field weights and
    temperatures; saved as ``members.joblib`` plus each member's side files."""

    def __init__(
        self,
        names: list[str],
        fitted: dict[str, Member],
        weights: dict[str, dict[str, float]] | None = None,
        temperatures: dict[str, dict[str, float]] | None = None,
    ):
        self.names = list(names)
        self.fitted = fitted  # in MEMBERS order, which is the mixture's order
        self.weights: dict[str, dict[str, float]] = {} if weights is None else weights
        self.temperatures = temperatures  # None until choose_weights (then {field: {member: T}})

    @classmethod
    def fit(
        cls, names: list[str], train: Examples, maps: dict[str, list[str]], encoder_dir: Path
    ) -> Members:
        """Fit each named member on ``train``. Raises ValueError for a name not in MEMBERS."""
        unknown = sorted(set(names) - set(MEMBERS))
        if unknown:
            raise ValueError(f"unknown ensemble members {unknown}; known: {list(MEMBERS)}")
        fitted = {n: m.fit(train, maps, encoder_dir) for n, m in MEMBERS.items() if n in names}
        return cls(names, fitted)

    def refit(self, examples: Examples, maps: dict[str, list[str]], encoder_dir: Path) -> None:
        """Fit every member again on ``examples`` (training + validation once the weights,
        temperatures and thresholds are chosen), keeping those weights and temperatures."""
        self.fitted = {n: MEMBERS[n].fit(examples, maps, encoder_dir) for n in self.fitted}

    def member_logits(self, texts: list[str]) -> dict[str, Logits]:
        """Log-probabilities per member and field: {member: {field: (n, labels)}}."""
        return {name: member.logits(texts) for name, member in self.fitted.items()}

    def choose_weights(
        self, transformer: Logits, texts: list[str], labels: dict[str, list], maps, step: float
    ) -> dict[str, dict[str, float]]:
        """Per field: calibrate each member (its own temperature), then pick the simplex weights
        with the best validation accuracy — among those within ``ACCURACY_TIE`` of the best, the
        lowest log-loss. Log-loss alone drops members that are right but under-confident
        (TF-IDF), which costs accuracy (STACK_NOTES: the plain three-way mean is worth +1.3 pt)."""
        members = {TRANSFORMER: _log_softmax(transformer), **self.member_logits(texts)}
        names = list(members)
        self.temperatures = {}
        for field, classes in maps.items():
            targets = target_indices(labels[field], classes)
            keep = targets >= 0
            temperatures = {
                n: fit_temperature(members[n][field][keep], targets[keep]) for n in names
            }
            self.temperatures[field] = temperatures
            stacked = np.stack([_scaled(members[n][field][keep], temperatures[n]) for n in names])
            scored = []
            for w in simplex(len(names), step):
                mixed = mix(stacked, w)
                hits = (mixed.argmax(1) == targets[keep]).mean()
                scored.append((float(hits), _log_loss(mixed, targets[keep]), w))
            best_accuracy = max(a for a, _, _ in scored)
            _, _, best = min(
                (s for s in scored if s[0] >= best_accuracy - ACCURACY_TIE), key=lambda s: s[1]
            )
            self.weights[field] = dict(zip(names, map(float, best), strict=True))
            log.info("ensemble weights for %s: %s", field, self.weights[field])
        return self.weights

    def combine(self, transformer: Logits, texts: list[str]) -> Logits:
        """The weighted probability mixture, as log-probabilities (the calibrated 'logits')."""
        members = {TRANSFORMER: _log_softmax(transformer), **self.member_logits(texts)}
        out = {}
        for field, weights in self.weights.items():
            names = list(weights)
            temperatures = (self.temperatures or {}).get(field, {})
            stacked = np.stack(
                [_scaled(members[n][field], temperatures.get(n, 1.0)) for n in names]
            )
            out[field] = mix(stacked, np.array([weights[n] for n in names]))
        return out

    def accuracy_alone(
        self, transformer: Logits, side: Examples, maps: dict[str, list[str]]
    ) -> dict[str, dict[str, float]]:
        """Each member's accuracy on its own (what the mixture adds is worth logging)."""
        members = {TRANSFORMER: transformer, **self.member_logits(side.texts)}
        out: dict[str, dict[str, float]] = {}
        for name, logits in members.items():
            out[name] = {}
            for field, classes in maps.items():
                targets = target_indices(side.labels[field], classes)
                keep = targets >= 0
                hits = logits[field][keep].argmax(1) == targets[keep]
                out[name][field] = float(hits.mean()) if keep.any() else 0.0
        return out

    def save(self, folder: Path) -> None:
        """``members.joblib`` ({"members", "weights", <each member's state>, "temperatures"}) and
        the members' side files (the embedding member's ``base_encoder/``)."""
        bundle: dict = {"members": self.names, "weights": self.weights}
        bundle.update({name: member.save(folder) for name, member in self.fitted.items()})
        if self.temperatures is not None:
            bundle["temperatures"] = self.temperatures
        joblib.dump(bundle, folder / MEMBERS_FILE)

    @classmethod
    def load(cls, folder: Path) -> Members | None:
        """The members saved beside a transformer, or None for a plain transformer folder."""
        if not (folder / MEMBERS_FILE).exists():
            return None
        bundle = joblib.load(folder / MEMBERS_FILE)
        fitted = {n: m.load(bundle[n], folder) for n, m in MEMBERS.items() if n in bundle}
        return cls(bundle["members"], fitted, bundle["weights"], bundle.get("temperatures"))


def simplex(n: int, step: float) -> list[np.ndarray]:
    """All weight vectors of ``n`` non-negative multiples of ``step`` summing to 1."""
    units = round(1 / step)
    return [
        np.array(c, dtype=float) / units
        for c in itertools.product(range(units + 1), repeat=n)
        if sum(c) == units
    ]


def mix(stacked_log_probs: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """log(Σ w·p) for (members, n, classes) log-probabilities, computed stably."""
    with np.errstate(divide="ignore"):
        log_w = np.log(weights)[:, None, None]
    top = stacked_log_probs.max(axis=0)
    total = (np.exp(stacked_log_probs + log_w - top)).sum(axis=0)
    return np.log(np.clip(total, 1e-300, None)) + top


def _log_softmax(logits: Logits) -> Logits:
    out = {}
    for name, values in logits.items():
        z = values - values.max(axis=1, keepdims=True)
        out[name] = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return out


def _scaled(log_probs: np.ndarray, temperature: float) -> np.ndarray:
    """Temperature-scaled log-probabilities (renormalised)."""
    return _log_softmax({"x": log_probs / temperature})["x"]


def _log_loss(log_probs: np.ndarray, targets: np.ndarray) -> float:
    return float(-log_probs[np.arange(len(targets)), targets].mean())
