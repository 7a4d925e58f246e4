"""A shared transformer encoder with one linear head per label field.

Saved as a plain folder — ``encoder/`` (Hugging Face weights + tokenizer), ``heads.pt`` and
``triage.json`` (label maps, temperatures, thresholds, max length) — so it loads offline anywhere
and MLflow only has to carry the folder.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn

from models.text import TextView, model_texts

META_FILE = "triage.json"


@dataclass
class HeadMeta:
    """What a field's head needs at prediction time."""

    labels: list[str]
    temperature: float = 1.0
    suggest_threshold: float = 1.01  # above 1: never confident enough (not calibrated yet)
    auto_apply_threshold: float = 1.01


@dataclass
class TriageMeta:
    heads: dict[str, HeadMeta]
    max_length: int = 64
    extra: dict = field(default_factory=dict)
    # what the model reads of a text (models/text.py); older models read it whole
    text_view: TextView = "whole"

    def model_texts(self, texts: list[str]) -> list[str]:
        """``texts`` as this model reads them (its ``text_view``; the tokenizer then keeps the
        first ``max_length`` tokens)."""
        return model_texts(texts, self.text_view)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> TriageMeta:
        raw = json.loads(text)
        heads = {k: HeadMeta(**v) for k, v in raw["heads"].items()}
        return cls(
            heads=heads,
            max_length=raw["max_length"],
            extra=raw.get("extra", {}),
            text_view=raw.get("text_view", "whole"),
        )


class TriageModel(nn.Module):
    """Encoder → mean pooling → dropout → one linear head per field (logits per field)."""

    def __init__(self, encoder: nn.Module, label_maps: dict[str, list[str]], dropout: float = 0.1):
        super().__init__()
        self.encoder = encoder
        hidden = encoder.config.hidden_size
        self.dropout = nn.Dropout(dropout)
        self.heads = nn.ModuleDict(
            {f: nn.Linear(hidden, len(labels)) for f, labels in label_maps.items()}
        )

    @classmethod
    def from_encoder(cls, encoder_dir: Path, label_maps: dict[str, list[str]]) -> TriageModel:
        from transformers import AutoModel

        return cls(AutoModel.from_pretrained(str(encoder_dir)), label_maps)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> dict:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        pooled = self.dropout(pooled)
        return {name: head(pooled) for name, head in self.heads.items()}


def save(folder: Path, model: TriageModel, tokenizer, meta: TriageMeta) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    model.encoder.save_pretrained(str(folder / "encoder"))
    tokenizer.save_pretrained(str(folder / "encoder"))
    torch.save(model.heads.state_dict(), folder / "heads.pt")
    (folder / META_FILE).write_text(meta.to_json())
    return folder


def load(folder: Path) -> tuple[TriageModel, object, TriageMeta]:
    """Model (eval mode), tokenizer and metadata from a saved folder; no network."""
    from transformers import AutoModel, AutoTokenizer

    meta = TriageMeta.from_json((folder / META_FILE).read_text())
    encoder = AutoModel.from_pretrained(str(folder / "encoder"))
    model = TriageModel(encoder, {k: h.labels for k, h in meta.heads.items()})
    model.heads.load_state_dict(torch.load(folder / "heads.pt", weights_only=True))
    model.eval()
    tokenizer = AutoTokenizer.from_pretrained(str(folder / "encoder"))
    return model, tokenizer, meta
