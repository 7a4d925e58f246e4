"""Move a registered model version between rollout phases (MLflow aliases), through gates.

The registry holds who is in which phase now; ``ops.rollout_events`` holds how it got there.
Online quality comes from the dbt mart ``marts.fct_model_quality`` (Python reads metrics back only
from marts), so run ``supportflow build-metrics`` after scoring for fresh figures.
"""

from __future__ import annotations

import getpass
from pathlib import Path

import duckdb
import mlflow
from mlflow.exceptions import MlflowException

from supportflow import rollout
from supportflow.rollout import PHASES, PREVIOUS_PHASE, Decision, RolloutConfig
from supportflow.scoring import Target


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


def run_metrics(mlc: mlflow.MlflowClient, model_name: str, version: int) -> tuple[dict, list]:
    """The training run's metrics and the version's label fields."""
    try:
        mv = mlc.get_model_version(model_name, str(version))
    except MlflowException as exc:
        raise RolloutError(f"{model_name} has no version {version}") from exc
    fields = [f for f in mv.tags.get("label_fields", "").split(",") if f]
    metrics = mlc.get_run(mv.run_id).data.metrics if mv.run_id else {}
    return metrics, fields


def online_quality(con, model_name: str, version: int, phase: str) -> dict[str, dict]:
    """{field: row} from marts.fct_model_quality for one version in one phase."""
    try:
        frame = con.execute(
            "SELECT label_field, closed_tickets, agreement, override_rate"
            " FROM marts.fct_model_quality"
            " WHERE model_name = ? AND model_version = ? AND phase = ?",
            [model_name, version, phase],
        ).fetchall()
    except duckdb.CatalogException:
        return {}  # the mart has not been built yet: online gates fail with "no tickets"
    return {f: {"closed_tickets": n, "agreement": a, "override_rate": o} for f, n, a, o in frame}


def promote_in(settings, model_name: str, version: int, to_phase: str, config_path, **options):
    """``promote`` against the configured warehouse and registry (CLI and flows)."""
    from supportflow.warehouse import connect

    config = rollout.load_rollout_config(config_path)
    with connect(settings) as con:
        return promote(
            con, client(settings.mlflow_tracking_uri), model_name, version, to_phase, config,
            **options,
        )  # fmt: skip


def promote(
    con,
    mlc: mlflow.MlflowClient,
    model_name: str,
    version: int,
    to_phase: str,
    config: RolloutConfig,
    *,
    force: bool = False,
    reason: str | None = None,
    actor: str | None = None,
) -> Decision:
    """Evaluate the gates for ``version`` → ``to_phase``; move the alias if they pass (or
    ``force`` with a reason). The decision is recorded either way."""
    if to_phase not in PHASES:
        raise RolloutError(f"unknown phase {to_phase!r}; phases are {', '.join(PHASES)}")
    if force and not reason:
        raise RolloutError("--force needs --reason: say why the gates are overridden")
    holders = phase_holders(mlc, model_name)
    metrics, fields = run_metrics(mlc, model_name, version)
    if holders.get(to_phase) == version:
        raise RolloutError(f"{model_name} v{version} already holds {to_phase}")
    live = holders.get("auto_route") or holders.get("assist")
    holder_metrics = (
        run_metrics(mlc, model_name, live)[0] if live is not None and live != version else None
    )
    gates = rollout.offline_gates(metrics, holder_metrics, fields, config.offline)
    if to_phase in PREVIOUS_PHASE:
        measured_in = PREVIOUS_PHASE[to_phase]
        quality = online_quality(con, model_name, version, measured_in)
        gates += rollout.online_gates(quality, fields, measured_in, config.online[to_phase])
    passed = all(g.passed for g in gates)
    decision = Decision(
        model_name=model_name,
        version=version,
        from_phase=version_phase(holders, version),
        to_phase=to_phase,
        action="promote",
        gates=gates,
        passed=passed or force,
        forced=force and not passed,
        reason=reason,
        actor=actor or getpass.getuser(),
        previous_version=holders.get(to_phase),
        decided_at=rollout.now(),
    )
    rollout.record(con, decision)
    if decision.passed:
        mlc.set_registered_model_alias(model_name, to_phase, str(version))
        if decision.from_phase and decision.from_phase != to_phase:
            mlc.delete_registered_model_alias(model_name, decision.from_phase)
        _tag(mlc, decision)
    return decision


def rollback(
    con,
    mlc: mlflow.MlflowClient,
    model_name: str,
    phase: str,
    *,
    reason: str | None = None,
    actor: str | None = None,
) -> Decision:
    """Give ``phase`` back to the version that held it before the current one (or to nobody)."""
    if phase not in PHASES:
        raise RolloutError(f"unknown phase {phase!r}; phases are {', '.join(PHASES)}")
    holders = phase_holders(mlc, model_name)
    current = holders.get(phase)
    if current is None:
        raise RolloutError(f"nothing holds {phase} for {model_name}; nothing to roll back")
    history = rollout.holder_history(rollout.rollout_events(con, model_name), phase)
    restored = history[-2] if len(history) >= 2 else None
    decision = Decision(
        model_name=model_name,
        version=restored,
        from_phase=phase,
        to_phase=phase,
        action="rollback",
        gates=[],
        passed=True,
        forced=False,
        reason=reason,
        actor=actor or getpass.getuser(),
        previous_version=current,
        decided_at=rollout.now(),
    )
    rollout.record(con, decision)
    if restored is None:
        mlc.delete_registered_model_alias(model_name, phase)
    else:
        mlc.set_registered_model_alias(model_name, phase, str(restored))
    mlc.set_model_version_tag(
        model_name, str(current), f"rollout.{phase}.rolled_back_at", decision.decided_at.isoformat()
    )
    return decision


def _tag(mlc: mlflow.MlflowClient, decision: Decision) -> None:
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


def scoring_targets(mlc: mlflow.MlflowClient, model_name: str) -> list[Target]:
    """Every version holding a phase, in its most advanced phase; an error when none does."""
    holders = phase_holders(mlc, model_name)
    if not holders:
        raise RolloutError(
            f"no version of {model_name} holds a rollout phase; start one in shadow: "
            f"supportflow promote {model_name} --version N --to shadow"
        )
    versions = sorted(set(holders.values()))
    return [
        Target(model_name, v, version_phase(holders, v), model_folder(mlc, model_name, v))
        for v in versions
    ]
