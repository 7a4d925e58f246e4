"""Offline language detection for tickets that arrive without a language.

The languages and lingua's ticket detector are ``models/language.py``'s (the triage model
reads them too); this module adds the SQL stop-word vote and the question detector.

Two stages, because lingua alone manages ~8k texts/s here and ingest needs more: a stop-word
vote in SQL settles the clear cases; lingua (offline, no downloads) decides the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from models.language import LANGUAGES

STOPWORDS = {
    "en": "the and is are was my i you it to of for in on this that with have not can please",
    "de": "der die das und ist nicht ich sie mein meine wir ein eine mit für bitte von zu",
    "fr": "le la les et est pas je vous mon ma nous un une avec pour des du merci",
    "es": "el la los las y es no yo mi mis nosotros un una con para por del gracias",
    "it": "il lo gli e è non io mio mia noi un una con per del grazie sono",
    "pt": "o os as e é não eu meu minha nós um uma com para do obrigado",
    "nl": "de het een en is niet ik mijn wij met voor van bedankt alstublieft",
}
MIN_VOTES = 3


def vote_sql(text: str) -> str:
    """SQL: the language whose stop words clearly lead in the first 300 characters, else NULL.

    Vectorised in DuckDB because it settles ~90 % of texts; lingua decides the rest.
    """
    words = f"regexp_extract_all(lower(left({text}, 300)), '\\p{{L}}+')"
    counts = ", ".join(
        f"{{'n': len(list_filter(w, lambda x: list_contains({sorted(set(v.split()))}, x))), "
        f"'code': '{code}'}}"
        for code, v in STOPWORDS.items()
    )
    return f"""(SELECT CASE WHEN r[1].n >= {MIN_VOTES} AND r[1].n >= 2 * r[2].n THEN r[1].code END
                FROM (SELECT list_reverse_sort([{counts}]) AS r
                      FROM (SELECT {words} AS w)))"""


QUESTION_MIN_CONFIDENCE = 0.5  # below it a question is "undetected" and stays on the index encoder


@lru_cache(maxsize=1)
def _accurate_detector():
    from lingua import Language, LanguageDetectorBuilder

    languages = [getattr(Language, name) for name in LANGUAGES]
    return LanguageDetectorBuilder.from_languages(*languages).build()


def detect_question_languages(
    texts: Sequence[str], min_confidence: float = QUESTION_MIN_CONFIDENCE
) -> list[str | None]:
    """ISO 639-1 code per short text (a customer's question), or None below ``min_confidence``.

    Lingua's high-accuracy mode (≈ 2 s to load once): its low-accuracy mode, fine for tickets,
    calls "The reset password link expired, how do I log in?" Italian (0.86); high accuracy
    says English (0.72) and still leaves a two-word query such as "export csv" undecided."""
    out: list[str | None] = []
    for text in texts:
        best = _accurate_detector().compute_language_confidence_values(text[:300])
        top = best[0] if best else None
        ok = top is not None and top.value >= min_confidence
        out.append(top.language.iso_code_639_1.name.lower() if ok else None)
    return out
