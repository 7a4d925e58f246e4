"""What scoring runs with: every version holding a phase, in its most advanced phase."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import mlflow

from supportflow.rollout.registry import RolloutError, model_folder, phase_holders, version_phase


@dataclass(frozen=True)
class Target:
    """One version to score with, in the phase it holds."""

    model_name: str
    version: int
    phase: str
    folder: Path  # the saved model folder (downloaded from MLflow)

    @property
    def decided_by(self) -> str:
        return f"model:{self.model_name}/{self.version}"


def nothing_deployed(model_name: str) -> str:
    """The one-line explanation when no version of ``model_name`` holds a phase."""
    return (
        f"no version of {model_name} holds a rollout phase; start one in shadow: "
        f"supportflow promote {model_name} --version N --to shadow"
    )


def scoring_targets(mlc: mlflow.MlflowClient, model_name: str) -> list[Target]:
    """Every version holding a phase, in its most advanced phase; an error when none does."""
    holders = phase_holders(mlc, model_name)
    if not holders:
        raise RolloutError(nothing_deployed(model_name))
    versions = sorted(set(holders.values()))
    return [
        Target(model_name, v, version_phase(holders, v), model_folder(mlc, model_name, v))
        for v in versions
    ]
