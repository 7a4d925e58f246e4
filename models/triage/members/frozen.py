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


AUTO = "auto"
OWN_BASE = "fine-tuned model's base encoder"  # how a model records its own base as the choice
VECTOR_MEMBERS = ("embedding", "knn")  # members that read the frozen encoder's vectors
LANGUAGE_SAMPLE = 2000  # texts whose language is detected to choose; ≈ 0.3 s with lingua


def non_english_share(texts: list[str], sample: int = LANGUAGE_SAMPLE, seed: int = 0) -> float:
    """Share (0-1) of ``texts`` that lingua (the ingest detector) reads as another language than
    English, over a seeded sample of at most ``sample`` texts; texts it cannot tell are left
    out of the count. 0.0 for no texts."""
    import random

    from models.language import detect_languages

    picked = texts if len(texts) <= sample else random.Random(seed).sample(texts, sample)
    found = [lang for lang in detect_languages(picked) if lang]
    return sum(lang != "en" for lang in found) / len(found) if found else 0.0


def choose_frozen_encoder(
    setting: str | None, texts: list[str], own_base: Path | str, multilingual_share: float
) -> tuple[Path | str, dict]:
    """The frozen encoder of the ``embedding``/``knn`` members and the out-of-scope score, and
    what to record of the choice.

    ``setting`` None: ``own_base`` (the fine-tuned model's base encoder); a name: that encoder;
    ``"auto"``: the multilingual encoder (``use:multilingual-v3``) when at least
    ``multilingual_share`` of the training ``texts`` are not English, else ``own_base``.
    Measured on the multilingual ticket set (``make bench-triage-real``, results
    ``triage_multilingual_{use,minilm}.json``): over MiniLM, USE lifts German/Spanish/French
    macro-F1 and keeps English's; on English-only Banking77 MiniLM's member is the stronger."""
    from models.triage.embedding import UseEmbedder

    if setting != AUTO:
        chosen = setting or own_base
        return chosen, {"setting": setting or "base", "encoder": _name(chosen, own_base)}
    share = non_english_share(texts)
    chosen = UseEmbedder.encoder if share >= multilingual_share else own_base
    return chosen, {
        "setting": AUTO,
        "encoder": _name(chosen, own_base),
        "non_english_share": round(share, 4),
        "multilingual_share": multilingual_share,
    }


def _name(chosen: Path | str, own_base: Path | str) -> str:
    """A name safe to record: never a local folder (it may hold a user's path)."""
    return OWN_BASE if chosen == own_base else Path(str(chosen)).name
