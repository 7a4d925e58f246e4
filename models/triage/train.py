"""Train a transformer triage model by stages, each its own function:

``fine_tune`` (finetune.py) → ``fit_members`` → ``finish`` (calibrate, report) →
``export_fast_path`` → ``save``; ``train_model`` composes them. The model's metadata is complete
before ``save``, which writes the self-contained folder once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from models.text import model_texts
from models.triage import drift, fastpath, modeling, unknown
from models.triage.calibrate import fit_temperature, softmax, threshold_for_precision
from models.triage.config import ServingConfig, TrainConfig
from models.triage.data import Examples, Split
from models.triage.embedding import ONNX_INT8, Embedder, PackageEmbedder, load_embedder
from models.triage.ensemble import Members
from models.triage.evaluate import FieldReport, field_report, target_indices
from models.triage.finetune import FittedModel, fine_tune
from models.triage.members.embedding import BASE_ENCODER
from models.triage.members.frozen import VECTOR_MEMBERS, choose_frozen_encoder, frozen_embedder
from models.triage.modeling import TriageMeta
from models.triage.steps import Steps

log = logging.getLogger("supportflow.train")
LogitsOf = Callable[[Examples], dict[str, np.ndarray]]


@dataclass
class TrainResult:
    """What a training run produced: the saved folder, its metadata, history and reports."""

    folder: Path
    meta: TriageMeta
    history: list[dict[str, float]] = field(default_factory=list)
    reports: dict[str, dict[str, FieldReport]] = field(default_factory=dict)
    best_epoch: int = 0
    train_seconds: float = 0.0
    steps: int = 0
    # ensemble only: test accuracy of each member alone, {member: {field: accuracy}}
    member_accuracy: dict[str, dict[str, float]] = field(default_factory=dict)
    detector: unknown.UnknownDetector | None = None  # the out-of-scope score, when calibrated
    device: str = "cpu"  # where the fine-tune's epochs ran (models/device.py)
    base_embedder: Embedder | PackageEmbedder | None = None  # the detector's frozen encoder


def train_model(
    config: TrainConfig,
    split: Split,
    out_dir: Path,
    on_epoch: Callable[[int, dict], None] | None = None,
    steps: Steps | None = None,
) -> TrainResult:
    """Fine-tune, early-stop, combine, calibrate, export and save to ``out_dir``; returns the
    history and the validation/test reports. ``on_epoch(epoch, row)`` sees each history row;
    ``steps`` names each stage as it runs and, once fine-tuned, can save the model as it is."""
    steps = steps or Steps()
    # what the model reads (models/text.py); TriageMeta.text_view makes scoring read the same
    split = split.viewed(lambda t: model_texts(t, config.data.text_view))
    with steps("fine-tune"):
        fitted = fine_tune(config, split, on_epoch, steps.counter("fine-tuning, optimiser steps"))
    steps.salvage = lambda: save(out_dir, fitted, None)
    with steps("ensemble members"):
        members = fit_members(config, split, fitted)
    result = TrainResult(
        folder=out_dir,
        meta=fitted.meta,
        history=fitted.history,
        best_epoch=fitted.best_epoch,
        steps=fitted.steps,
        train_seconds=time.perf_counter() - fitted.started,
        device=fitted.device,
    )
    if config.calibration.unknown_recall is not None:
        with steps("out-of-scope calibration"):
            result.base_embedder = base_embedder(config, split, fitted)
            result.detector = fit_unknown(config, split, result.base_embedder)
    logits_of = final_logits(fitted, members)
    with steps("calibrate and evaluate"):
        finish(
            result,
            split,
            config,
            logits_of,
            before_test=lambda: refit(config, split, fitted, members),
        )
        if members is not None and len(split.test):
            result.member_accuracy = members.accuracy_alone(
                fitted.logits(split.test), split.test, fitted.maps
            )
    if config.serving.fast_path == "onnx_int8":
        with steps("int8 fast path"):
            fitted.meta.extra["fast_path"] = export_fast_path(
                fitted, members, split.validation, config.serving, out_dir
            )
    with steps("save"):
        save(out_dir, fitted, members, result.detector, result.base_embedder)
    steps.salvage = lambda: out_dir
    return result


def fit_members(config: TrainConfig, split: Split, fitted: FittedModel) -> Members | None:
    """The ``combine.members`` fitted on the training side, their weights per field chosen on
    validation and recorded in ``fitted.meta.extra["ensemble"]``; None without members."""
    if not config.combine.members:
        return None
    members = Members.fit(
        config.combine.members, split.train, fitted.maps, frozen_encoder(config, split, fitted)
    )
    members.choose_weights(
        fitted.logits(split.validation),
        split.validation.texts,
        split.validation.labels,
        fitted.maps,
        config.combine.weight_step,
    )
    fitted.meta.extra["ensemble"] = {"members": members.names, "weights": members.weights}
    return members


def refit(config: TrainConfig, split: Split, fitted: FittedModel, members: Members | None) -> None:
    """With ``combine.refit_on_validation``, the members fitted again on training + validation
    (after calibration, before the test report); recorded in the ensemble's meta."""
    if members is None or not config.combine.refit_on_validation or not len(split.validation):
        return
    members.refit(
        split.train + split.validation, fitted.maps, frozen_encoder(config, split, fitted)
    )
    fitted.meta.extra["ensemble"]["fitted_on"] = "train+validation"


