"""Rollout settings: the measured gates per phase and the scoring knobs (``rollout.yaml``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from supportflow.yaml_config import StrictModel as Strict
from supportflow.yaml_config import load_yaml_config

PHASES = ("shadow", "assist", "auto_route")
PREVIOUS_PHASE = {"assist": "shadow", "auto_route": "assist"}  # where a phase is measured
DEFAULT_CONFIG = "rollout.yaml"  # in the config home (supportflow/yaml_config.py)


class OfflineGates(Strict):
    macro_f1_tolerance: float = Field(default=0.01, ge=0, le=1)
    max_ece: float = Field(default=0.08, gt=0, le=1)


class OnlineGates(Strict):
    """Measured in the previous phase, per label field, from ``marts.fct_model_quality``."""

    min_tickets: int = Field(default=200, ge=1)
    min_agreement: float = Field(default=0.80, ge=0, le=1)
    max_override_rate: float = Field(default=0.20, ge=0, le=1)


class AutoRouteGates(OnlineGates):
    """Entering auto_route (measured while in assist) asks more: changes are applied unseen."""

    min_tickets: int = Field(default=500, ge=1)
    min_agreement: float = Field(default=0.85, ge=0, le=1)
    max_override_rate: float = Field(default=0.10, ge=0, le=1)


class ScoringConfig(Strict):
    partition_size: int = Field(default=5_000, ge=1)
    drift_psi: float = Field(default=0.25, gt=0, description="PSI above this marks drift.")
    drift_min_tickets: int = Field(default=100, ge=1)
    auto_route_fields: list[str] = Field(default_factory=lambda: ["queue", "priority"])


class OnlineByPhase(Strict):
    """The online gates for entering each phase that has a previous one (``PREVIOUS_PHASE``);
    a misspelt phase is an error, like any other key."""

    assist: OnlineGates = Field(default_factory=OnlineGates)
    auto_route: AutoRouteGates = Field(default_factory=AutoRouteGates)

    def for_phase(self, phase: str) -> OnlineGates:
        """The gates for entering ``phase`` (one of ``PREVIOUS_PHASE``)."""
        return getattr(self, phase)


class RolloutConfig(Strict):
    """``rollout.yaml``; the defaults here equal the packaged file (a unit test pins them)."""

    offline: OfflineGates = Field(default_factory=OfflineGates)
    online: OnlineByPhase = Field(default_factory=OnlineByPhase)
    scoring: ScoringConfig = Field(default_factory=ScoringConfig)


def load_rollout_config(path: Path | None = None) -> RolloutConfig:
    return load_yaml_config(path, RolloutConfig, "rollout", default=DEFAULT_CONFIG)
