"""Flow: the weekly retrain — train → register (one MLflow run, one new version) → shadow.

Shadow is the only phase a new version may enter unattended: it scores beside the live version and
affects nobody. The offline gates still apply; a version that fails them stays registered but out
of shadow, and the decision is recorded. Assist and auto-route stay a human's `supportflow promote`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from prefect import flow, get_run_logger, task
from pydantic import BaseModel, Field

from flows.retry import IO_TASK
from flows.train_triage_model import TrainParams, train_triage_model
from supportflow.rollout.config import load_rollout_config
from supportflow.rollout.decisions import Decision
from supportflow.rollout.promote import promote_in
from supportflow.settings import Settings


class RetrainParams(BaseModel):
    experiment: Path = Field(description="experiments/<name>.yaml")
    rollout_config: Path | None = Field(
        default=None, description="Gates YAML: an overlay on the default rollout.yaml."
    )


@dataclass
class RetrainResult:
    """The training run's summary (``models.triage.pipeline.run_training``) and the recorded
    decision on entering shadow."""

    training: dict
    shadow: Decision


@task(**IO_TASK)
def enter_shadow(model_name: str, version: int, rollout_config: Path | None) -> Decision:
    """Promote to shadow through the offline gates; the decision is recorded either way."""
    decision = promote_in(
        Settings(), model_name, version, "shadow", rollout_config, actor="retrain-weekly"
    )
    if not decision.passed:
        failed = "; ".join(f"{g.name}: {g.detail}" for g in decision.failed_gates)
        get_run_logger().warning(
            "%s v%s stays out of shadow; failed gates: %s", model_name, version, failed
        )
    return decision


@flow(name="retrain-weekly")
def retrain_weekly(params: RetrainParams) -> RetrainResult:
    """Train and register a new version, then put it in shadow if the offline gates pass."""
    load_rollout_config(params.rollout_config)  # a broken gates file fails before training
    info = train_triage_model(TrainParams(experiment=params.experiment))
    shadow = enter_shadow(info["model_name"], info["version"], params.rollout_config)
    return RetrainResult(training=info, shadow=shadow)
