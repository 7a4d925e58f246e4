"""MLflow: log a training run, register the model as a new version, load it back by alias.

The model is logged as a pyfunc that carries the saved folder as an artifact, so loading
``models:/triage-classifier/<version>`` (or ``@alias``) needs no network and no code beyond this
package. Stages are deprecated in MLflow 3: rollout phases are aliases (issue: rollout).
"""

from __future__ import annotations

import json
import logging
import re
import subprocess
import tempfile
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import mlflow
import pandas as pd

from models.triage.config import TrainConfig
from models.triage.evaluate import confusion_png
from models.triage.train import TrainResult

PIP_REQUIREMENTS = [
    "torch==2.13.0",
    "transformers>=5,<6",
    "numpy",
    "pandas",
    "scikit-learn",
    "joblib",
]


class TriagePyfunc(mlflow.pyfunc.PythonModel):
    """pyfunc wrapper: DataFrame with a ``text`` column → one row of predictions per text."""

    def load_context(self, context) -> None:
        from models.triage.predict import Predictor

        self.predictor = Predictor(Path(context.artifacts["model_dir"]))

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        from models.triage.predict import as_rows

        texts = model_input["text"].fillna("").astype(str).tolist()
        return pd.DataFrame(as_rows(texts, self.predictor.predict(texts)))


def git_commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def flat_params(config: TrainConfig) -> dict[str, str]:
    """The config as MLflow params (``section.key`` → text). ``data.csv_path`` is the file's
    name only: training reads a redacted temporary copy, and a user's folder names (a home
    directory) are not the run's business; the data fingerprint tag identifies the content."""
    out = {"kind": config.kind, "encoder": config.encoder, "model_name": config.model_name}
    for section in ("data", "optim", "calibration", "combine", "serving"):
        for key, value in getattr(config, section).model_dump().items():
            out[f"{section}.{key}"] = str(value)
    if config.data.csv_path is not None:
        out["data.csv_path"] = Path(config.data.csv_path).name
    return out


def start_run(
    config: TrainConfig,
    *,
    fingerprint: str,
    split_sizes: dict[str, int],
    tracking_uri: str,
    artifact_root: Path,
):
    """Open the MLflow run (experiment = config name) with params and tags logged.

    Use as a context manager around training: an exception inside marks the run FAILED and
    nothing is registered.
    """
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    if mlflow.get_experiment_by_name(config.name) is None:
        mlflow.create_experiment(
            config.name, artifact_location=(artifact_root / config.name).resolve().as_uri()
        )
    mlflow.set_experiment(config.name)
    run = mlflow.start_run()
    mlflow.log_params(flat_params(config))
    mlflow.log_params({f"n_{k}": v for k, v in split_sizes.items()})
    mlflow.set_tags(
        {
            "data_fingerprint": fingerprint,
            "git_commit": git_commit(),
            "label_fields": ",".join(config.data.label_fields),
        }
    )
    return run


def keep_partial(step: str, salvage: Callable[[], Path | None] | None) -> bool:
    """Inside a failing run: tag ``failed_step`` and log what ``salvage`` saves (the model as
    far as training got) under ``partial_model/``. Returns whether anything was kept; a failure
    while salvaging is logged, never raised over the original error."""
    mlflow.set_tag("failed_step", step)
    if salvage is None:
        return False
    try:
        folder = salvage()
        if folder is None or not Path(folder).exists():
            return False
        mlflow.log_artifacts(str(folder), "partial_model")
        return True
    except Exception:  # the original failure is what the user must see
        logging.getLogger("supportflow.train").exception("could not keep the partial model")
        return False


def log_epoch(epoch: int, row: dict[str, float]) -> None:
    mlflow.log_metrics({k: v for k, v in row.items() if k != "epoch"}, step=epoch)


