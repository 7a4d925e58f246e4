"""The packaged sentence encoder, loaded once per process (offline)."""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import numpy as np

from models.triage.config import encoder_path
from models.triage.embedding import Embedder, OnnxEmbedder

MAX_LENGTH = 128  # MiniLM was trained on 128-token inputs; chunks are budgeted below this


ONNX_INT8 = "@onnx-int8"  # encoder suffix: the same encoder run as an int8 ONNX Runtime graph


@lru_cache(maxsize=2)
def embedder(encoder: str) -> Embedder:
    """``packaged:NAME`` or a folder, optionally ending in ``@onnx-int8``. The backend is part of
    the encoder name, so the index version changes with it and vectors are never mixed."""
    if encoder.endswith(ONNX_INT8):
        # shared by every SUPPORTFLOW_HOME on the machine: the graph depends only on the weights
        cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        cache = cache / "supportflow" / "encoders"
        folder = encoder_path(encoder.removesuffix(ONNX_INT8))
        return OnnxEmbedder(folder, cache, max_length=MAX_LENGTH)
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
