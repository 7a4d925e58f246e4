"""Flow: the weekly retrain — train → register (one MLflow run, one new version) → shadow.

Shadow is the only phase a new version may enter unattended: it scores beside the live version and
affects nobody. The offline gates still apply; a version that fails them stays registered but out
of shadow, and the decision is recorded. Assist and auto-route stay a human's `supportflow promote`.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel, Field

from flows.train_triage_model import TrainParams, train
from supportflow import promote as rollout_ops
from supportflow.rollout import load_rollout_config
from supportflow.settings import Settings


class RetrainParams(BaseModel):
    experiment: Path = Field(description="experiments/<name>.yaml")
    rollout_config: Path | None = Field(
        default=None, description="Gates YAML: an overlay on the default rollout.yaml."
    )


@task(cache_policy=NO_CACHE)
def enter_shadow(model_name: str, version: int, rollout_config: Path | None) -> dict:
    """Promote to shadow through the offline gates; the decision is recorded either way."""
    decision = rollout_ops.promote_in(
        Settings(), model_name, version, "shadow", rollout_config, actor="retrain-weekly"
    )
    failed = [f"{g.name}: {g.detail}" for g in decision.gates if not g.passed]
    if failed:
        get_run_logger().warning(
            "%s v%s stays out of shadow; failed gates: %s", model_name, version, "; ".join(failed)
        )
    return {"passed": decision.passed, "failed_gates": failed}


@flow(name="retrain-weekly")
def retrain_weekly(params: RetrainParams) -> dict:
    """Train and register a new version, then put it in shadow if the offline gates pass."""
    load_rollout_config(params.rollout_config)  # a broken gates file fails before training
    info = train(TrainParams(experiment=params.experiment))
    shadow = enter_shadow(info["model_name"], info["version"], params.rollout_config)
    return {**info, "shadow": shadow}
