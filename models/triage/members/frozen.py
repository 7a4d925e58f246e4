"""One frozen base encoder per name in a process, shared by the members that embed texts.

The ``embedding`` and ``knn`` members (and the out-of-scope score) read the same vectors; one
instance means one model in memory and, through ``Embedder``'s memo of its latest results, one
encoder pass over the same texts.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from models.triage.embedding import Embedder, PackageEmbedder, load_embedder


@lru_cache(maxsize=4)
def _cached(name: str, changed: int) -> Embedder | PackageEmbedder:
    return load_embedder(name)


def frozen_embedder(encoder: Path | str) -> Embedder | PackageEmbedder:
    """The shared embedder for an encoder folder or name (``load_embedder``'s names); a folder
    is keyed by its resolved path and modification time (a folder written again is reloaded)."""
    name, changed = str(encoder), 0
    if Path(name).exists():
        name, changed = str(Path(name).resolve()), Path(name).stat().st_mtime_ns
    return _cached(name, changed)
