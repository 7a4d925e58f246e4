"""Ticket embeddings, computed once per ticket text and encoder and kept in ``ml.ticket_vectors``.

Article suggestions, the coverage-gap audit and agent assist (related tickets, incidents) all
read them, so the nightly run embeds each new ticket once per encoder, not once per consumer,
and only for the tickets that encoder's readers use (``knowledge.runner.vector_plan``: the
transformer for the working set, the static incident encoder for every ticket). A ticket whose
subject or body changes is re-embedded; status changes are not text changes. A ticket emptied
or deleted in the help desk loses its vectors (``prune``): a vector never outlives its text.

A ticket is embedded as its subject and newest message (``models.text.read_ticket``: quoted
replies and signatures out), as a query (e5's ``query: `` prefix, knowledge/encoder.py): it is what
search asks with, and ticket-to-ticket similarity (related tickets, incidents) compares
queries with queries, as e5 is meant to be used for symmetric tasks.

With language routing (``index.language_encoders``) a ticket in a routed language has two
vectors: the index encoder's, which every ticket has (assist and the audit compare tickets with
one another in that space), and its language's encoder's, which its suggestions search with.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa

from models.text import read_ticket
from supportflow.knowledge import encoder as enc
from supportflow.knowledge.config import IndexConfig
from supportflow.warehouse import WORKING_SET, prune_without_text, transaction

# (encoder, texts, on_progress, kind) → (n, d) float32 unit vectors, as ``encoder.embed``
Embed = Callable[..., np.ndarray]

# The text a vector is of: the ticket's text as ``models.text.read_ticket`` reads it (the
# prefix names that reading, so changing it re-embeds every ticket once).
TEXT_HASH = "md5('read_ticket-2' || chr(10) || t.ticket_text)"
STALE = f"""t.has_text AND NOT EXISTS (
    SELECT 1 FROM ml.ticket_vectors v WHERE v.ticket_id = t.ticket_id
    AND v.encoder = $encoder AND v.text_hash = {TEXT_HASH})"""


ONLY = f"""($ids IS NULL OR list_contains($ids, t.ticket_id))
    AND ($languages IS NULL OR list_contains($languages, t.language)) AND {WORKING_SET}"""


def count_stale(
    con,
    encoder: str,
    ticket_ids: list[str] | None = None,
    languages: list[str] | None = None,
    recent_days: int | None = None,
) -> int:
    """Tickets with text (only ``ticket_ids``, in ``languages``, in the working set of
    ``recent_days``: ``warehouse.WORKING_SET``) without a vector of ``encoder`` for their text."""
    sql = f"SELECT count(*) FROM landing.ticket_texts t WHERE {STALE} AND {ONLY}"
    params = {"encoder": encoder, "ids": ticket_ids, "languages": languages,
              "recent_days": recent_days}  # fmt: skip
    return con.execute(sql, params).fetchall()[0][0]


# (encoder, languages or None for all, recent_days or None for every ticket): whose vectors
Plan = list[tuple[str, list[str] | None, int | None]]


def routed_plan(config: IndexConfig, recent_days: int | None = None) -> Plan:
    """The index encoder (assist and the audit compare tickets in its space) and each encoder a
    language is routed to (the tickets in those languages, for their suggestions), over the
    working set of ``recent_days`` (None: every ticket)."""
    plan: Plan = [(config.encoder, None, recent_days)]
    return plan + [(e, config.languages_of(e), recent_days) for e in config.routed_encoders]


def refresh_routed(
    con,
    config: IndexConfig,
    on_progress: Callable[[int, int], None] | None = None,
    ticket_ids: list[str] | None = None,
    embed: Embed | None = None,
    plan: Plan | None = None,
) -> int:
    """``refresh`` for each (encoder, languages, recent_days) of ``plan`` (default
    ``routed_plan(config)``: every ticket), with one progress count over all of them; returns
    how many vectors were computed."""
    plan = plan if plan is not None else routed_plan(config)
    total = sum(count_stale(con, e, ticket_ids, langs, days) for e, langs, days in plan)
    done = 0
    for encoder, languages, days in plan:
        before = done

        def step(n: int, _: int, before: int = before) -> None:
            if on_progress:
                on_progress(before + n, total)

        done += refresh(con, encoder, on_progress=step, ticket_ids=ticket_ids,
                        languages=languages, embed=embed, recent_days=days)  # fmt: skip
    return done


def refresh(
    con,
    encoder: str,
    batch: int = 4096,
    on_progress: Callable[[int, int], None] | None = None,
    ticket_ids: list[str] | None = None,
    languages: list[str] | None = None,
    embed: Embed | None = None,
    recent_days: int | None = None,
) -> int:
    """Embed every ticket with text that has no vector for this encoder and text (or only
    ``ticket_ids``, only tickets in ``languages``, only the working set of ``recent_days``:
    ``warehouse.WORKING_SET``, None for every ticket); returns how many. Each batch commits on
    its own, so a crash keeps whole batches and a re-run resumes. The stale tickets are read in
    one pass (not once per batch: at 1M tickets that query was half the time). ``embed``
    computes a batch's vectors (default ``encoder.embed`` in this process; a flow passes one
    that maps the batch onto Dask workers): this function only reads and writes. The vectors of
    tickets without text any more are dropped first (``prune``)."""
    embed = embed or enc.embed
    prune(con, encoder)
    total = count_stale(con, encoder, ticket_ids, languages, recent_days)
    if total == 0:
        return 0
    params = {"encoder": encoder, "ids": ticket_ids, "languages": languages,
              "recent_days": recent_days}  # fmt: skip
    reader = con.cursor()  # its own connection: one pass streams the stale rows, ``con`` writes
    try:
        result = reader.execute(
            f"""SELECT t.ticket_id, {TEXT_HASH}, t.ticket_text,
                       EXISTS (SELECT 1 FROM ml.ticket_vectors v WHERE v.ticket_id = t.ticket_id
                               AND v.encoder = $encoder) AS replaces
                FROM landing.ticket_texts t WHERE {STALE} AND {ONLY} ORDER BY t.ticket_id""",
            params,
        )
        done = 0
        while rows := result.fetchmany(batch):
            within = None if on_progress is None else (
                lambda n, _, done=done: on_progress(done + n, total))  # fmt: skip
            vectors = embed(  # progress within the batch too: a batch is minutes on 2 cores
                encoder, [read_ticket(r[2]) for r in rows], on_progress=within, kind="query"
            )
            _write(con, encoder, rows, vectors)
            done += len(rows)
    finally:
        reader.close()
    return done


def prune(con, encoder: str) -> int:
    """Delete ``encoder``'s vectors of tickets without text (a ticket emptied or deleted since it
    was embedded); returns how many. ``refresh`` calls it first, so no reader sees a vector of a
    text that is gone."""
    return prune_without_text(con, "ml.ticket_vectors", "encoder = $encoder", {"encoder": encoder})


def _write(con, encoder: str, rows: list[tuple], vectors: np.ndarray) -> None:
    """One batch's vectors in one transaction, replacing those of older texts (``rows``:
    ticket_id, text_hash, text, replaces)."""
    table = pa.table(
        {
            "ticket_id": [r[0] for r in rows],
            "encoder": [encoder] * len(rows),
            "text_hash": [r[1] for r in rows],
            "embedding": pa.FixedSizeListArray.from_arrays(
                pa.array(vectors.ravel(), pa.float32()), vectors.shape[1]
            ).cast(pa.list_(pa.float32())),
            "embedded_at": [datetime.now(UTC)] * len(rows),
        }
    )
    replaced = [r[0] for r in rows if r[3]]  # edited tickets; new ones need no DELETE scan
    with transaction(con):
        if replaced:
            con.execute(
                "DELETE FROM ml.ticket_vectors WHERE encoder = $encoder"
                " AND list_contains($ids, ticket_id)",
                {"encoder": encoder, "ids": replaced},
            )
        con.register("new_vectors", table)
        con.execute("INSERT INTO ml.ticket_vectors SELECT * FROM new_vectors")
        con.unregister("new_vectors")


def load(con, encoder: str, ticket_ids: Sequence[str]) -> np.ndarray:
    """(n, d) vectors in the order of ``ticket_ids``; a ticket without one raises KeyError."""
    if not ticket_ids:
        return np.zeros((0, 0), dtype=np.float32)
    con.register("wanted", pa.table({"ticket_id": list(ticket_ids)}))
    try:
        found = con.sql(
            "SELECT v.ticket_id, v.embedding FROM ml.ticket_vectors v"
            " JOIN wanted USING (ticket_id) WHERE v.encoder = $encoder",
            params={"encoder": encoder},
        ).to_arrow_table()
    finally:
        con.unregister("wanted")
    position = {t: i for i, t in enumerate(found.column("ticket_id").to_pylist())}
    missing = [t for t in ticket_ids if t not in position]
    if missing:
        raise KeyError(f"{len(missing)} ticket(s) have no {encoder} vector, e.g. {missing[0]}")
    flat = found.column("embedding").combine_chunks().flatten().to_numpy()
    matrix = flat.reshape(len(position), -1).astype(np.float32, copy=False)
    return matrix[[position[t] for t in ticket_ids]]
