"""Cited article suggestions for agents: top-k published articles per new ticket, written to
``ml.article_suggestions`` with the index version that produced them.

"New" means the ticket has no suggestions yet; a ticket whose text is empty gets none. Each
batch is written in one transaction, so a crash leaves whole batches and a re-run resumes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pyarrow as pa

from models.text import read_ticket
from supportflow.knowledge import ticket_vectors
from supportflow.knowledge.config import SearchConfig
from supportflow.knowledge.search import KnowledgeIndex
from supportflow.warehouse import WORKING_SET, transaction

COLUMNS = ("ticket_id", "rank", "article_id", "chunk_id", "score", "similarity", "audience",
           "index_version", "suggested_at")  # fmt: skip
PENDING = f"""t.has_text AND {WORKING_SET} AND NOT EXISTS (
    SELECT 1 FROM ml.article_suggestions s WHERE s.ticket_id = t.ticket_id)"""


def count_pending(con, recent_days: int | None = None) -> int:
    """Tickets that need suggestions: with text, in the working set (``WORKING_SET``), none
    yet."""
    sql = f"SELECT count(*) FROM landing.ticket_texts t WHERE {PENDING}"
    return con.execute(sql, {"recent_days": recent_days}).fetchall()[0][0]


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
    """Suggest articles for every ticket in the working set that has none (open tickets and
    those created within ``config.suggest_recent_days`` of the newest); returns how many tickets
    got them.

    A ticket is searched with the encoder its language is routed to (``index.encoder_for``)."""
    for encoder, languages in index.routes().items():  # no-ops after the nightly run
        ticket_vectors.refresh(
            con, encoder, languages=languages, recent_days=config.suggest_recent_days
        )
    total = count_pending(con, config.suggest_recent_days)
    done = 0
    while True:
        rows = con.execute(
            "SELECT t.ticket_id, t.ticket_text, t.language FROM landing.ticket_texts t"
            f" WHERE {PENDING} ORDER BY t.created_at, t.ticket_id LIMIT $batch",
            {"batch": batch, "recent_days": config.suggest_recent_days},
        ).fetchall()
        rows = [(i, read_ticket(text), language) for i, text, language in rows]
        if not rows:
            return done
        hits = search_tickets(con, index, rows, config.suggest_k, config)
        now = datetime.now(UTC)
        records = [
            [ticket_id, h.rank, h.article_id, h.chunk_id, h.score, h.similarity, h.audience,
             index.version, now]
            for (ticket_id, _, _), found in zip(rows, hits, strict=True)
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


def search_tickets(
    con, index: KnowledgeIndex, rows: list[tuple], k: int, config: SearchConfig, **filters
) -> list[list]:
    """Top-``k`` hits per (ticket_id, text, language) row (``filters``: search_many's
    ``audience`` / ``published_only``), each ticket searched with the encoder its language is
    routed to and the vector ``ticket_vectors`` keeps for it (KeyError when it has none)."""
    groups: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        groups.setdefault(index.encoder_for(row[2]), []).append(i)
    out: list[list] = [[] for _ in rows]
    for encoder, positions in groups.items():
        ids = [rows[i][0] for i in positions]
        found = index.for_encoder(encoder).search_many(
            [rows[i][1] for i in positions],
            k,
            config=config,
            query_vectors=ticket_vectors.load(con, encoder, ids),
            **filters,
        )
        for i, hits in zip(positions, found, strict=True):
            out[i] = hits
    return out
