"""The packaged sentence encoder, loaded once per process (offline)."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np

from models.triage.config import encoder_path
from models.triage.embedding import Embedder

MAX_LENGTH = 128  # MiniLM was trained on 128-token inputs; chunks are budgeted below this


@lru_cache(maxsize=2)
def embedder(encoder: str) -> Embedder:
    return Embedder(encoder_path(encoder), max_length=MAX_LENGTH)


def token_counter(encoder: str) -> Callable[[str], int]:
    tokenizer = embedder(encoder).tokenizer
    return lambda text: len(tokenizer(text, add_special_tokens=False)["input_ids"])


def embed(
    encoder: str, texts: list[str], on_progress: Callable[[int, int], None] | None = None
) -> np.ndarray:
    """(n, d) unit vectors, in slices so long work reports progress."""
    model = embedder(encoder)
    out = np.zeros((len(texts), model.dimension), dtype=np.float32)
    step = 1024
    for start in range(0, len(texts), step):
        out[start : start + step] = model.embed(texts[start : start + step])
        if on_progress:
            on_progress(min(start + step, len(texts)), len(texts))
    return out
