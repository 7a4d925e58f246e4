"""Unknown intents: an out-of-scope score per field, calibrated on validation with pseudo-unknowns.

The score is the cosine distance from a ticket to its nearest training example in the frozen
base-encoder space (deep nearest neighbours, Sun et al. 2022, "Out-of-distribution detection
with deep nearest neighbors", with k = 1; in-scope tickets sit next to a training example of
their class, a new kind of request next to none). The encoder is frozen, so leaving a class out
of the reference set is exact: a validation ticket of class ``c`` scored against the training
examples of every *other* class is what an unseen intent looks like. Per field, the threshold
is the distance that catches ``unknown_recall`` of those pseudo-unknowns; a field whose
pseudo-unknowns the score cannot tell apart (AUROC under ``min_auroc``: priority, sentiment —
a "new" priority is not new text) keeps no threshold and never abstains on this ground.

Why not the precision threshold alone (``../shared/cases/26-threshold-never-abstains``): on an
easy validation set the lowest confidence meeting 97 % precision is the bottom, and nothing is
ever held back. Measured with a logistic regression over these embeddings (10 intents held
out): Banking77 AUROC 0.904 / FPR@95 0.547 for this score vs 0.861 / 0.677 for max-softmax;
calibrated for 0.75 it abstained on 0.762 of the held-out intents' queries (HWU64: 0.651).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from models.triage.cosine import cosine_blocks

log = logging.getLogger("supportflow.train")
UNKNOWN_FILE = "unknown.npz"
MAX_REFERENCE = 50_000  # training examples kept as neighbours (a seeded sample above this)
MIN_CLASSES = 3  # leaving one of two classes out is not an unknown intent: binary flags are off


@dataclass
class FieldCalibration:
    """One field's out-of-scope calibration on validation (all shares 0–1)."""

    threshold: float | None  # distance above which a ticket is out of scope; None = not used
    auroc: float  # pseudo-unknowns vs in-scope validation tickets
    fpr_at_95: float  # pseudo-unknowns let through when 95 % of in-scope tickets are kept
    pseudo_unknown_recall: float  # pseudo-unknowns caught at ``threshold``
    in_scope_kept: float  # validation tickets not flagged at ``threshold``


@dataclass
class UnknownDetector:
    """Reference vectors (unit, float16), their labels per field and each field's calibration."""

    vectors: np.ndarray
    labels: dict[str, np.ndarray]
    calibration: dict[str, FieldCalibration] = field(default_factory=dict)

    def distances(self, queries: np.ndarray) -> np.ndarray:
        """(n,) cosine distance (0–2) of each unit query vector to its nearest reference."""
        return _nearest(queries, self.vectors)[0]

    def out_of_scope(self, distances: np.ndarray) -> dict[str, np.ndarray]:
        """{field: (n,) bool} for the fields with a threshold."""
        thresholds = {f: c.threshold for f, c in self.calibration.items()}
        return {f: distances > t for f, t in thresholds.items() if t is not None}

    def save(self, folder: Path) -> Path:
        """``unknown.npz`` in the model folder (vectors, label codes, calibration)."""
        path = folder / UNKNOWN_FILE
        arrays = {"vectors": self.vectors}
        for name, values in self.labels.items():
            arrays[f"labels__{name}"] = values.astype(str)
        for name, c in self.calibration.items():
            arrays[f"calibration__{name}"] = np.array(
                [np.nan if c.threshold is None else c.threshold, c.auroc, c.fpr_at_95,
                 c.pseudo_unknown_recall, c.in_scope_kept]
            )  # fmt: skip
        np.savez_compressed(path, **arrays)
        return path

    @classmethod
    def load(cls, folder: Path) -> UnknownDetector | None:
        """The detector saved in ``folder``, or None when the model has none."""
        path = folder / UNKNOWN_FILE
        if not path.exists():
            return None
        with np.load(path, allow_pickle=False) as data:
            labels = {k.split("__", 1)[1]: data[k] for k in data.files if k.startswith("labels__")}
            calibration = {}
            for key in (k for k in data.files if k.startswith("calibration__")):
                t, auroc, fpr, recall, kept = (float(v) for v in data[key])
                calibration[key.split("__", 1)[1]] = FieldCalibration(
                    None if np.isnan(t) else t, auroc, fpr, recall, kept
                )
            return cls(data["vectors"], labels, calibration)

    def metrics(self) -> dict[str, float]:
        """Flat MLflow metrics per field: ``unknown_<field>_auroc`` and friends."""
        out = {}
        for name, c in self.calibration.items():
            out[f"unknown_{name}_auroc"] = c.auroc
            out[f"unknown_{name}_fpr_at_95"] = c.fpr_at_95
            out[f"unknown_{name}_pseudo_recall"] = c.pseudo_unknown_recall
            out[f"unknown_{name}_in_scope_kept"] = c.in_scope_kept
            out[f"unknown_{name}_enabled"] = float(c.threshold is not None)
        return out


