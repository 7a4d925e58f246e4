"""Offline language detection for tickets that arrive without a language (lingua, no downloads)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

# Languages a support desk in this product's markets writes in; a short list keeps lingua fast
# and accurate. Extend here when a new market opens.
LANGUAGES = ("ENGLISH", "GERMAN", "FRENCH", "SPANISH", "ITALIAN", "PORTUGUESE", "DUTCH")


@lru_cache(maxsize=1)
def _detector():
    from lingua import Language, LanguageDetectorBuilder

    languages = [getattr(Language, name) for name in LANGUAGES]
    return LanguageDetectorBuilder.from_languages(*languages).with_low_accuracy_mode().build()


def detect_languages(texts: Sequence[str]) -> list[str | None]:
    """ISO 639-1 code per text, or None when lingua cannot tell (e.g. only digits)."""
    if not texts:
        return []
    found = _detector().detect_languages_in_parallel_of(list(texts))
    return [lang.iso_code_639_1.name.lower() if lang else None for lang in found]
