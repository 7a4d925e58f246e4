"""Per-field evaluation: accuracy, macro-F1, per-class scores, top-3, calibration, coverage."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from models import device
from models.triage import batching
from models.triage.calibrate import expected_calibration_error, softmax
from models.triage.modeling import HeadMeta, TriageModel


@dataclass
class FieldReport:
    n: int
    accuracy: float
    macro_f1: float
    top3_accuracy: float
    ece_before: float
    ece_after: float
    suggest_coverage: float
    suggest_precision: float
    auto_apply_coverage: float
    auto_apply_precision: float
    per_class: dict[str, dict[str, float]] = field(default_factory=dict)
    confusion: list[list[int]] = field(default_factory=list)

    def metrics(self, prefix: str) -> dict[str, float]:
        names = (
            "accuracy",
            "macro_f1",
            "top3_accuracy",
            "ece_before",
            "ece_after",
            "suggest_coverage",
            "suggest_precision",
            "auto_apply_coverage",
            "auto_apply_precision",
        )
        return {f"{prefix}_{n}": float(getattr(self, n)) for n in names}


@torch.no_grad()
def collect_logits(
    model: TriageModel, ids: list[list[int]], pad_id: int, batch_size: int = 64
) -> dict[str, np.ndarray]:
    """Logits per field for encoded texts, in their original order: {field: (n, labels)}
    float32. Runs where the model's weights are (``models/device.py``: on a GPU under bf16
    autocast, batches ``GPU_BATCH_FACTOR`` × larger)."""
    was_training = model.training
    model.eval()
    where = next(model.parameters()).device
    out: dict[str, np.ndarray] = {
        f: np.zeros((len(ids), h.out_features), dtype=np.float32) for f, h in model.heads.items()
    }
    size = device.inference_batch(where, batch_size)
    for index, batch in batching.iterate(ids, size, pad_id, shuffle=False):
        with device.autocast(where):
            logits = model(**device.to_device(batch, where))
        for name, values in logits.items():
            out[name][index] = values.float().cpu().numpy()
    model.train(was_training)
    return out


def target_indices(values: list[str | None], labels: list[str]) -> np.ndarray:
    """Label strings → class indices (-1 where missing)."""
    lookup = {label: i for i, label in enumerate(labels)}
    return np.array([lookup.get(v, -1) if v is not None else -1 for v in values], dtype=np.int64)


def field_report(
    logits: np.ndarray,
    targets: np.ndarray,
    head: HeadMeta,
    out_of_scope: np.ndarray | None = None,
) -> FieldReport:
    """Accuracy, macro-F1, top-3, ECE and coverage/precision at both thresholds of one head
    over the labelled rows of ``targets`` ((n,) indices, -1 = none). ``out_of_scope`` ((n,)
    bool, models/triage/unknown.py) abstains too, so coverage is what ``predict`` answers."""
    from sklearn.metrics import f1_score, precision_recall_fscore_support

    keep = targets >= 0
    logits, targets = logits[keep], targets[keep]
    in_scope = ~out_of_scope[keep] if out_of_scope is not None else np.ones(len(targets), bool)
    if len(targets) == 0:
        raise ValueError("no labelled examples to evaluate")
    before = softmax(logits)
    after = softmax(logits, head.temperature)
    predicted = after.argmax(1)
    confidence = after.max(1)
    correct = predicted == targets
    top3 = np.argsort(-after, axis=1)[:, :3]
    classes = list(range(len(head.labels)))
    precision, recall, f1, support = precision_recall_fscore_support(
        targets, predicted, labels=classes, zero_division=0
    )
    confusion = np.zeros((len(classes), len(classes)), dtype=int)
    np.add.at(confusion, (targets, predicted), 1)

    def answered(threshold: float) -> tuple[float, float]:
        mask = (confidence >= threshold) & in_scope
        return float(mask.mean()), float(correct[mask].mean()) if mask.any() else 0.0

    suggest = answered(head.suggest_threshold)
    auto = answered(head.auto_apply_threshold)
    return FieldReport(
        n=len(targets),
        accuracy=float(correct.mean()),
        macro_f1=float(
            f1_score(targets, predicted, labels=classes, average="macro", zero_division=0)
        ),
        top3_accuracy=float((top3 == targets[:, None]).any(1).mean()),
        ece_before=expected_calibration_error(before.max(1), before.argmax(1) == targets),
        ece_after=expected_calibration_error(confidence, correct),
        suggest_coverage=suggest[0],
        suggest_precision=suggest[1],
        auto_apply_coverage=auto[0],
        auto_apply_precision=auto[1],
        per_class={
            label: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, label in enumerate(head.labels)
        },
        confusion=confusion.tolist(),
    )


def confusion_png(report: FieldReport, labels: list[str], title: str, path: Path) -> Path:
    """A confusion-matrix image (rows: true, columns: predicted) for the MLflow run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    size = max(4.0, 0.35 * len(labels) + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(np.array(report.confusion), cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=7)
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
