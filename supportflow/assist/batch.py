"""Agent assist for many tickets at once: what the nightly run computes and agents' tools read
from ``ml.assist_outputs`` (summary, draft + citations + guardrail findings, missing fields,
duplicates, related open tickets) and ``ml.incidents`` / ``ml.ticket_incidents``.

A ticket is (re)assisted when it has no output, its row is older than its last update, or the
assist version changed (config, macros, help-center index or encoder). A re-run on the same
input writes nothing. Tickets without text are reported by id, not assisted.

Each batch is read in the caller's process (context, best passage, related tickets: DuckDB has
one connection per file), computed by ``assist_items`` — pure, so chunks of a batch can run on
Dask workers (``Compute``) — and written back in order by the caller.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from models.text import read_ticket
from supportflow.assist import store
from supportflow.assist.config import AssistConfig, incident_encoder
from supportflow.assist.drafts import Draft, compose, passage_body
from supportflow.assist.generator import Generator, GeneratorError
from supportflow.assist.guardrails import check_reply, internal_grams
from supportflow.assist.macros import MacroLibrary
from supportflow.assist.missing_info import missing_fields, request_line
from supportflow.assist.related import (
    Related,
    burst_rows,
    day_of,
    find_incidents,
    keep_incident_ids,
    reached_days,
    related_tickets,
)
from supportflow.assist.summary import summarise
from supportflow.knowledge import ticket_vectors
from supportflow.knowledge.config import KnowledgeConfig
from supportflow.knowledge.index import current_index_version
from supportflow.knowledge.search import KnowledgeIndex
from supportflow.knowledge.suggest import search_tickets
from supportflow.warehouse import WORKING_SET, prune_without_text

log = logging.getLogger("supportflow.assist")


@dataclass(frozen=True)
class Shared:
    """What assisting any ticket needs beside the ticket's own inputs (sent to each worker)."""

    config: AssistConfig
    library: MacroLibrary
    internal: frozenset  # the internal-only passages' word runs (guardrails.internal_grams)
    generator_key: str | None = None


# (ticket id, its context from store.load_context, the best public passage at or above the
# answer threshold or None, its duplicates and related open tickets or None)
Item = tuple[str, dict, object, "Related | None"]
# per chunk: its rows in order, the drafts that fell back from the generator, its first error
Computed = tuple[list[dict], int, str | None]
# (chunks of a batch's items, shared) → each chunk's ``Computed``, in order
Compute = Callable[[list[list[Item]], Shared], list[Computed]]


def compute_in_process(chunks: list[list[Item]], shared: Shared) -> list[Computed]:
    """``Compute`` in this process."""
    return [assist_items(chunk, shared) for chunk in chunks]


@dataclass
class AssistResult:
    assist_version: str
    assisted: int = 0
    needs_rewrite: int = 0
    no_text: list[str] = field(default_factory=list)
    incidents: int = 0
    incident_tickets: int = 0
    generator_fallbacks: int = 0
    qa_samples: dict[str, int] = field(default_factory=dict)  # QA samples added, per kind
    # drafts re-assisted because an article they cited was retracted (internal, unpublished, gone)
    retracted_citations: int = 0
    # outputs removed because their ticket has no text any more (deleted in the help desk)
    deleted: int = 0


