"""Training stage 1: fine-tune the encoder with one head per label field and early-stop on
validation macro-F1 (Made-With-ML's train_step / eval_step / train_loop_per_worker)."""

from __future__ import annotations

import copy
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from models import device as devices
from models.triage import batching
from models.triage.config import OptimConfig, TrainConfig, encoder_path
from models.triage.data import DataError, Examples, Split
from models.triage.evaluate import collect_logits, field_report, target_indices
from models.triage.modeling import HeadMeta, TriageMeta, TriageModel

log = logging.getLogger("supportflow.train")
IGNORE = -100
Logits = dict[str, np.ndarray]


@dataclass
class FittedModel:
    """The fine-tuned transformer (the best epoch's weights) and what later stages read."""

    model: TriageModel
    tokenizer: Any
    meta: TriageMeta  # labels per head; calibration and later stages fill in the rest
    encoder_dir: Path  # the base encoder it started from (the embedding member reuses it)
    history: list[dict[str, float]] = field(default_factory=list)  # one row per epoch
    best_epoch: int = 0
    steps: int = 0  # optimiser steps taken
    started: float = 0.0  # time.perf_counter() when the training loop began
    frozen_encoder: Path | str | None = None  # the members' frozen encoder, once chosen
    device: str = "cpu"  # where the epochs ran (models/device.py); the result is on the CPU

    @property
    def maps(self) -> dict[str, list[str]]:
        """Label vocabulary per field, in head (logit column) order."""
        return {f: h.labels for f, h in self.meta.heads.items()}

    @property
    def pad_id(self) -> int:
        """The tokenizer's padding token id."""
        return self.tokenizer.pad_token_id

    def encode(self, texts: list[str]) -> list[list[int]]:
        """Token ids per text, truncated to ``meta.max_length``."""
        return batching.encode(self.tokenizer, texts, self.meta.max_length)

    def logits(self, side: Examples) -> Logits:
        """The transformer's fp32 logits per field, (len(side), labels) each."""
        return collect_logits(self.model, self.encode(side.texts), self.pad_id)


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
    """Seed Python's, NumPy's and torch's generators (shuffling, dropout, head init)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def mean_macro_f1(
    model: TriageModel, ids: list[list[int]], pad_id: int, side: Examples, meta: TriageMeta
) -> float:
    """Macro-F1 averaged over the heads, on encoded ``ids`` of ``side`` (0–1)."""
    logits = collect_logits(model, ids, pad_id)
    scores = [
        field_report(logits[f], target_indices(side.labels[f], h.labels), h).macro_f1
        for f, h in meta.heads.items()
    ]
    return float(np.mean(scores))


def fine_tune(
    config: TrainConfig,
    split: Split,
    on_epoch: Callable[[int, dict], None] | None = None,
    on_step: Callable[[int, int], None] | None = None,
) -> FittedModel:
    """Fine-tune on ``split.train``, evaluate macro-F1 on validation after each epoch, stop after
    ``optim.patience`` epochs without gain (or ``max_steps``), and keep the best epoch's weights.

    ``on_epoch(epoch, row)`` gets each history row (epoch, train_loss, val_macro_f1);
    ``on_step(steps done, steps planned)`` follows the optimiser steps.
    The epochs run on ``optim.device`` (``models/device.py``: a GPU under bf16 autocast when
    present); the returned model is on the CPU either way, for calibration, members and export.
    Raises DataError for validation/test labels unseen in training, FileNotFoundError for a
    missing encoder folder, DeviceError for a GPU asked for but absent.
    """
    opt = config.optim
    fitted = _prepare(config, split)
    train_ids = fitted.encode(split.train.texts)
    val_ids = fitted.encode(split.validation.texts)
    targets = {f: _targets(split.train.labels[f], labels) for f, labels in fitted.maps.items()}
    steps_per_epoch = -(-len(train_ids) // opt.batch_size)
    total = min(opt.epochs * steps_per_epoch, opt.max_steps or 10**9)
    optimiser, schedule = _optimiser(fitted.model, opt, total)
    stop = _EarlyStopping(opt.patience)
    fitted.started = time.perf_counter()
    fitted.model.train()
    for epoch in range(1, opt.epochs + 1):
        loss = _train_epoch(
            fitted, train_ids, targets, (optimiser, schedule, opt), epoch, total, on_step
        )
        val_f1 = mean_macro_f1(fitted.model, val_ids, fitted.pad_id, split.validation, fitted.meta)
        row = {"epoch": epoch, "train_loss": loss, "val_macro_f1": val_f1}
        fitted.history.append(row)
        log.info(
            "epoch %d of %d: loss %.4f, validation macro-F1 %.4f, %.0f s",
            epoch, opt.epochs, loss, val_f1, time.perf_counter() - fitted.started,
        )  # fmt: skip
        if on_epoch:
            on_epoch(epoch, row)
        if stop.update(val_f1, epoch, fitted.model) or fitted.steps >= total:
            break
    fitted.best_epoch = stop.best_epoch
    fitted.model.load_state_dict(stop.best_state)
    fitted.model.to("cpu")
    return fitted


def _prepare(config: TrainConfig, split: Split) -> FittedModel:
    """Seeded model with fresh heads, its tokenizer and label metadata (before any step)."""
    from transformers import AutoTokenizer

    opt = config.optim
    where = devices.resolve(opt.device)  # before any work: a missing GPU fails in one line
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
        text_view=config.data.text_view,
    )
    if devices.is_gpu(where):
        log.info("fine-tuning on %s (bf16 autocast)", torch.cuda.get_device_name(where))
    model.to(where)
    return FittedModel(
        model=model, tokenizer=tokenizer, meta=meta, encoder_dir=encoder_dir, device=str(where)
    )


def _targets(values: list[str | None], labels: list[str]) -> torch.Tensor:
    index = target_indices(values, labels)
    index[index < 0] = IGNORE
    return torch.tensor(index)


def _optimiser(model: TriageModel, opt: OptimConfig, total: int) -> tuple[Any, Any]:
    """AdamW on the trainable parameters with linear warm-up then decay over ``total`` steps."""
    from transformers import get_linear_schedule_with_warmup

    optimiser = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad],
        lr=opt.learning_rate,
        weight_decay=opt.weight_decay,
    )
    schedule = get_linear_schedule_with_warmup(optimiser, int(opt.warmup_ratio * total), total)
    return optimiser, schedule


def _train_epoch(
    fitted: FittedModel,
    train_ids: list[list[int]],
    targets: dict[str, torch.Tensor],
    optimisation: tuple[Any, Any, OptimConfig],
    epoch: int,
    total: int,
    on_step: Callable[[int, int], None] | None = None,
) -> float:
    """One shuffled pass (or until ``total`` steps) minimising the summed per-head
    cross-entropy, unlabelled rows ignored. Counts ``fitted.steps``; returns the mean batch loss."""
    from tqdm.auto import tqdm

    optimiser, schedule, opt = optimisation
    model, losses = fitted.model, []
    where = next(model.parameters()).device
    targets = {f: t.to(where) for f, t in targets.items()}
    batches = batching.iterate(
        train_ids, opt.batch_size, fitted.pad_id, shuffle=True, seed=opt.seed + epoch
    )
    n_batches = -(-len(train_ids) // opt.batch_size)
    for index, batch in tqdm(
        batches, total=n_batches, desc=f"epoch {epoch}", leave=False, disable=None
    ):
        with devices.autocast(where):
            logits = model(**devices.to_device(batch, where))
        loss = sum(
            torch.nn.functional.cross_entropy(
                logits[f].float(), targets[f][index], ignore_index=IGNORE
            )
            for f in targets
            if (targets[f][index] != IGNORE).any()
        )
        optimiser.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        schedule.step()
        losses.append(float(loss.detach()))
        fitted.steps += 1
        if on_step is not None:
            on_step(fitted.steps, total)
        if fitted.steps >= total:
            break
    return float(np.mean(losses))


@dataclass
class _EarlyStopping:
    """Keeps the best validation score's weights; counts epochs without a gain."""

    patience: int
    best: float = -1.0
    best_state: dict | None = None
    best_epoch: int = 0
    stale: int = 0

    def update(self, score: float, epoch: int, model: torch.nn.Module) -> bool:
        """Record an epoch's score; True once ``patience`` epochs in a row brought no gain."""
        if score > self.best:
            self.best, self.best_epoch, self.stale = score, epoch, 0
            self.best_state = copy.deepcopy(model.state_dict())
        else:
            self.stale += 1
        return self.stale >= self.patience
