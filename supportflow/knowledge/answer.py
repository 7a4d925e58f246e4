"""Self-service answers: the best passage of an approved article (public and published), with its
citation, or an explicit abstention with the reason. Internal or draft content is never returned;
it only explains an abstention ("internal only").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from supportflow.knowledge.config import AnswerConfig, SearchConfig
from supportflow.knowledge.search import Hit, KnowledgeIndex

NO_ARTICLE = "no approved article"
LOW_CONFIDENCE = "low confidence"
INTERNAL_ONLY = "internal only"


@dataclass(frozen=True)
class Citation:
    article_id: str
    title: str
    url: str | None
    updated_at: datetime | None


@dataclass(frozen=True)
class Answer:
    question: str
    answered: bool
    text: str | None = None
    citation: Citation | None = None
    similarity: float | None = None
    abstain_reason: str | None = None
    threshold: float | None = None  # the min_similarity it was held to (its encoder's)


def answer(
    index: KnowledgeIndex,
    question: str,
    config: AnswerConfig | None = None,
    search: SearchConfig | None = None,
    by_encoder: Mapping[str, AnswerConfig] | None = None,
) -> Answer:
    return answer_many(index, [question], config, search, by_encoder=by_encoder)[0]


def answer_many(
    index: KnowledgeIndex,
    questions: list[str],
    config: AnswerConfig | None = None,
    search: SearchConfig | None = None,
    languages: Sequence[str | None] | None = None,
    by_encoder: Mapping[str, AnswerConfig] | None = None,
) -> list[Answer]:
    """One answer or abstention per question (batched search).

    When the index routes languages to other encoders, each question is searched with its
    language's encoder (``languages``: ISO 639-1 codes, detected when not given)
    and held to that encoder's thresholds (``by_encoder``, from ``config.answer_configs``;
    ``config`` for an encoder it lacks)."""
    config = config or AnswerConfig()
    if len(index.routes()) > 1 and languages is None:
        from supportflow.ingest.language import detect_question_languages

        languages = detect_question_languages(questions)
    options = {"config": search, "languages": languages}
    approved = index.search_many(questions, 1, audience="public", **options)
    anywhere = index.search_many(questions, 1, published_only=False, **options)
    encoders = [index.encoder_for(lang) for lang in languages or [None] * len(questions)]
    return [
        _decide(q, a[0] if a else None, b[0] if b else None, (by_encoder or {}).get(e, config))
        for q, a, b, e in zip(questions, approved, anywhere, encoders, strict=True)
    ]


def _decide(question: str, best: Hit | None, best_any: Hit | None, config: AnswerConfig) -> Answer:
    threshold = config.min_similarity
    about_internal = (
        best is not None
        and best_any is not None
        and best_any.audience != "public"
        and best_any.similarity > best.similarity + config.internal_margin
    )
    if best is not None and best.similarity >= threshold and not about_internal:
        return Answer(
            question,
            True,
            text=best.text,
            citation=Citation(best.article_id, best.title, best.url, best.updated_at),
            similarity=best.similarity,
            threshold=threshold,
        )
    strong_elsewhere = best_any is not None and best_any.similarity >= threshold
    if strong_elsewhere and best_any.audience != "public":
        reason = INTERNAL_ONLY
    elif best is None or (strong_elsewhere and best_any.status != "published"):
        reason = NO_ARTICLE  # nothing approved, or only a draft/archived article matches
    else:
        reason = LOW_CONFIDENCE
    return Answer(
        question,
        False,
        similarity=best.similarity if best else None,
        abstain_reason=reason,
        threshold=threshold,
    )