def fit(
    train_vectors: np.ndarray,
    train_labels: dict[str, list[str | None]],
    val_vectors: np.ndarray,
    val_labels: dict[str, list[str | None]],
    recall: float,
    min_auroc: float = 0.75,
    seed: int = 13,
) -> UnknownDetector:
    """Reference = the training vectors (at most ``MAX_REFERENCE``, sampled with ``seed``);
    per field of at least ``MIN_CLASSES`` classes, the threshold catching ``recall`` of the
    leave-class-out pseudo-unknowns on validation, kept only where their AUROC reaches
    ``min_auroc``. Vectors are (n, d) unit
    rows; labels are per-field lists aligned with them (None = no label, not scored)."""
    keep = np.arange(len(train_vectors))
    if len(keep) > MAX_REFERENCE:
        keep = np.sort(np.random.default_rng(seed).choice(keep, MAX_REFERENCE, replace=False))
    reference = np.ascontiguousarray(train_vectors[keep], dtype=np.float16)
    labels = {f: np.array([v[i] or "" for i in keep]).astype(str) for f, v in train_labels.items()}
    detector = UnknownDetector(reference, labels)
    nearest, _ = _nearest(val_vectors, reference)
    for name, values in val_labels.items():
        scored = np.array([v is not None for v in values])
        if scored.sum() < 2 or len(set(labels[name]) - {""}) < MIN_CLASSES:
            continue
        codes = {c: i for i, c in enumerate(sorted(set(labels[name])))}
        ref_codes = np.array([codes[c] for c in labels[name]])
        val_codes = np.array([codes.get(v, -1) if v is not None else -1 for v in values])
        pseudo = _nearest(val_vectors[scored], reference, ref_codes, val_codes[scored])[0]
        detector.calibration[name] = calibrate(nearest[scored], pseudo, recall, min_auroc)
        c = detector.calibration[name]
        log.info(
            "out-of-scope %s: AUROC %.3f, FPR@95 %.3f, %s", name, c.auroc, c.fpr_at_95,
            "off (the score cannot tell this field's classes apart)" if c.threshold is None
            else f"threshold {c.threshold:.3f} keeps {c.in_scope_kept:.1%} of validation",
        )  # fmt: skip
    return detector


def calibrate(
    in_scope: np.ndarray, pseudo: np.ndarray, recall: float, min_auroc: float
) -> FieldCalibration:
    """The threshold flagging ``recall`` of ``pseudo`` (distances of pseudo-unknowns), with the
    AUROC and FPR@95 of the two distance samples (higher distance = more out of scope)."""
    auroc = auroc_of(in_scope, pseudo)
    fpr = float((pseudo <= np.quantile(in_scope, 0.95)).mean())  # FPR at 95 % TPR (in scope)
    threshold = float(np.quantile(pseudo, 1.0 - recall)) if auroc >= min_auroc else None
    caught = float((pseudo > threshold).mean()) if threshold is not None else 0.0
    kept = float((in_scope <= threshold).mean()) if threshold is not None else 1.0
    return FieldCalibration(threshold, auroc, fpr, caught, kept)


def auroc_of(negatives: np.ndarray, positives: np.ndarray) -> float:
    """Area under the ROC curve of "positive" (pseudo-unknown) vs "negative" (in scope), higher
    score = more positive; 0.5 when either side is empty."""
    from sklearn.metrics import roc_auc_score

    if len(negatives) == 0 or len(positives) == 0:
        return 0.5
    truth = np.r_[np.zeros(len(negatives)), np.ones(len(positives))]
    return float(roc_auc_score(truth, np.r_[negatives, positives]))


def _nearest(
    queries: np.ndarray,
    reference: np.ndarray,
    reference_codes: np.ndarray | None = None,
    exclude_codes: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(distance, index) of each query's nearest reference row by cosine, in blocks; with
    codes, references sharing the query's code are left out (leave-class-out)."""
    import torch

    distance = np.empty(len(queries), dtype=np.float32)
    index = np.empty(len(queries), dtype=np.int64)
    for rows, sims in cosine_blocks(queries, reference):
        if reference_codes is not None:
            own = torch.from_numpy(exclude_codes[rows])[:, None]
            sims[own == torch.from_numpy(reference_codes)[None, :]] = -2.0
        best, where = sims.max(dim=1)
        distance[rows] = (1.0 - best).numpy()
        index[rows] = where.numpy()
    return distance, index