def log_and_register(config: TrainConfig, result: TrainResult, *, fingerprint: str) -> dict:
    """Inside the active run: final metrics, artifacts, the model, and a new registry version."""
    run = mlflow.active_run()
    with tempfile.TemporaryDirectory() as tmp:
        mlflow.log_metrics(
            {
                "train_seconds": result.train_seconds,
                "best_epoch": result.best_epoch,
                "steps": result.steps,
            }
        )
        if result.detector is not None:
            mlflow.log_metrics(result.detector.metrics())
        mlflow.set_tag("train_device", result.device)  # train_seconds depend on it
        frozen = result.meta.extra.get("frozen_encoder")
        if frozen:  # which encoder "auto" chose for the members, and why
            mlflow.set_tags({f"frozen_encoder_{k}": v for k, v in frozen.items()})
        for member, fields in result.member_accuracy.items():
            mlflow.log_metrics({f"test_{f}_accuracy_{member}_alone": v for f, v in fields.items()})
        for side, fields in result.reports.items():
            for name, report in fields.items():
                mlflow.log_metrics(report.metrics(f"{side}_{name}"))
                labels = result.meta.heads[name].labels
                png = confusion_png(
                    report, labels, f"{name} ({side})", Path(tmp) / f"confusion_{side}_{name}.png"
                )
                mlflow.log_artifact(str(png), "evaluation")
                mlflow.log_dict(report.per_class, f"evaluation/per_class_{side}_{name}.json")
    thresholds = {
        f: {
            "temperature": h.temperature,
            "suggest": h.suggest_threshold,
            "auto_apply": h.auto_apply_threshold,
        }
        for f, h in result.meta.heads.items()
    }
    mlflow.log_dict({f: h.labels for f, h in result.meta.heads.items()}, "label_maps.json")
    mlflow.log_dict(thresholds, "thresholds.json")
    example = pd.DataFrame({"text": ["I was charged twice for my subscription this month"]})
    signature = mlflow.models.infer_signature(example, _example_output(result, example))
    with _quiet_pyfunc():
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=TriagePyfunc(),
            artifacts={"model_dir": str(result.folder)},
            signature=signature,
            input_example=example,
            pip_requirements=PIP_REQUIREMENTS,
            registered_model_name=config.model_name,
        )
    version = info.registered_model_version
    client = mlflow.MlflowClient()
    for key, value in (
        ("label_fields", ",".join(result.meta.heads)),
        ("thresholds", json.dumps(thresholds)),
        ("data_fingerprint", fingerprint),
        ("kind", config.kind),
    ):
        client.set_model_version_tag(config.model_name, version, key, value)
    return {
        "run_id": run.info.run_id,
        "experiment": config.name,
        "model_name": config.model_name,
        "version": int(version),
        "model_uri": f"models:/{config.model_name}/{version}",
    }


def _example_output(result: TrainResult, example: pd.DataFrame) -> pd.DataFrame:
    from models.triage.predict import Predictor, as_rows

    texts = example["text"].tolist()
    return pd.DataFrame(as_rows(texts, Predictor(result.folder).predict(texts)))


def load_model(uri: str, tracking_uri: str):
    """A pyfunc model from ``models:/name/<version>`` or ``models:/name@alias``."""
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    return mlflow.pyfunc.load_model(uri)


class _PyfuncNotes(logging.Filter):
    """Drops MLflow's notes on logging this model: its INFO lines ("Validating input example
    against model signature") and the warning that a Python object as ``python_model`` is
    saved with CloudPickle. The object is ``TriagePyfunc``, a class of this package that loads
    the model folder from the artifacts; nothing of the user's is pickled. Other warnings and
    errors pass."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR:
            return True
        return record.levelno >= logging.WARNING and "CloudPickle" not in str(record.msg)


@contextmanager
def _quiet_pyfunc():
    """``_PyfuncNotes`` on MLflow's pyfunc and models loggers for the duration, and MLflow's
    registration notes ("Successfully registered model …", "Registered model … already
    exists…", "Created version …") dropped: MLflow prints them to stderr with ``print``
    (``mlflow.utils.logging_utils.eprint``), past any logger filter, and the training summary
    names the version instead. MLflow's logged warnings and errors still show."""
    from mlflow.utils import logging_utils

    loggers = [logging.getLogger(n) for n in ("mlflow.pyfunc", "mlflow.models")]
    notes = _PyfuncNotes()
    for logger in loggers:
        logger.addFilter(notes)
    original = logging_utils.MLFLOW_LOGGING_STREAM  # eprint looks it up on each call
    logging_utils.MLFLOW_LOGGING_STREAM = _WithoutRegistrationNotes(original)
    try:
        yield
    finally:
        logging_utils.MLFLOW_LOGGING_STREAM = original
        for logger in loggers:
            logger.removeFilter(notes)


class _WithoutRegistrationNotes:
    """A stream that passes everything to ``stream`` but MLflow's registration notes."""

    NOTES = re.compile(r"Successfully registered model|Registered model .* already exists|"
                       r"Created version '")  # fmt: skip

    def __init__(self, stream):
        self.stream = stream
        self.dropped = False  # ``print`` writes the line, then its "\n" on its own

    def write(self, text: str) -> None:
        if self.NOTES.search(text):
            self.dropped = True
            return
        if not (self.dropped and text == "\n"):
            self.stream.write(text)
        self.dropped = False

    def flush(self) -> None:
        self.stream.flush()
