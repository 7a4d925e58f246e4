"""Training from a team's own CSV without fitting personal data into the model.

The warehouse path is redacted at ingest; a CSV given to ``supportflow train --data`` (or named by
an experiment's ``data.csv_path``) is not, so it is copied redacted first and the model trains on
the copy — the TF-IDF vocabulary, the tokenizer's inputs and every logged artifact then hold
placeholders (``[EMAIL]``, ``[PHONE]``…) instead of the values.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from models.triage.config import TrainConfig
from supportflow.ingest.redact import redact_csv
from supportflow.settings import Settings


@contextmanager
def redacted_training_csv(settings: Settings, config: TrainConfig) -> Iterator[TrainConfig]:
    """``config`` with its CSV replaced by a redacted copy under ``<home>/tmp`` (removed on
    exit); a warehouse config is returned as it is. Raises ``FileNotFoundError`` when the CSV
    does not exist."""
    if config.data.source != "csv" or config.data.csv_path is None:
        yield config
        return
    source = Path(config.data.csv_path)
    if not source.is_file():
        raise FileNotFoundError(f"training data {source} does not exist")
    folder = settings.home.resolve() / "tmp"
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        copy = Path(tmp) / source.name
        redact_csv(source, copy)
        data = config.data.model_copy(update={"csv_path": copy})
        yield config.model_copy(update={"data": data})
