"""What an ensemble member is: fitted on the training side, it gives per-field log-probabilities.

The protocol is all ``ensemble.Members`` knows about a member; ``members/__init__.py`` maps each
member's ``name`` (the word used in ``combine.members``) to its class.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Protocol, runtime_checkable

import numpy as np

from models.triage.data import Examples

Logits = dict[str, np.ndarray]


@runtime_checkable
class Member(Protocol):
    """One non-transformer member of the calibrated mixture."""

    name: ClassVar[str]  # its key in combine.members and in members.joblib

    @classmethod
    def fit(cls, train: Examples, maps: dict[str, list[str]], encoder_dir: Path) -> Member:
        """Fit on the training side; ``maps`` is the label vocabulary per field (column order of
        ``logits``); ``encoder_dir`` is the base encoder folder, for members that embed texts."""
        ...

    def logits(self, texts: list[str]) -> Logits:
        """Per field, an (n_texts, n_labels) float array of log-probabilities in ``maps`` order."""
        ...

    def save(self, folder: Path) -> object:
        """Write any side files into the model folder; return the picklable state that
        ``members.joblib`` keeps under ``name``."""
        ...

    @classmethod
    def load(cls, state: object, folder: Path) -> Member:
        """The member back from its ``save`` state and the model folder it was saved in."""
        ...
