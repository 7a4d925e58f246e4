"""Sentence embeddings from a frozen encoder: mean pooled over real tokens, L2-normalised.

Used by the triage ensemble (a logistic regression over frozen embeddings is a strong, cheap
member: 93.0 % on Banking77 here) and by knowledge search (cosine = dot product).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from models.triage import batching


class Embedder:
    """Loads a local encoder folder once (offline); ``embed`` returns an (n, d) float32 array."""

    def __init__(self, folder: Path, max_length: int = 128, threads: int = 2):
        from transformers import AutoModel, AutoTokenizer

        torch.set_num_threads(threads)
        self.folder = folder
        self.max_length = max_length
        self.tokenizer = AutoTokenizer.from_pretrained(str(folder))
        self.model = AutoModel.from_pretrained(str(folder)).eval()

    @property
    def dimension(self) -> int:
        return int(self.model.config.hidden_size)

    @torch.no_grad()
    def embed(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        ids = batching.encode(self.tokenizer, [t or "" for t in texts], self.max_length)
        out = np.zeros((len(ids), self.dimension), dtype=np.float32)
        pad = self.tokenizer.pad_token_id
        for index, batch in batching.iterate(ids, batch_size, pad, shuffle=False):
            hidden = self.model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
            out[index] = torch.nn.functional.normalize(pooled, dim=1).numpy()
        return out

    def save(self, folder: Path) -> Path:
        """A copy of the encoder, so a model folder that needs it stays self-contained."""
        self.model.save_pretrained(str(folder))
        self.tokenizer.save_pretrained(str(folder))
        return folder
