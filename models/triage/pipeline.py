"""Train end to end: load → gate → split → fine-tune → calibrate → evaluate → log → register."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from pathlib import Path

import mlflow

from models.text import model_texts
from models.triage import registry
from models.triage.baseline import train_baseline
from models.triage.behaviour import behaviour_metrics
from models.triage.config import TrainConfig
from models.triage.data import Split, check_minimum, fingerprint, load_examples, split
from models.triage.predict import Predictor
from models.triage.steps import Progress, Steps, TrainingError
from models.triage.train import TrainResult, train_model

log = logging.getLogger("supportflow.train")


def run_training(
    config: TrainConfig,
    *,
    warehouse: Path | None,
    tracking_uri: str,
    artifact_root: Path,
    progress: Callable[[str], Progress] | None = None,
) -> dict:
    """Returns the registered version and the per-field validation/test metrics. Each step
    logs its start and seconds; ``progress`` (``supportflow.progress.step_progress``) adds
    counts within the fine-tune.

    Data problems raise ``DataError`` before any MLflow run exists. A failure during training
    raises ``TrainingError`` naming the step; it leaves a FAILED run (tag ``failed_step``) that
    keeps the model as far as it got under ``partial_model/``, and registers nothing.
    """
    examples = load_examples(config.data, warehouse)
    check_minimum(examples, config.data.min_examples, config.data.minimum_per_class())
    parts = split(
        examples,
        config.data.validation_fraction,
        config.data.test_fraction,
        config.data.seed,
        group_texts=model_texts(examples.texts, config.data.text_view),  # what the model reads
    )
    sizes = {
        "train": len(parts.train),
        "validation": len(parts.validation),
        "test": len(parts.test),
    }
    log.info(
        "training on %s examples (validation %s, test %s)",
        sizes["train"],
        sizes["validation"],
        sizes["test"],
    )
    data_fingerprint = fingerprint(examples)
    steps = Steps(progress)
    with (
        registry.start_run(
            config,
            fingerprint=data_fingerprint,
            split_sizes=sizes,
            tracking_uri=tracking_uri,
            artifact_root=artifact_root,
        ) as run,
        tempfile.TemporaryDirectory() as tmp,
    ):
        try:
            if config.kind == "tfidf":
                with steps("train baseline"):
                    result = train_baseline(config, parts, Path(tmp) / "model")
                steps.salvage = lambda: result.folder
            else:
                result = train_model(
                    config, parts, Path(tmp) / "model", on_epoch=registry.log_epoch, steps=steps
                )
            with steps("behaviour checks"):
                behaviour = check_behaviour(result, parts)
                mlflow.log_metrics(behaviour)
            with steps("log and register"):
                info = registry.log_and_register(config, result, fingerprint=data_fingerprint)
        except Exception as exc:
            kept = registry.keep_partial(steps.current, steps.salvage)
            log.error("training failed at step %r; run %s", steps.current, run.info.run_id)
            raise TrainingError(steps.current, run.info.run_id, exc, kept) from exc
    info["sizes"] = sizes
    info["behaviour"] = behaviour
    info["metrics"] = {
        side: {f: r.metrics(side) for f, r in fields.items()}
        for side, fields in result.reports.items()
    }
    info["train_seconds"] = round(result.train_seconds, 1)
    info["unknown"] = result.meta.extra.get("unknown", {})
    info["classes"] = {f: len(h.labels) for f, h in result.meta.heads.items()}
    return info


def check_behaviour(result: TrainResult, parts: Split, sample: int = 200) -> dict[str, float]:
    """Behavioural metrics (behaviour.py) on up to ``sample`` held-out texts (test, else
    validation) with the saved model's labels (no out-of-scope pass: the checks compare labels
    only); checks that do not fit the label set are left out."""
    side = parts.test if len(parts.test) else parts.validation
    predictor = Predictor(result.folder)
    fields = {f: h.labels for f, h in result.meta.heads.items()}
    seen: dict[tuple[str, ...], list] = {}

    def labels(texts: list[str]) -> list:
        # the checks read labels only: no out-of-scope pass, and each unperturbed list (the
        # same texts for every check) is predicted once
        key = tuple(texts)
        if key not in seen:
            seen[key] = predictor.predict(texts, out_of_scope=False)
        return seen[key]

    return behaviour_metrics(labels, side.texts[:sample], fields)


def last_run_status(experiment: str, tracking_uri: str) -> str | None:
    """Status of the newest run of an experiment (for tests and the CLI)."""
    mlflow.set_tracking_uri(tracking_uri)
    runs = mlflow.search_runs(
        experiment_names=[experiment], order_by=["start_time DESC"], max_results=1
    )
    return None if runs.empty else str(runs.iloc[0]["status"])
