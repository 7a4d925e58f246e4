"""Fine-tune the encoder with one head per label field; early-stop on validation macro-F1;
calibrate each head on validation; save a self-contained model folder."""

from __future__ import annotations

import copy
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from models.triage import batching, drift, fastpath
from models.triage.calibrate import fit_temperature, softmax, threshold_for_precision
from models.triage.config import TrainConfig, encoder_path
from models.triage.data import DataError, Examples, Split
from models.triage.ensemble import Members
from models.triage.evaluate import FieldReport, collect_logits, field_report, target_indices
from models.triage.modeling import META_FILE, HeadMeta, TriageMeta, TriageModel, save

log = logging.getLogger("supportflow.train")
IGNORE = -100


@dataclass
class TrainResult:
    folder: Path
    meta: TriageMeta
    history: list[dict[str, float]] = field(default_factory=list)
    reports: dict[str, dict[str, FieldReport]] = field(default_factory=dict)
    best_epoch: int = 0
    train_seconds: float = 0.0
    steps: int = 0
    # ensemble only: test accuracy of each member alone, {member: {field: accuracy}}
    member_accuracy: dict[str, dict[str, float]] = field(default_factory=dict)


def label_maps(split: Split) -> dict[str, list[str]]:
    """Sorted label vocabulary per field from the training side; unseen eval labels are errors."""
    maps = {
        f: sorted({v for v in values if v is not None}) for f, values in split.train.labels.items()
    }
    for side in ("validation", "test"):
        for name, values in getattr(split, side).labels.items():
            unseen = sorted({v for v in values if v is not None} - set(maps[name]))
            if unseen:
                raise DataError(f"{side} has {name} labels never seen in training: {unseen}")
    return maps


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _targets(values: list[str | None], labels: list[str]) -> torch.Tensor:
    index = target_indices(values, labels)
    index[index < 0] = IGNORE
    return torch.tensor(index)


def mean_macro_f1(model, ids, pad_id, split_side, meta: TriageMeta) -> float:
    logits = collect_logits(model, ids, pad_id)
    scores = [
        field_report(logits[f], target_indices(split_side.labels[f], h.labels), h).macro_f1
        for f, h in meta.heads.items()
    ]
    return float(np.mean(scores))