def fit_unknown(
    config: TrainConfig, split: Split, embedder: Embedder | PackageEmbedder
) -> unknown.UnknownDetector:
    """The out-of-scope detector over frozen base-encoder vectors of the training side,
    calibrated on validation (``calibration.unknown_recall``, ``unknown_min_auroc``)."""
    log.info("out-of-scope: embedding %d examples with the frozen encoder", len(split.train))
    return unknown.fit(
        embedder.embed(split.train.texts),
        split.train.labels,
        embedder.embed(split.validation.texts),
        split.validation.labels,
        config.calibration.unknown_recall,
        config.calibration.unknown_min_auroc,
        seed=config.data.seed,
    )


def frozen_encoder(config: TrainConfig, split: Split, fitted: FittedModel) -> Path | str:
    """The members' and out-of-scope score's frozen encoder (``combine.embedding_encoder``,
    chosen once per run from the training texts; the choice is recorded in
    ``fitted.meta.extra["frozen_encoder"]``)."""
    if fitted.frozen_encoder is None:
        combine = config.combine
        chosen, record = choose_frozen_encoder(
            combine.embedding_encoder, split.train.texts, fitted.encoder_dir,
            combine.multilingual_share,
        )  # fmt: skip
        if int8_frozen_encoder(config, chosen):
            chosen = f"{chosen}{ONNX_INT8}"
            record["backend"] = "onnx-int8"
        log.info("frozen encoder for the members and out-of-scope score: %s", record["encoder"])
        fitted.meta.extra["frozen_encoder"] = record
        fitted.frozen_encoder = chosen
    return fitted.frozen_encoder


def int8_frozen_encoder(config: TrainConfig, chosen: Path | str) -> bool:
    """Whether the frozen encoder runs as an int8 ONNX graph: only when it serves the
    out-of-scope score alone (no ``embedding``/``knn`` member reads its vectors), the serving
    fast path is on, and it is a local transformer folder (not a package encoder).

    Measured on Banking77 (``bench_triage_real``, frozen MiniLM): int8 keeps the out-of-scope
    figures (held-out intents abstained 0.820 → 0.823, answered accuracy 0.973 → 0.977, kNN
    AUROC 0.904 → 0.902) at ~10× the speed, but costs the embedding member 0.42 pt
    (0.9286 → 0.9244), so members keep fp32."""
    if config.serving.fast_path != "onnx_int8":
        return False
    if any(m in VECTOR_MEMBERS for m in config.combine.members):
        return False
    return isinstance(chosen, Path) or (Path(str(chosen)) / "config.json").exists()


def base_embedder(
    config: TrainConfig, split: Split, fitted: FittedModel
) -> Embedder | PackageEmbedder:
    """The frozen base encoder (``frozen_encoder``), the same instance the ``embedding`` and
    ``knn`` members use (one memo, one pass)."""
    return frozen_embedder(frozen_encoder(config, split, fitted))


def final_logits(fitted: FittedModel, members: Members | None) -> LogitsOf:
    """What the saved model predicts from: the transformer's logits, or the members' mixture
    (log-probabilities) around them."""
    if members is None:
        return fitted.logits
    return lambda side: members.combine(fitted.logits(side), side.texts)


def export_fast_path(
    fitted: FittedModel,
    members: Members | None,
    side: Examples,
    serving: ServingConfig,
    folder: Path,
) -> dict:
    """Export the in-memory model to int8 ONNX in ``folder`` and keep it only if the final
    (mixed, for an ensemble) accuracy on ``side`` (validation) drops by at most
    ``serving.max_accuracy_loss`` against fp32. Returns the ``meta.extra["fast_path"]`` entry,
    which ``save`` writes with the rest of the metadata."""
    graphs = fastpath.export_model(fastpath.eager_copy(fitted.model), folder)
    finalise = (lambda lg: members.combine(lg, side.texts)) if members else (lambda lg: lg)
    return fastpath.choose(
        graphs,
        fitted.encode(side.texts),
        fitted.pad_id,
        final_logits(fitted, members)(side),
        {f: target_indices(side.labels[f], labels) for f, labels in fitted.maps.items()},
        serving.max_accuracy_loss,
        finalise,
    )


