"""The languages a support desk in this product's markets writes in, and lingua's offline
detector for them (low-accuracy mode: fast, and right on ticket-length texts). Shared by ingest
(``supportflow/ingest/language.py``) and the triage model's choice of frozen encoder."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

# Languages a support desk in this product's markets writes in; extend when a market opens.
LANGUAGES = ("ENGLISH", "GERMAN", "FRENCH", "SPANISH", "ITALIAN", "PORTUGUESE", "DUTCH")


@lru_cache(maxsize=1)
def _detector():
    from lingua import Language, LanguageDetectorBuilder

    languages = [getattr(Language, name) for name in LANGUAGES]
    return LanguageDetectorBuilder.from_languages(*languages).with_low_accuracy_mode().build()


def detect_languages(texts: Sequence[str]) -> list[str | None]:
    """ISO 639-1 code per text from lingua, or None when it cannot tell (e.g. only digits)."""
    if not texts:
        return []
    found = _detector().detect_languages_in_parallel_of([t[:300] for t in texts])
    return [lang.iso_code_639_1.name.lower() if lang else None for lang in found]
