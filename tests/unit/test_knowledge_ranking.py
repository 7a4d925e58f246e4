"""Ranking in a real-looking help center: long guides beside short articles.

tests/data/help_center/long_guides is plain Markdown without front matter: two long guides
(an administrator handbook, an integrations guide) whose answers sit deep inside long sections,
beside short articles whose titles share the questions' words ("Is the server down?",
"Deleting a card"). A question paraphrasing a passage deep in a guide must find the guide, and
the short article must not win on its title words. With the ranking before passage-neighbour
context, heading weight and the second-passage bonus (``OLD``), the server question went to
"Is the server down?".
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from supportflow.knowledge import encoder as enc
from supportflow.knowledge.config import KnowledgeConfig, SearchConfig
from supportflow.knowledge.index import reindex
from supportflow.knowledge.search import KnowledgeIndex, _Neighbours
from supportflow.warehouse import apply_migrations, open_warehouse

GUIDES = Path(__file__).resolve().parents[1] / "data" / "help_center" / "long_guides"
OLD = SearchConfig(heading_weight=0, neighbour_weight=0, passage_bonus=0)
QUESTIONS = [  # (question, the guide that answers it, a short article it must beat)
    ("If our server is down, do you retry sending the events?",
     "integrations-guide", "server-status"),
    ("Our endpoint was offline during a deploy; will the events we missed be sent again later?",
     "integrations-guide", "server-status"),
    ("Do webhook calls get retried when my server returns an error?",
     "integrations-guide", "server-status"),
    ("Someone removed a card by mistake last week, can it be restored?",
     "admin-handbook", "deleting-a-card"),
    ("How long can an admin still get back a board somebody threw away before it is gone for "
     "good?", "admin-handbook", "deleting-a-card"),
]  # fmt: skip


@pytest.fixture(scope="module")
def index(tmp_path_factory) -> KnowledgeIndex:
    config = KnowledgeConfig()
    con = open_warehouse(tmp_path_factory.mktemp("ranking") / "warehouse.duckdb")
    apply_migrations(con)
    summary = reindex(con, GUIDES, config.index)
    assert (summary.articles_new, summary.articles_rejected) == (6, 0)
    index = KnowledgeIndex.load(con, config.index.encoder)
    con.close()
    return index


@pytest.mark.parametrize(("question", "guide", "short"), QUESTIONS)
def test_a_question_deep_in_a_long_guide_finds_the_guide_not_a_short_title_match(
    index, question, guide, short
):
    hits = index.search(question, 5, config=KnowledgeConfig().search)
    ranked = [h.article_id for h in hits]
    assert guide in ranked[:3], ranked
    assert short not in ranked or ranked.index(guide) < ranked.index(short), ranked
    best = hits[ranked.index(guide)]
    assert index.rows["heading"][index.rows["chunk_id"].index(best.chunk_id)]  # a deep section


def test_the_old_ranking_gave_the_server_question_to_the_short_article(index):
    """What the change fixed (kept so that a regression to it is seen): without neighbour
    context, heading weight and bonus, "Is the server down?" won on its title words."""
    question, guide, short = QUESTIONS[0]
    assert index.search(question, 5, config=OLD)[0].article_id == short
    assert index.search(question, 5, config=KnowledgeConfig().search)[0].article_id == guide


def test_similarity_is_the_passage_own_cosine_whatever_the_context(index):
    """Answer thresholds read ``similarity``: it stays the cosine of the passage itself."""
    question = QUESTIONS[0][0]
    query = enc.embed(index.encoder, [question])[0]
    for hit in index.search(question, 5):
        row = index.rows["chunk_id"].index(hit.chunk_id)
        assert hit.similarity == pytest.approx(float(index.vectors[row] @ query), abs=1e-5)


def test_neighbours_follow_ordinals_within_one_heading():
    rows = {  # chunk ids sort as strings (a#10 before a#2); neighbours follow the ordinal
        "chunk_id": ["a#0", "a#1", "a#10", "a#2", "b#0"],
        "article_id": ["a", "a", "a", "a", "b"],
        "heading": ["", "Setup", "Setup", "Setup", "Setup"],
        "ordinal": [0, 1, 10, 2, 0],
    }
    vectors = np.random.default_rng(0).standard_normal((5, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    near = _Neighbours(rows, vectors)
    assert near.prev.tolist() == [-1, -1, 3, 1, -1]
    assert near.next.tolist() == [-1, 3, -1, 2, -1]
    # the context cosine is the cosine with the blended, renormalised vector
    weight, query = 0.6, vectors[1] + vectors[4]
    blended = vectors.copy()
    for i, around in ((1, [3]), (3, [1, 2]), (2, [3])):
        blended[i] = vectors[i] + weight * vectors[around].mean(axis=0)
    blended /= np.linalg.norm(blended, axis=1, keepdims=True)
    expected = blended @ query
    assert np.allclose(near.cosines((vectors @ query)[None, :], weight)[0], expected, atol=1e-5)
    plain = lambda i: float(vectors[i] @ query)  # noqa: E731
    assert [near.one(i, plain, weight) for i in range(5)] == pytest.approx(expected, abs=1e-5)
    assert near.cosines((vectors @ query)[None, :], 0)[0] == pytest.approx(vectors @ query)


def test_an_index_without_neighbours_searches_with_context_on():
    """One passage per article (no neighbours anywhere): the context setting changes nothing."""
    n = 6
    rows = {c: [None] * n for c in KnowledgeIndex.COLUMNS}
    rows |= {
        "chunk_id": [f"a{i}#0" for i in range(n)],
        "article_id": [f"a{i}" for i in range(n)],
        "title": [f"Article {i}" for i in range(n)],
        "audience": ["public"] * n,
        "status": ["published"] * n,
        "text": [f"Article {i}\nrefund invoice number {i}" for i in range(n)],
        "heading": [""] * n,
        "ordinal": [0] * n,
    }
    vectors = np.random.default_rng(1).standard_normal((n, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = KnowledgeIndex(rows, vectors, "none", "test")
    query = vectors[2:3] + 0.1
    on = index.search_many(["refund 2"], 3, query_vectors=query)[0]
    off = index.search_many(["refund 2"], 3, query_vectors=query, config=OLD)[0]
    assert [h.article_id for h in on] == [h.article_id for h in off]
    assert on[0].article_id == "a2"