def train_model(
    config: TrainConfig,
    split: Split,
    out_dir: Path,
    on_epoch: Callable[[int, dict], None] | None = None,
) -> TrainResult:
    """Fine-tune, early-stop, calibrate and save to ``out_dir``; returns history and reports."""
    from tqdm.auto import tqdm
    from transformers import AutoTokenizer, get_linear_schedule_with_warmup

    opt = config.optim
    seed_everything(opt.seed)
    torch.set_num_threads(opt.threads)
    maps = label_maps(split)
    encoder_dir = encoder_path(config.encoder)
    tokenizer = AutoTokenizer.from_pretrained(str(encoder_dir))
    model = TriageModel.from_encoder(encoder_dir, maps)
    if opt.freeze_embeddings:
        for p in model.encoder.embeddings.parameters():
            p.requires_grad = False
    meta = TriageMeta(
        heads={f: HeadMeta(labels=v) for f, v in maps.items()},
        max_length=opt.max_length,
        extra={"encoder": config.encoder},
    )
    pad = tokenizer.pad_token_id
    train_ids = batching.encode(tokenizer, split.train.texts, opt.max_length)
    val_ids = batching.encode(tokenizer, split.validation.texts, opt.max_length)
    targets = {f: _targets(split.train.labels[f], maps[f]) for f in maps}
    steps_per_epoch = -(-len(train_ids) // opt.batch_size)
    total = min(opt.epochs * steps_per_epoch, opt.max_steps or 10**9)
    optimiser = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad],
        lr=opt.learning_rate,
        weight_decay=opt.weight_decay,
    )
    schedule = get_linear_schedule_with_warmup(optimiser, int(opt.warmup_ratio * total), total)
    result = TrainResult(folder=out_dir, meta=meta)
    best, best_state, stale, step = -1.0, None, 0, 0
    started = time.perf_counter()
    model.train()
    for epoch in range(1, opt.epochs + 1):
        losses = []
        batches = batching.iterate(
            train_ids, opt.batch_size, pad, shuffle=True, seed=opt.seed + epoch
        )
        for index, batch in tqdm(
            batches, total=steps_per_epoch, desc=f"epoch {epoch}", leave=False, disable=None
        ):
            logits = model(**batch)
            loss = sum(
                torch.nn.functional.cross_entropy(logits[f], targets[f][index], ignore_index=IGNORE)
                for f in maps
                if (targets[f][index] != IGNORE).any()
            )
            optimiser.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimiser.step()
            schedule.step()
            losses.append(float(loss.detach()))
            step += 1
            if step >= total:
                break
        val_f1 = mean_macro_f1(model, val_ids, pad, split.validation, meta)
        row = {"epoch": epoch, "train_loss": float(np.mean(losses)), "val_macro_f1": val_f1}
        result.history.append(row)
        log.info("epoch %d: loss %.4f, validation macro-F1 %.4f", epoch, row["train_loss"], val_f1)
        if on_epoch:
            on_epoch(epoch, row)
        if val_f1 > best:
            best, best_state, stale, result.best_epoch = (
                val_f1,
                copy.deepcopy(model.state_dict()),
                0,
                epoch,
            )
        else:
            stale += 1
        if stale >= opt.patience or step >= total:
            break
    result.steps = step
    model.load_state_dict(best_state)

    def transformer_logits(side: Examples) -> dict[str, np.ndarray]:
        return collect_logits(model, batching.encode(tokenizer, side.texts, opt.max_length), pad)

    logits_of, members = transformer_logits, None
    if config.combine.members:
        members = Members.fit(config.combine.members, split.train, maps, encoder_dir)
        members.choose_weights(
            transformer_logits(split.validation),
            split.validation.texts,
            split.validation.labels,
            maps,
            config.combine.weight_step,
        )
        meta.extra["ensemble"] = {"members": members.names, "weights": members.bundle["weights"]}

        def logits_of(side: Examples) -> dict[str, np.ndarray]:
            return members.combine(transformer_logits(side), side.texts)

    result.train_seconds = time.perf_counter() - started
    finish(result, split, config, logits_of)
    if members is not None and len(split.test):
        result.member_accuracy = members.accuracy_alone(
            transformer_logits(split.test), split.test, maps
        )
    save(out_dir, model, tokenizer, meta)
    if members is not None:
        members.save(out_dir)
    if config.serving.fast_path == "onnx_int8":
        val = split.validation
        finalise = (lambda lg: members.combine(lg, val.texts)) if members else (lambda lg: lg)
        meta.extra["fast_path"] = fastpath.choose(
            out_dir,
            batching.encode(tokenizer, val.texts, opt.max_length),
            pad,
            logits_of(val),
            {f: target_indices(val.labels[f], maps[f]) for f in maps},
            config.serving.max_accuracy_loss,
            finalise,
        )
        (out_dir / META_FILE).write_text(meta.to_json())
    return result


def calibrate(
    logits: dict[str, np.ndarray], side: Examples, meta: TriageMeta, config: TrainConfig
) -> None:
    """Per head: temperature on validation logits, then suggest/auto-apply thresholds; the
    calibrated validation predictions are kept as the drift reference."""
    for name, head in meta.heads.items():
        targets = target_indices(side.labels[name], head.labels)
        keep = targets >= 0
        head.temperature = fit_temperature(logits[name][keep], targets[keep])
        every = softmax(logits[name], head.temperature)
        meta.extra.setdefault("reference", {})[name] = drift.profile(
            [head.labels[i] for i in every.argmax(1)], every.max(1), head.labels
        )
        probs = softmax(logits[name][keep], head.temperature)
        confidence, correct = probs.max(1), probs.argmax(1) == targets[keep]
        head.suggest_threshold = threshold_for_precision(
            confidence, correct, config.calibration.suggest_precision
        )[0]
        head.auto_apply_threshold = threshold_for_precision(
            confidence, correct, config.calibration.auto_apply_precision
        )[0]


def reports(
    logits: dict[str, np.ndarray], side: Examples, meta: TriageMeta
) -> dict[str, FieldReport]:
    return {
        f: field_report(logits[f], target_indices(side.labels[f], h.labels), h)
        for f, h in meta.heads.items()
    }


def finish(
    result: TrainResult,
    split: Split,
    config: TrainConfig,
    logits_of: Callable[[Examples], dict[str, np.ndarray]],
) -> None:
    """Calibrate on validation, then report validation and test (shared by every model kind)."""
    val_logits = logits_of(split.validation)
    calibrate(val_logits, split.validation, result.meta, config)
    result.reports["validation"] = reports(val_logits, split.validation, result.meta)
    if len(split.test):
        result.reports["test"] = reports(logits_of(split.test), split.test, result.meta)
