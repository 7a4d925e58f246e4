"""Pure promotion gates: offline ones from the training run's metrics, online ones from the dbt
mart ``fct_model_quality`` measured in the previous phase."""

from __future__ import annotations

from dataclasses import dataclass

from supportflow.rollout.config import OfflineGates, OnlineGates


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
