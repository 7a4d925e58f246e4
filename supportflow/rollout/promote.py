"""Move a registered model version between rollout phases through gates, or roll one back.

Online quality comes from the dbt mart ``marts.fct_model_quality`` (Python reads metrics back only
from marts), so run ``supportflow build-metrics`` after scoring for fresh figures.
"""

from __future__ import annotations

import getpass

import duckdb
import mlflow

from supportflow.rollout.config import PHASES, PREVIOUS_PHASE, RolloutConfig, load_rollout_config
from supportflow.rollout.decisions import Decision, holder_history, now, record, rollout_events
from supportflow.rollout.gates import offline_gates, online_gates
from supportflow.rollout.registry import (
    RolloutError,
    check_exists,
    client,
    phase_holders,
    run_metrics,
    tag_decision,
    version_phase,
)


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

    config = load_rollout_config(config_path)
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
    gates = offline_gates(metrics, holder_metrics, fields, config.offline)
    if to_phase in PREVIOUS_PHASE:
        measured_in = PREVIOUS_PHASE[to_phase]
        quality = online_quality(con, model_name, version, measured_in)
        gates += online_gates(quality, fields, measured_in, config.online.for_phase(to_phase))
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
        decided_at=now(),
    )
    record(con, decision)
    if decision.passed:
        mlc.set_registered_model_alias(model_name, to_phase, str(version))
        if decision.from_phase and decision.from_phase != to_phase:
            mlc.delete_registered_model_alias(model_name, decision.from_phase)
        tag_decision(mlc, decision)
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
    history = holder_history(rollout_events(con, model_name), phase)
    restored = history[-2] if len(history) >= 2 else None
    if restored is not None:
        check_exists(mlc, model_name, restored)  # before anything is recorded
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
        decided_at=now(),
    )
    record(con, decision)
    if restored is None:
        mlc.delete_registered_model_alias(model_name, phase)
    else:
        mlc.set_registered_model_alias(model_name, phase, str(restored))
    mlc.set_model_version_tag(
        model_name, str(current), f"rollout.{phase}.rolled_back_at", decision.decided_at.isoformat()
    )
    return decision
