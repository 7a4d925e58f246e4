"""Cited article suggestions for agents: top-k published articles per new ticket, written to
``ml.article_suggestions`` with the index version that produced them.

"New" means the ticket has no suggestions yet; a ticket whose text is empty gets none. Each
batch is written in one transaction, so a crash leaves whole batches and a re-run resumes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pyarrow as pa

from supportflow.knowledge import ticket_vectors
from supportflow.knowledge.config import SearchConfig
from supportflow.knowledge.search import KnowledgeIndex
from supportflow.warehouse import transaction

COLUMNS = ("ticket_id", "rank", "article_id", "chunk_id", "score", "similarity", "audience",
           "index_version", "suggested_at")  # fmt: skip
PENDING = """t.has_text AND NOT EXISTS (
    SELECT 1 FROM ml.article_suggestions s WHERE s.ticket_id = t.ticket_id)"""


def count_pending(con) -> int:
    return con.execute(f"SELECT count(*) FROM landing.ticket_texts t WHERE {PENDING}").fetchall()[
        0
    ][0]


# Suggestions that cite an article no longer as it was: deleted from the index, no longer
# published, or moved between audiences since (``audience`` is stored with the suggestion).
RETRACTED = """
    SELECT DISTINCT s.ticket_id FROM ml.article_suggestions s
    LEFT JOIN landing.kb_articles a USING (article_id)
    WHERE a.article_id IS NULL OR a.status <> 'published' OR a.audience <> s.audience"""


def drop_retracted(con) -> int:
    """Delete every suggestion of the tickets that have one citing a retracted article, so the
    next pass suggests for them afresh from the index as it is; returns how many tickets."""
    with transaction(con):
        tickets = con.execute(f"SELECT count(*) FROM ({RETRACTED})").fetchone()[0]
        if tickets:
            con.execute(f"DELETE FROM ml.article_suggestions WHERE ticket_id IN ({RETRACTED})")
    return tickets


def suggest_new_tickets(
    con,
    index: KnowledgeIndex,
    config: SearchConfig,
    batch: int = 2000,
    on_progress: Callable[[int, int], None] | None = None,
) -> int:
    """Suggest articles for every ticket that has none; returns how many tickets got them."""
    ticket_vectors.refresh(con, index.encoder)  # a no-op when the nightly run embedded them
    total = count_pending(con)
    done = 0
    while True:
        rows = con.execute(
            f"SELECT t.ticket_id, t.ticket_text FROM landing.ticket_texts t WHERE {PENDING}"
            " ORDER BY t.created_at, t.ticket_id LIMIT ?",
            [batch],
        ).fetchall()
        if not rows:
            return done
        vectors = ticket_vectors.load(con, index.encoder, [r[0] for r in rows])
        hits = index.search_many(
            [r[1] for r in rows], config.suggest_k, config=config, query_vectors=vectors
        )
        now = datetime.now(UTC)
        records = [
            [ticket_id, h.rank, h.article_id, h.chunk_id, h.score, h.similarity, h.audience,
             index.version, now]
            for (ticket_id, _), found in zip(rows, hits, strict=True)
            for h in found
        ]  # fmt: skip
        if not records:  # nothing published to suggest: stop rather than loop on the same rows
            return done
        with transaction(con):
            table = pa.Table.from_pylist([dict(zip(COLUMNS, r, strict=True)) for r in records])
            con.register("new_suggestions", table)
            con.execute("INSERT INTO ml.article_suggestions SELECT * FROM new_suggestions")
            con.unregister("new_suggestions")
        done += len(rows)
        if on_progress:
            on_progress(done, total)
