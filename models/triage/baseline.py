"""The champion to beat: TF-IDF (word 1–2 + char 2–5 grams) + logistic regression per field.

It goes through the same split, calibration, evaluation and registry as the transformer, so every
run has a comparable baseline (91.3 % on Banking77 here, STACK_NOTES).
"""

from __future__ import annotations

import time
from pathlib import Path

import joblib
import numpy as np

from models.triage.config import TrainConfig
from models.triage.data import Split
from models.triage.finetune import label_maps
from models.triage.modeling import META_FILE, HeadMeta, TriageMeta
from models.triage.tfidf import baseline_logits, fit_tfidf
from models.triage.train import TrainResult, finish

BASELINE_FILE = "baseline.joblib"


def train_baseline(config: TrainConfig, split: Split, out_dir: Path) -> TrainResult:
    started = time.perf_counter()
    maps = label_maps(split)
    bundle = fit_tfidf(split.train, maps)
    meta = TriageMeta(
        heads={f: HeadMeta(labels=v) for f, v in maps.items()},
        max_length=0,
        extra={"kind": "tfidf"},
        text_view=config.data.text_view,
    )
    split = split.viewed(meta.model_texts)
    result = TrainResult(folder=out_dir, meta=meta, best_epoch=1, steps=1)
    finish(result, split, config, lambda side: baseline_logits(bundle, side.texts))
    result.train_seconds = time.perf_counter() - started
    result.history.append(
        {
            "epoch": 1,
            "train_loss": 0.0,
            "val_macro_f1": float(
                np.mean([r.macro_f1 for r in result.reports["validation"].values()])
            ),
        }
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    joblib.dump(bundle, out_dir / BASELINE_FILE)
    (out_dir / META_FILE).write_text(meta.to_json())
    return result


def load_baseline(folder: Path) -> tuple[dict, TriageMeta]:
    return joblib.load(folder / BASELINE_FILE), TriageMeta.from_json(
        (folder / META_FILE).read_text()
    )
