"""The lexical member: the baseline's TF-IDF features and a logistic regression per field."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import ClassVar

from models.triage.data import Examples
from models.triage.members.base import Logits
from models.triage.tfidf import baseline_logits, fit_tfidf

log = logging.getLogger("supportflow.train")


class TfidfMember:
    """State: the ``fit_tfidf`` bundle (vectoriser + a model per field); no side files."""

    name: ClassVar[str] = "tfidf"

    def __init__(self, bundle: dict):
        self.bundle = bundle

    @classmethod
    def fit(cls, train: Examples, maps: dict[str, list[str]], encoder_dir: Path) -> TfidfMember:
        """TF-IDF over the training texts, one regression per field (``encoder_dir`` unused)."""
        log.info("ensemble: fitting the TF-IDF member")
        return cls(fit_tfidf(train, maps))

    def logits(self, texts: list[str]) -> Logits:
        """Per field (n, labels) log-probabilities."""
        return baseline_logits(self.bundle, texts)

    def save(self, folder: Path) -> dict:
        """The bundle itself (pickled into members.joblib)."""
        return self.bundle

    @classmethod
    def load(cls, state: object, folder: Path) -> TfidfMember:
        """From the bundle saved in members.joblib."""
        assert isinstance(state, dict)
        return cls(state)
