"""Flow: fine-tune, calibrate, evaluate and register a triage model from an experiment config."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel, Field

from models.triage.config import load_config
from models.triage.pipeline import run_training
from supportflow.progress import step_progress
from supportflow.settings import Settings
from supportflow.training_data import redacted_training_csv


class TrainParams(BaseModel):
    experiment: Path = Field(description="experiments/<name>.yaml")
    data: Path | None = Field(default=None, description="A labelled CSV instead of the warehouse.")
    text_column: str | None = None
    label_columns: list[str] | None = None


@task(cache_policy=NO_CACHE)
def train(params: TrainParams) -> dict:
    data: dict = {}
    if params.data is not None:
        data = {"source": "csv", "csv_path": str(params.data)}
        if params.text_column:
            data["text_column"] = params.text_column
    config = load_config(params.experiment, {"data": data} if data else None)
    if params.label_columns:
        config = config.with_label_fields(params.label_columns)
    settings = Settings()
    with redacted_training_csv(settings, config) as config:
        return run_training(
            config,
            warehouse=settings.warehouse,
            tracking_uri=settings.mlflow_tracking_uri,
            artifact_root=settings.mlflow_artifact_root,
            progress=step_progress,
        )


@flow(name="train-triage-model")
def train_triage_model(params: TrainParams) -> dict:
    """One MLflow run; a new registered version of the model on success."""
    return train(params)