def assist_version(config: AssistConfig, library: MacroLibrary, index_version: str) -> str:
    """Names what assist outputs come from: the config (less who gets them), the macros and the
    knowledge index version; a change re-assists the working set."""
    payload = json.dumps(
        [
            config.model_dump(mode="json", exclude={"recent_days"}),  # who, not what: no re-run
            [m.__dict__ for m in library.macros],
            index_version,
        ],
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


# Stored drafts citing an article customers may no longer see: deleted from the index, not
# published, or not public (a draft is customer-facing text).
RETRACTED_CITATIONS = """
    SELECT a.ticket_id FROM ml.assist_outputs a,
        unnest(CAST(json_extract_string(a.citations, '$[*].article_id') AS VARCHAR[])) c(article_id)
    WHERE c.article_id NOT IN (SELECT article_id FROM landing.kb_articles
                               WHERE audience = 'public' AND status = 'published')"""


def count_retracted(con, ticket_ids: list[str] | None = None) -> int:
    """Stored drafts (of ``ticket_ids``, or all) that cite an article customers may not see."""
    return con.execute(
        f"SELECT count(DISTINCT ticket_id) FROM ({RETRACTED_CITATIONS})"
        " WHERE $ids IS NULL OR list_contains($ids, ticket_id)",
        {"ids": ticket_ids},
    ).fetchone()[0]


def pending(
    con, version: str, ticket_ids: list[str] | None = None, recent_days: int | None = None
) -> tuple[list[str], list[str]]:
    """(ticket ids to assist, ticket ids without text): no output yet, an output of another
    assist version, an output older than the ticket, or a draft citing a retracted article;
    only tickets in the working set (``warehouse.WORKING_SET``, ``recent_days``) unless named
    in ``ticket_ids`` or citing a retracted article (no stored draft keeps citing one)."""
    rows = con.execute(
        f"""
        WITH retracted AS ({RETRACTED_CITATIONS})
        SELECT t.ticket_id, t.has_text
        FROM landing.ticket_texts t LEFT JOIN ml.assist_outputs a USING (ticket_id)
        WHERE ($ids IS NULL OR list_contains($ids, t.ticket_id))
          AND ($ids IS NOT NULL OR {WORKING_SET}
               OR t.ticket_id IN (SELECT ticket_id FROM retracted))
          AND (a.ticket_id IS NULL OR a.assist_version <> $version
               OR a.created_at < t.updated_at OR a.ticket_id IN (SELECT ticket_id FROM retracted))
        ORDER BY t.created_at, t.ticket_id
        """,
        {"version": version, "ids": ticket_ids, "recent_days": recent_days},
    ).fetchall()
    return [r[0] for r in rows if r[1]], [r[0] for r in rows if not r[1]]


# ml.incident_days rows (store.seed_days)
DAY_SCHEMA = pa.schema(
    [("day", pa.int64()), ("inputs", pa.string()), ("tickets", pa.int64()),
     ("fingerprint", pa.uint64()), ("seeds", pa.list_(pa.string()))]
)  # fmt: skip


def detect_incidents(
    con,
    tickets: store.Tickets | Callable[[], store.Tickets],
    config: AssistConfig,
    encoder: str,
) -> tuple[int, int]:
    """Incidents over all ``tickets`` (vectors of ``encoder``; or a function that loads them,
    called only when a day changed), replacing both tables in one transaction; an incident
    keeps the id of the stored one it shares the most burst tickets with, and so its
    ``detected_at`` (``related.keep_incident_ids``: a re-run changes nothing); returns
    (incidents, ticket links).

    Burst seeds are recomputed only for the days a changed day reaches
    (``related.reached_days``); the other days' seeds come from ``ml.incident_days``, which
    keeps each day's seeds with the fingerprint of its tickets. A change of encoder, incident
    config or first ticket recomputes every day. Nothing changed: nothing is written."""
    inc = config.incidents
    now, first = store.day_fingerprints(con, encoder)
    inputs = hashlib.sha256(
        json.dumps([encoder, inc.model_dump(mode="json"), first], sort_keys=True).encode()
    ).hexdigest()[:16]
    kept = store.seed_days(con)
    changed = {
        d for d in now.keys() | kept.keys()
        if d not in kept or kept[d][0] != inputs or kept[d][1:3] != now.get(d)
    }  # fmt: skip
    if not changed:
        return con.execute(
            "SELECT (SELECT count(*) FROM ml.incidents), (SELECT count(*) FROM ml.ticket_incidents)"
        ).fetchall()[0]  # fetchall: a pending result would block the connection's register()
    tickets = tickets if isinstance(tickets, store.Tickets) else tickets()
    redo = reached_days(changed, inc) & now.keys()
    days = day_of(tickets.times)
    only = np.isin(days, np.fromiter(redo, np.int64, len(redo)))
    row_of = {ticket_id: row for row, ticket_id in enumerate(tickets.ids)}
    old = [row_of[i] for d, row in kept.items() if d in now and d not in redo for i in row[3]]
    fresh = burst_rows(tickets, inc, only) if only.any() else np.zeros(0, np.int64)
    seeds = np.unique(np.concatenate([fresh, np.array(old, np.int64)]))
    incidents = keep_incident_ids(
        find_incidents(tickets, inc, seeds), tickets.ids, store.incident_members(con)
    )
    by_day: dict[int, list[str]] = {d: [] for d in redo}
    for row in fresh.tolist():
        by_day[int(days[row])].append(tickets.ids[row])
    day_rows = pa.table({
        "day": list(by_day), "inputs": [inputs] * len(by_day),
        "tickets": [now[d][0] for d in by_day], "fingerprint": [now[d][1] for d in by_day],
        "seeds": list(by_day.values()),
    }, schema=DAY_SCHEMA)  # fmt: skip
    return store.write_incidents(con, tickets, incidents, sorted(changed | redo), day_rows)


def run_assist(
    con,
    config: AssistConfig,
    knowledge: KnowledgeConfig,
    index: KnowledgeIndex | Callable[[], KnowledgeIndex],
    library: MacroLibrary,
    *,
    ticket_ids: list[str] | None = None,
    batch: int = 1000,
    on_progress: Callable[[int, int], None] | None = None,
    generator_key: str | None = None,
    answer_thresholds: Mapping[str, float] | None = None,
    compute: Compute = compute_in_process,
    chunks: int = 1,
) -> AssistResult:
    """Assist every pending ticket (or only ``ticket_ids``); incidents are recomputed when
    running over all tickets. ``generator_key``: the optional generator's API key. ``index``:
    the knowledge index, or a function that loads it, called only when a ticket needs assist
    (a night with nothing new never loads it); raises ``EmptyIndexError`` while nothing is
    indexed.

    A draft cites the best approved passage found with the encoder the ticket's language is
    routed to when it reaches that encoder's answer threshold (``answer_thresholds``: encoder →
    min_similarity, ``knowledge.answer_configs``; else ``knowledge.answer.min_similarity``).
    Related tickets and incidents compare every ticket in the index encoder's space. Each batch
    is cut into ``chunks`` chunks for ``compute`` (Dask workers, or this process)."""
    index_version = (
        index.version if isinstance(index, KnowledgeIndex) else current_index_version(con)
    )
    if index_version is None:  # nothing indexed: the loader says so
        index = index if isinstance(index, KnowledgeIndex) else index()
        index_version = index.version
    version = assist_version(config, library, index_version)
    result = AssistResult(version)
    result.deleted = prune_without_text(con, "ml.assist_outputs")
    if result.deleted:
        log.info("removed the assist outputs of %d deleted tickets", result.deleted)
    result.retracted_citations = count_retracted(con, ticket_ids)
    todo, result.no_text = pending(con, version, ticket_ids, config.recent_days)
    for ticket_id in result.no_text:
        log.warning("ticket %s has no subject or body text: not assisted", ticket_id)
    if ticket_ids is None:  # every run: a deleted ticket leaves its incident even on a quiet night
        encoder = incident_encoder(config, knowledge.index.encoder)
        ticket_vectors.refresh(con, encoder)  # every ticket: a no-op after the nightly run
        result.incidents, result.incident_tickets = detect_incidents(
            con, lambda: store.load_tickets(con, encoder), config, encoder
        )
    if not todo:
        return result
    if not isinstance(index, KnowledgeIndex):
        index = index()
    tickets = _vectors(con, index, config, todo, ticket_ids)
    related = related_tickets(tickets, set(todo), config.related)
    shared = Shared(config, library, _internal(index), generator_key)
    for start in range(0, len(todo), batch):
        items = _batch_items(con, todo[start : start + batch], knowledge, index, related,
                             answer_thresholds or {})  # fmt: skip
        size = -(-len(items) // max(chunks, 1))
        rows = []
        for chunk_rows, fallbacks, error in compute(
            [items[i : i + size] for i in range(0, len(items), size)], shared
        ):
            rows += chunk_rows
            if fallbacks and not result.generator_fallbacks:
                log.warning("%s; using the extractive draft instead", error)
            result.generator_fallbacks += fallbacks
        store.write_outputs(con, rows, version)
        result.assisted += len(rows)
        result.needs_rewrite += sum(r["needs_rewrite"] for r in rows)
        if on_progress:
            on_progress(result.assisted, len(todo))
    return result


def _vectors(con, index: KnowledgeIndex, config: AssistConfig, todo: list[str],
             ticket_ids: list[str] | None) -> store.Tickets:  # fmt: skip
    """The tickets with a vector of the index encoder, after embedding those assist reads: the
    named ``ticket_ids``, else the working set widened by the related-ticket window (a ticket's
    related tickets are up to ``window_days`` older), then any ticket of ``todo`` still without
    one (a retracted citation outside the window); routed encoders' vectors for their
    languages alike (drafts search with them)."""
    days = None if config.recent_days is None else config.recent_days + config.related.window_days
    routes = index.routes().items()
    for encoder, languages in routes:
        ticket_vectors.refresh(con, encoder, ticket_ids=ticket_ids, languages=languages,
                               recent_days=None if ticket_ids else days)  # fmt: skip
    tickets = store.load_tickets(con, index.encoder)
    missing = sorted(set(todo) - set(tickets.ids))
    if not missing:
        return tickets
    for encoder, languages in routes:
        ticket_vectors.refresh(con, encoder, ticket_ids=missing, languages=languages)
    return store.load_tickets(con, index.encoder)


def _internal(index: KnowledgeIndex) -> frozenset:
    """The internal-only passages' word runs, for the copied-from-internal guardrail."""
    rows = index.rows
    return internal_grams(
        t for t, a in zip(rows["text"], rows["audience"], strict=True) if a != "public"
    )


def _batch_items(con, ids, knowledge, index, related, thresholds) -> list[Item]:
    """A batch's ``Item``s, read here: context, best passage over the answer threshold of the
    encoder the ticket's language is routed to, related tickets."""
    context = store.load_context(con, ids)
    asked = [(i, read_ticket(context[i]["text"]), context[i]["ticket"]["language"]) for i in ids]
    hits = search_tickets(con, index, asked, 1, knowledge.search, audience="public",
                          published_only=True)  # fmt: skip
    items = []
    for (ticket_id, _, language), found in zip(asked, hits, strict=True):
        floor = thresholds.get(index.encoder_for(language), knowledge.answer.min_similarity)
        hit = found[0] if found and found[0].similarity >= floor else None
        items.append((ticket_id, context[ticket_id], hit, related.get(ticket_id)))
    return items


def assist_items(items: list[Item], shared: Shared) -> Computed:
    """Pure compute (no warehouse): per item an output row (summary, draft with citations and
    guardrail findings, missing fields, duplicates, related open tickets), in order; how many
    drafts fell back from the optional generator to the extractive draft, and the first
    ``GeneratorError``'s message (it names no ticket content)."""
    config, library = shared.config, shared.library
    generator = Generator(config.generator, shared.generator_key) if config.generator.url else None
    rows, fallbacks, error = [], 0, None
    for ticket_id, ctx, hit, near in items:
        ticket = ctx["ticket"]
        missing = missing_fields(ticket.get("category"), ctx["customer_text"],
                                 config.required_fields)  # fmt: skip
        draft = compose(ticket, hit, library.pick(ticket.get("category")), request_line(missing))
        sources = ctx["text"] + ("\n" + passage_body(hit) if hit else "")
        if generator is not None:
            draft, failure = _generate(generator, draft, ctx["text"], sources)
            fallbacks += failure is not None
            error = error or failure
        draft.findings = check_reply(draft.text, category=ticket.get("category"),
                                     sources=sources, config=config.guardrails,
                                     internal_texts=shared.internal)  # fmt: skip
        summary = summarise(ticket, ctx["events"], ctx["history"])
        rows.append(_row(ticket_id, summary.as_dict(), draft, [f.name for f in missing], near))
    return rows, fallbacks, error


def _generate(
    generator: Generator, draft: Draft, ticket_text: str, sources: str
) -> tuple[Draft, str | None]:
    """The generator's rewrite, or the extractive ``draft`` and the error's message."""
    try:
        text = generator.rewrite(draft.text, ticket_text, sources)
    except GeneratorError as exc:
        return draft, str(exc)
    return Draft(text, draft.macro_id, draft.citations, generator=generator.model), None


def _row(ticket_id: str, summary: dict, draft: Draft, missing: list[str], near) -> dict:
    def listed(pairs):
        return [{"ticket_id": i, "similarity": s} for i, s in pairs]

    return {
        "ticket_id": ticket_id,
        "summary": summary,
        "draft": draft,
        "missing_fields": missing,
        "duplicates": listed(near.duplicates if near else []),
        "related_open": listed(near.related_open if near else []),
        "needs_rewrite": draft.needs_rewrite,
    }
