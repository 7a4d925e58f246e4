"""The MLflow registry side of rollout: phases are registered-model aliases.

The registry holds who is in which phase now; ``ops.rollout_events`` holds how it got there
(``decisions.py``).
"""

from __future__ import annotations

from pathlib import Path

import mlflow
from mlflow.exceptions import MlflowException

from supportflow.rollout.config import PHASES
from supportflow.rollout.decisions import Decision


class RolloutError(RuntimeError):
    """A promotion or rollback that cannot happen (unknown version, phase, empty history)."""


def client(tracking_uri: str) -> mlflow.MlflowClient:
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    return mlflow.MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


def phase_holders(mlc: mlflow.MlflowClient, model_name: str) -> dict[str, int]:
    """{phase: version} for the phases that have a holder."""
    try:
        aliases = mlc.get_registered_model(model_name).aliases
    except MlflowException as exc:
        raise RolloutError(
            f"no registered model named {model_name!r}; train one first (supportflow train)"
        ) from exc
    return {phase: int(aliases[phase]) for phase in PHASES if phase in aliases}


def deployed(mlc: mlflow.MlflowClient, model_name: str) -> bool:
    """Whether any version of ``model_name`` holds a rollout phase (False if none registered)."""
    try:
        return bool(phase_holders(mlc, model_name))
    except RolloutError:
        return False


def version_phase(holders: dict[str, int], version: int) -> str | None:
    """The most advanced phase a version holds (None when it holds none)."""
    held = [p for p in PHASES if holders.get(p) == version]
    return held[-1] if held else None


def check_exists(mlc: mlflow.MlflowClient, model_name: str, version: int) -> None:
    """Raise ``RolloutError`` when ``version`` is not (or no longer) in the registry, before
    anything about it is recorded."""
    try:
        mlc.get_model_version(model_name, str(version))
    except MlflowException as exc:
        raise RolloutError(
            f"{model_name} v{version} is not in the registry (deleted?); nothing was changed. "
            f"Give the phase to a version that exists: supportflow promote {model_name} "
            "--version N --to <phase>"
        ) from exc


def run_metrics(mlc: mlflow.MlflowClient, model_name: str, version: int) -> tuple[dict, list]:
    """The training run's metrics and the version's label fields."""
    try:
        mv = mlc.get_model_version(model_name, str(version))
    except MlflowException as exc:
        raise RolloutError(f"{model_name} has no version {version}") from exc
    fields = [f for f in mv.tags.get("label_fields", "").split(",") if f]
    metrics = mlc.get_run(mv.run_id).data.metrics if mv.run_id else {}
    return metrics, fields


def tag_decision(mlc: mlflow.MlflowClient, decision: Decision) -> None:
    """Version tags that mirror a promotion: the phase, when, and who forced it and why."""
    version = str(decision.version)
    stamp = decision.decided_at.isoformat()
    mlc.set_model_version_tag(decision.model_name, version, "rollout.phase", decision.to_phase)
    mlc.set_model_version_tag(
        decision.model_name, version, f"rollout.{decision.to_phase}.promoted_at", stamp
    )
    if decision.forced:
        mlc.set_model_version_tag(
            decision.model_name,
            version,
            f"rollout.{decision.to_phase}.forced",
            f"{decision.actor}: {decision.reason}",
        )


def model_folder(mlc: mlflow.MlflowClient, model_name: str, version: int) -> Path:
    """Download (or reuse MLflow's cached copy of) a version's saved model folder."""
    import yaml

    try:
        local = Path(mlflow.artifacts.download_artifacts(f"models:/{model_name}/{version}"))
    except MlflowException as exc:
        raise RolloutError(
            f"{model_name} v{version} cannot be loaded ({exc.message}); was it deleted? "
            f"Move the alias: supportflow promote {model_name} --version N --to <phase>"
        ) from exc
    spec = yaml.safe_load((local / "MLmodel").read_text())
    relative = spec["flavors"]["python_function"]["artifacts"]["model_dir"]["path"]
    return local / relative
