"""Offline language detection for tickets that arrive without a language.

Two stages, because lingua alone manages ~8k texts/s here and ingest needs more: a stop-word
vote settles clear cases in microseconds; lingua (offline, no downloads) decides the rest.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

# Languages a support desk in this product's markets writes in; extend when a market opens.
LANGUAGES = ("ENGLISH", "GERMAN", "FRENCH", "SPANISH", "ITALIAN", "PORTUGUESE", "DUTCH")
STOPWORDS = {
    "en": "the and is are was my i you it to of for in on this that with have not can please",
    "de": "der die das und ist nicht ich sie mein meine wir ein eine mit für bitte von zu",
    "fr": "le la les et est pas je vous mon ma nous un une avec pour des du merci",
    "es": "el la los las y es no yo mi mis nosotros un una con para por del gracias",
    "it": "il lo gli e è non io mio mia noi un una con per del grazie sono",
    "pt": "o os as e é não eu meu minha nós um uma com para do obrigado",
    "nl": "de het een en is niet ik mijn wij met voor van bedankt alstublieft",
}
WORD_LANGUAGES: dict[str, list[str]] = {}
for _code, _words in STOPWORDS.items():
    for _word in _words.split():
        WORD_LANGUAGES.setdefault(_word, []).append(_code)
WORD = re.compile(r"[^\W\d_]+")
MIN_VOTES = 3


def vote(text: str) -> str | None:
    """The language whose stop words clearly dominate the first 300 characters, or None."""
    votes: dict[str, int] = {}
    for word in WORD.findall(text[:300].lower()):
        for code in WORD_LANGUAGES.get(word, ()):
            votes[code] = votes.get(code, 0) + 1
    if not votes:
        return None
    ranked = sorted(votes.values(), reverse=True)
    best = max(votes, key=votes.get)
    if ranked[0] >= MIN_VOTES and (len(ranked) == 1 or ranked[0] >= 2 * ranked[1]):
        return best
    return None


@lru_cache(maxsize=1)
def _detector():
    from lingua import Language, LanguageDetectorBuilder

    languages = [getattr(Language, name) for name in LANGUAGES]
    return LanguageDetectorBuilder.from_languages(*languages).with_low_accuracy_mode().build()


def detect_languages(texts: Sequence[str]) -> list[str | None]:
    """ISO 639-1 code per text, or None when neither stage can tell (e.g. only digits)."""
    found = [vote(t) for t in texts]
    unsure = [i for i, code in enumerate(found) if code is None]
    if unsure:
        decided = _detector().detect_languages_in_parallel_of([texts[i][:300] for i in unsure])
        for i, lang in zip(unsure, decided, strict=True):
            found[i] = lang.iso_code_639_1.name.lower() if lang else None
    return found
