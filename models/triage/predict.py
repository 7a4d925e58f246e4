"""Predict with a saved triage model: per field label, calibrated confidence, top-3, abstain."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from models import device as devices
from models.triage import batching
from models.triage.baseline import BASELINE_FILE, load_baseline
from models.triage.calibrate import softmax
from models.triage.embedding import ONNX_INT8 as ENCODER_INT8
from models.triage.embedding import Embedder
from models.triage.ensemble import Members
from models.triage.evaluate import collect_logits
from models.triage.fastpath import ONNX_INT8, OnnxLogits
from models.triage.members.embedding import BASE_ENCODER
from models.triage.members.frozen import OWN_BASE, VECTOR_MEMBERS, frozen_embedder
from models.triage.modeling import TriageMeta, load
from models.triage.tfidf import baseline_logits
from models.triage.unknown import UnknownDetector


@dataclass
class FieldPrediction:
    label: str
    confidence: float
    top3: list[tuple[str, float]]
    abstained: bool  # below the suggest threshold, or out of scope: a human decides
    auto_apply: bool  # at or above the auto-apply threshold, and in scope
    out_of_scope: bool = False  # farther from every training example than the field allows
    # cosine distance to the nearest training example (unknown.py); None without a detector
    out_of_scope_score: float | None = None


class Predictor:
    """Loads a model folder once; ``predict`` takes raw texts (redact PII before if needed).

    The transformer runs on ``device`` (``models/device.py``; None: ``$SUPPORTFLOW_DEVICE``,
    else a GPU when present): on the CPU through the int8 ONNX fast path when the model has
    one, on a GPU as the torch model under bf16 autocast."""

    def __init__(self, folder: Path, threads: int = 2, device: str | None = None):
        torch.set_num_threads(threads)
        self.folder = folder
        self.device = devices.resolve(device)
        self.baseline = None
        self.embedder = None  # the frozen encoder, when the members or out-of-scope score read it
        if (folder / BASELINE_FILE).exists():  # the TF-IDF champion shares this interface
            self.baseline, self.meta = load_baseline(folder)
        else:
            self.model, self.tokenizer, self.meta = load(folder)
            self.model.to(self.device)
            self.members = Members.load(folder)  # a calibrated ensemble, when trained as one
            self.detector = UnknownDetector.load(folder)  # the out-of-scope score, if calibrated
            vector_members = self.members is not None and any(
                n in VECTOR_MEMBERS for n in self.members.names
            )
            if self.detector is not None or vector_members:
                # the members' instance when they embed: one frozen-encoder pass for all
                self.embedder = frozen_embedder(folder / BASE_ENCODER)
            self.fast = None  # int8 ONNX when it was accepted at registration (fastpath.py)
            fast_path = self.meta.extra.get("fast_path", {})
            on_cpu = not devices.is_gpu(self.device)
            if on_cpu and fast_path.get("kind") == "onnx-int8" and (folder / ONNX_INT8).exists():
                self.fast = OnnxLogits(folder / ONNX_INT8, list(self.meta.heads), threads)

    @property
    def fields(self) -> list[str]:
        return list(self.meta.heads)

    @property
    def ticket_vector_encoder(self) -> str | None:
        """The ``ml.ticket_vectors`` encoder name whose vector of a ticket is this model's
        frozen-encoder vector of it, so scoring can pass stored vectors to ``predict``; None
        when there is none: the model reads tickets as ticket vectors do (``text_view:
        newest_message``, ``models.text.read_ticket``), its frozen encoder (members, out-of-scope
        score) is its own packaged base encoder, as fp32 or the int8 graph (``@onnx-int8``,
        the same graph the knowledge step builds), on the CPU."""
        if not isinstance(self.embedder, Embedder) or self.meta.text_view != "newest_message":
            return None
        record = self.meta.extra.get("frozen_encoder", {})
        base = str(self.meta.extra.get("encoder", ""))
        if record.get("encoder") != OWN_BASE or not base.startswith("packaged:"):
            return None
        if devices.is_gpu(self.device):  # a GPU runs the torch model in place of int8
            return None
        return base + (ENCODER_INT8 if record.get("backend") == "onnx-int8" else "")

    def predict(
        self, texts: list[str], out_of_scope: bool = True, vectors: np.ndarray | None = None
    ) -> list[dict[str, FieldPrediction]]:
        """Per text, per field: the ``FieldPrediction``. ``out_of_scope=False`` skips the
        out-of-scope score (a second, frozen-encoder pass): labels and confidences are the
        same, only the out-of-scope abstentions are missing (for checks that read labels).

        ``vectors`` ((len(texts), d) float32, NaN rows where unknown): the frozen encoder's
        vectors of ``texts`` known already (the stored ticket vectors of
        ``ticket_vector_encoder``); only the unknown rows are embedded. The int8 graph scales
        activations per batch, so a stored vector can differ from a fresh one by ~1e-2 per
        component (cosine > 0.99)."""
        texts = self.meta.model_texts([t or "" for t in texts])
        if vectors is not None and self.embedder is not None:
            self._remember(texts, vectors)
        if self.baseline is not None:
            return predictions_from_logits(baseline_logits(self.baseline, texts), self.meta)
        ids = batching.encode(self.tokenizer, texts, self.meta.max_length)
        pad = self.tokenizer.pad_token_id
        if self.fast is not None:
            logits = self.fast(ids, pad)
        else:
            logits = collect_logits(self.model, ids, pad)
        if self.members is not None:
            logits = self.members.combine(logits, texts)
        unknown = distances = None
        if self.detector is not None and out_of_scope:
            distances = self.detector.distances(self.embedder.embed(texts))
            unknown = self.detector.out_of_scope(distances)
        return predictions_from_logits(logits, self.meta, unknown, distances)

    def _remember(self, texts: list[str], vectors: np.ndarray) -> None:
        """``vectors`` with its NaN rows embedded, kept as the frozen embedder's result for
        ``texts`` (the members and the out-of-scope score read it from there)."""
        full = np.array(vectors, dtype=np.float32)
        missing = np.isnan(full).any(axis=1)
        if missing.any():
            full[missing] = self.embedder.embed(
                [t for t, m in zip(texts, missing, strict=True) if m]
            )
        self.embedder.remember(texts, full)


def predictions_from_logits(
    logits: dict[str, np.ndarray],
    meta: TriageMeta,
    out_of_scope: dict[str, np.ndarray] | None = None,
    distances: np.ndarray | None = None,
) -> list[dict[str, FieldPrediction]]:
    """Per text, per head: label, calibrated confidence, top-3 and the abstain/auto-apply
    flags; ``out_of_scope`` ({field: (n,) bool}, models/triage/unknown.py) abstains too, and
    ``distances`` ((n,), the out-of-scope score) is passed through."""
    n = len(next(iter(logits.values()))) if logits else 0
    out_of_scope = out_of_scope or {}
    out: list[dict[str, FieldPrediction]] = [{} for _ in range(n)]
    for name, head in meta.heads.items():
        probs = softmax(logits[name], head.temperature)
        top = np.argsort(-probs, axis=1)[:, :3]
        unknown = out_of_scope.get(name, np.zeros(n, dtype=bool))
        for i in range(n):
            best = float(probs[i, top[i, 0]])
            out[i][name] = FieldPrediction(
                label=head.labels[top[i, 0]],
                confidence=best,
                top3=[(head.labels[j], float(probs[i, j])) for j in top[i]],
                abstained=best < head.suggest_threshold or bool(unknown[i]),
                auto_apply=best >= head.auto_apply_threshold and not unknown[i],
                out_of_scope=bool(unknown[i]),
                out_of_scope_score=None if distances is None else float(distances[i]),
            )
    return out


def as_rows(texts: list[str], predictions: list[dict[str, FieldPrediction]]) -> list[dict]:
    """Flat rows for CSV output: text, per field ``<field>_label``, ``_confidence``,
    ``_abstained`` and ``_out_of_scope``, and ``out_of_scope_score`` when the model has one."""
    rows = []
    for text, fields in zip(texts, predictions, strict=True):
        row = {"text": text}
        for name, p in fields.items():
            row[f"{name}_label"] = p.label
            row[f"{name}_confidence"] = round(p.confidence, 4)
            row[f"{name}_abstained"] = p.abstained
            row[f"{name}_out_of_scope"] = p.out_of_scope
            if p.out_of_scope_score is not None:
                row["out_of_scope_score"] = round(p.out_of_scope_score, 4)
        rows.append(row)
    return rows
