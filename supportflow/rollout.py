"""Rollout phases, measured gates, routing decisions and rollback.

Phases are MLflow registry aliases: ``shadow`` (predictions logged only) → ``assist``
(suggestions for agents) → ``auto_route`` (queue/priority applied when confident). A version
earns a phase by passing gates: offline ones from its training run (macro-F1 not below the
current holder's minus a tolerance, calibration error bound) and online ones from the dbt mart
``fct_model_quality`` (agreement with agents' final values in the previous phase, enough tickets,
override rate). Every move, forced or not, is an ``ops.rollout_events`` row and a version tag;
rollback pops the phase's holder history.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from pydantic import Field

from supportflow.yaml_config import StrictModel as Strict
from supportflow.yaml_config import load_yaml_config

PHASES = ("shadow", "assist", "auto_route")
PREVIOUS_PHASE = {"assist": "shadow", "auto_route": "assist"}
DEFAULT_CONFIG = "rollout.yaml"  # in the config home (supportflow/yaml_config.py)


class OfflineGates(Strict):
    macro_f1_tolerance: float = Field(default=0.01, ge=0, le=1)
    max_ece: float = Field(default=0.08, gt=0, le=1)


class OnlineGates(Strict):
    """Measured in the previous phase, per label field, from ``marts.fct_model_quality``."""

    min_tickets: int = Field(default=200, ge=1)
    min_agreement: float = Field(default=0.80, ge=0, le=1)
    max_override_rate: float = Field(default=0.20, ge=0, le=1)


class ScoringConfig(Strict):
    partition_size: int = Field(default=5_000, ge=1)
    drift_psi: float = Field(default=0.25, gt=0, description="PSI above this marks drift.")
    drift_min_tickets: int = Field(default=100, ge=1)
    auto_route_fields: list[str] = Field(default_factory=lambda: ["queue", "priority"])


class RolloutConfig(Strict):
    offline: OfflineGates = Field(default_factory=OfflineGates)
    online: dict[str, OnlineGates] = Field(
        default_factory=lambda: {"assist": OnlineGates(), "auto_route": OnlineGates()}
    )
    scoring: ScoringConfig = Field(default_factory=ScoringConfig)


def load_rollout_config(path: Path | None = None) -> RolloutConfig:
    return load_yaml_config(path, RolloutConfig, "rollout", default=DEFAULT_CONFIG)


# --- routing ------------------------------------------------------------------------------


def routing_action(
    phase: str, field: str, confidence: float, suggest: float, auto_apply: float, auto_fields
) -> str:
    """What a prediction does in a phase: logged · suggest · auto_apply · needs_human."""
    if phase == "shadow":
        return "logged"
    if phase == "auto_route" and field in auto_fields and confidence >= auto_apply:
        return "auto_apply"
    return "suggest" if confidence >= suggest else "needs_human"


# --- gates --------------------------------------------------------------------------------


@dataclass
class Gate:
    name: str
    passed: bool
    detail: str


def offline_gates(
    candidate: dict[str, float],
    holder: dict[str, float] | None,
    fields: list[str],
    config: OfflineGates,
) -> list[Gate]:
    """Macro-F1 per field against the current holder, and the calibration bound, from run
    metrics (``test_<field>_macro_f1``, falling back to validation when there was no test)."""
    gates = []
    for field in fields:
        f1 = _metric(candidate, field, "macro_f1")
        ece = _metric(candidate, field, "ece_after")
        if holder is not None and (held := _metric(holder, field, "macro_f1")) is not None:
            ok = f1 is not None and f1 >= held - config.macro_f1_tolerance
            gates.append(
                Gate(
                    f"{field}.macro_f1",
                    ok,
                    f"{_fmt(f1)} vs holder {held:.4f} − {config.macro_f1_tolerance}",
                )
            )
        gates.append(
            Gate(
                f"{field}.calibration_error",
                ece is not None and ece <= config.max_ece,
                f"ECE {_fmt(ece)} ≤ {config.max_ece}",
            )
        )
    return gates


def online_gates(quality: dict[str, dict], fields: list[str], phase: str, config: OnlineGates):
    """Agreement, sample size and override rate per field, measured in ``phase``."""
    gates = []
    for field in fields:
        row = quality.get(field)
        if row is None:
            gates.append(Gate(f"{field}.{phase}.tickets", False, f"no tickets scored in {phase}"))
            continue
        closed = row["closed_tickets"] or 0
        gates.append(
            Gate(
                f"{field}.{phase}.tickets",
                closed >= config.min_tickets,
                f"{closed} closed tickets ≥ {config.min_tickets}",
            )
        )
        agreement, override = row["agreement"], row["override_rate"]
        gates.append(
            Gate(
                f"{field}.{phase}.agreement",
                agreement is not None and agreement >= config.min_agreement,
                f"agreement {_fmt(agreement)} ≥ {config.min_agreement}",
            )
        )
        gates.append(
            Gate(
                f"{field}.{phase}.override_rate",
                override is None or override <= config.max_override_rate,
                f"override rate {_fmt(override)} ≤ {config.max_override_rate}",
            )
        )
    return gates


def _metric(metrics: dict[str, float], field: str, name: str) -> float | None:
    for side in ("test", "validation"):
        if (value := metrics.get(f"{side}_{field}_{name}")) is not None:
            return float(value)
    return None


def _fmt(value: float | None) -> str:
    return "missing" if value is None else f"{value:.4f}"


def holder_history(events: list[dict], phase: str) -> list[int | None]:
    """Versions that held ``phase``, oldest first, replaying promotions and rollbacks.

    A version promoted onward out of ``phase`` leaves its history: rolling back must not hand
    the phase to a version that now sits in a later one.
    """
    stack: list[int | None] = []
    for event in events:
        if not event["passed"]:
            continue
        if event["action"] == "promote" and event["to_phase"] == phase:
            stack = [v for v in stack if v != event["version"]] + [event["version"]]
        elif event["action"] == "promote" and event["from_phase"] == phase:
            stack = [v for v in stack if v != event["version"]]
        elif event["action"] == "rollback" and event["to_phase"] == phase and stack:
            stack.pop()
    return stack


# --- recording ----------------------------------------------------------------------------


@dataclass
class Decision:
    model_name: str
    version: int | None
    from_phase: str | None
    to_phase: str
    action: str
    gates: list[Gate]
    passed: bool
    forced: bool
    reason: str | None
    actor: str
    previous_version: int | None
    decided_at: datetime

    @property
    def failed_gates(self) -> list[Gate]:
        return [g for g in self.gates if not g.passed]


def record(con, decision: Decision) -> str:
    event_id = uuid.uuid4().hex
    con.execute(
        "INSERT INTO ops.rollout_events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            event_id,
            decision.model_name,
            decision.version,
            decision.from_phase,
            decision.to_phase,
            decision.action,
            json.dumps([asdict(g) for g in decision.gates]),
            decision.passed,
            decision.forced,
            decision.reason,
            decision.actor,
            decision.previous_version,
            decision.decided_at,
        ],
    )
    return event_id


def rollout_events(con, model_name: str) -> list[dict]:
    rows = con.execute(
        "SELECT version, from_phase, to_phase, action, passed FROM ops.rollout_events"
        " WHERE model_name = ? ORDER BY decided_at, event_id",
        [model_name],
    ).fetchall()
    keys = ("version", "from_phase", "to_phase", "action", "passed")
    return [dict(zip(keys, row, strict=True)) for row in rows]


def now() -> datetime:
    return datetime.now(UTC)