def save(
    folder: Path,
    fitted: FittedModel,
    members: Members | None,
    detector: unknown.UnknownDetector | None = None,
    embedder: Embedder | PackageEmbedder | None = None,
) -> Path:
    """The self-contained model folder: ``encoder/``, ``heads.pt``, ``triage.json`` (written
    once, complete), for an ensemble ``members.joblib`` and the members' side files, and with a
    detector ``unknown.npz`` plus the frozen encoder in ``base_encoder/``."""
    if detector is not None:
        fitted.meta.extra["unknown"] = {f: asdict(c) for f, c in detector.calibration.items()}
    modeling.save(folder, fitted.model, fitted.tokenizer, fitted.meta)
    if members is not None:
        members.save(folder)
    if detector is not None:
        detector.save(folder)
        if not (folder / BASE_ENCODER).exists():
            (embedder or load_embedder(str(fitted.encoder_dir))).save(folder / BASE_ENCODER)
    return folder


def calibrate(
    logits: dict[str, np.ndarray],
    side: Examples,
    meta: TriageMeta,
    config: TrainConfig,
    out_of_scope: dict[str, np.ndarray] | None = None,
) -> None:
    """Per head: temperature on validation logits, then suggest/auto-apply thresholds over
    the rows not flagged ``out_of_scope`` (those abstain anyway), so the answered precision
    holds as ``predict`` answers; the calibrated validation predictions are kept as the drift
    reference."""
    for name, head in meta.heads.items():
        targets = target_indices(side.labels[name], head.labels)
        keep = targets >= 0
        head.temperature = fit_temperature(logits[name][keep], targets[keep])
        every = softmax(logits[name], head.temperature)
        meta.extra.setdefault("reference", {})[name] = drift.profile(
            [head.labels[i] for i in every.argmax(1)], every.max(1), head.labels
        )
        answerable = keep & ~(out_of_scope or {}).get(name, np.zeros(len(keep), dtype=bool))
        probs = softmax(logits[name][answerable], head.temperature)
        confidence, correct = probs.max(1), probs.argmax(1) == targets[answerable]
        head.suggest_threshold = threshold_for_precision(
            confidence, correct, config.calibration.suggest_precision
        )[0]
        head.auto_apply_threshold = threshold_for_precision(
            confidence, correct, config.calibration.auto_apply_precision
        )[0]


def reports(
    logits: dict[str, np.ndarray],
    side: Examples,
    meta: TriageMeta,
    out_of_scope: dict[str, np.ndarray] | None = None,
) -> dict[str, FieldReport]:
    """One ``FieldReport`` per head of ``logits`` (per field, (n, labels)) against ``side``;
    coverage counts the ``out_of_scope`` flags ({field: (n,) bool}) as abstentions."""
    flags = out_of_scope or {}
    return {
        f: field_report(logits[f], target_indices(side.labels[f], h.labels), h, flags.get(f))
        for f, h in meta.heads.items()
    }


def out_of_scope_flags(result: TrainResult, side: Examples) -> dict[str, np.ndarray]:
    """{field: (n,) bool} of the run's detector on ``side``; empty without one."""
    if result.detector is None or result.base_embedder is None:
        return {}
    return result.detector.out_of_scope(
        result.detector.distances(result.base_embedder.embed(side.texts))
    )


def finish(
    result: TrainResult,
    split: Split,
    config: TrainConfig,
    logits_of: LogitsOf,
    before_test: Callable[[], None] | None = None,
) -> None:
    """Calibrate on validation, then report validation and test (shared by every model kind);
    coverage figures include out-of-scope abstentions, as ``predict`` applies them.
    ``before_test`` runs between the two (the ensemble refits its members there)."""
    val_logits = logits_of(split.validation)
    val_flags = out_of_scope_flags(result, split.validation)
    calibrate(val_logits, split.validation, result.meta, config, val_flags)
    result.reports["validation"] = reports(val_logits, split.validation, result.meta, val_flags)
    if before_test is not None:
        before_test()
    if len(split.test):
        result.reports["test"] = reports(
            logits_of(split.test), split.test, result.meta, out_of_scope_flags(result, split.test)
        )
