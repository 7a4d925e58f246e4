"""Warehouse reads and writes for agent assist (``ml.assist_outputs``, ``ml.incidents``,
``ml.ticket_incidents``); the computing modules stay free of SQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa

from supportflow.assist.related import Tickets
from supportflow.warehouse import transaction


def load_tickets(con, encoder: str, since: datetime | None = None) -> Tickets:
    """Every ticket with a vector for ``encoder`` (created at or after ``since``), in time order."""
    table = con.sql(
        """
        SELECT t.ticket_id, epoch(t.created_at) AS at, t.customer_key, t.status, t.subject,
               v.embedding
        FROM landing.ticket_texts t JOIN ml.ticket_vectors v USING (ticket_id)
        WHERE v.encoder = $encoder AND ($since IS NULL OR t.created_at >= $since)
        ORDER BY t.created_at, t.ticket_id
        """,
        params={"encoder": encoder, "since": since},
    ).to_arrow_table()
    n = table.num_rows
    flat = table.column("embedding").combine_chunks().flatten().to_numpy()
    vectors = flat.reshape(n, -1).astype(np.float32, copy=False) if n else np.zeros((0, 1))
    ids = table.column("ticket_id").to_pylist()
    times = table.column("at").to_numpy().astype(np.float64)
    # the arrow result does not keep ORDER BY (preserve_insertion_order is off): sort here
    order = np.lexsort((np.array(ids, dtype=object), times)) if n else np.arange(0)
    pick = order.tolist()
    return Tickets(
        ids=[ids[i] for i in pick],
        times=times[order],
        customers=[c for c in np.array(table.column("customer_key").to_pylist(), object)[order]],
        statuses=[s for s in np.array(table.column("status").to_pylist(), object)[order]],
        subjects=[s for s in np.array(table.column("subject").to_pylist(), object)[order]],
        vectors=np.ascontiguousarray(vectors[order]),
    )


# (tickets, fingerprint) per UTC day: the day's tickets as ``load_tickets`` reads them, with
# the texts their vectors are of; the same day blocks as ``related.day_of``
DAY_FINGERPRINTS = """
    SELECT CAST(floor(epoch(t.created_at) / 86400) AS BIGINT) AS day, count(*) AS tickets,
           bit_xor(hash(t.ticket_id, v.text_hash)) AS fingerprint, min(epoch(t.created_at))
    FROM landing.ticket_texts t JOIN ml.ticket_vectors v USING (ticket_id)
    WHERE v.encoder = $encoder GROUP BY 1"""


def day_fingerprints(con, encoder: str) -> tuple[dict[int, tuple[int, int]], float]:
    """Per UTC day (days since 1970-01-01): (tickets, fingerprint) of the tickets with a vector
    of ``encoder`` (a ticket added, deleted, emptied or edited on a day changes its pair), and
    the first such ticket's epoch seconds (0.0 when none), as ``load_tickets`` reads it."""
    rows = con.execute(DAY_FINGERPRINTS, {"encoder": encoder}).fetchall()
    first = min((r[3] for r in rows), default=0.0)
    return {day: (n, fingerprint) for day, n, fingerprint, _ in rows}, float(first)


# day → (inputs, tickets, fingerprint, seed ticket ids) as incident detection last left it
SeedDays = dict[int, tuple[str, int, int, list[str]]]


def seed_days(con) -> SeedDays:
    """``ml.incident_days``: the burst seeds of each day and what they were computed from."""
    rows = con.execute(
        "SELECT day, inputs, tickets, fingerprint, seeds FROM ml.incident_days"
    ).fetchall()
    return {r[0]: (r[1], r[2], r[3], r[4]) for r in rows}


def incident_members(con) -> dict[str, set[str]]:
    """Stored incidents: incident id → its burst ticket ids (``ml.ticket_incidents``)."""
    rows = con.execute(
        "SELECT incident_id, list(ticket_id) FROM ml.ticket_incidents"
        " WHERE link = 'burst' GROUP BY 1"
    ).fetchall()
    return {incident_id: set(tickets) for incident_id, tickets in rows}


def write_incidents(
    con, tickets: Tickets, incidents: list, days: list[int], day_rows: pa.Table
) -> tuple[int, int]:
    """Replace ``ml.incidents`` and ``ml.ticket_incidents`` with ``incidents``
    (``related.Incident``, rows of ``tickets``) and the ``ml.incident_days`` rows of ``days``
    with ``day_rows``, in one transaction; an incident id already stored keeps its
    ``detected_at``. Returns (incidents, ticket links)."""
    links = [
        (tickets.ids[row], incident.incident_id, kind, sim)
        for incident in incidents
        for row, kind, sim in [(m, "burst", None) for m in incident.members]
        + [(r, "later", s) for r, s in incident.linked]
    ]
    written = datetime.now(UTC)
    detected = dict(con.execute("SELECT incident_id, detected_at FROM ml.incidents").fetchall())
    with transaction(con):
        con.execute("DELETE FROM ml.ticket_incidents")
        con.execute("DELETE FROM ml.incidents")
        for incident in incidents:
            con.execute(
                "INSERT INTO ml.incidents VALUES (?, ?, to_timestamp(?), to_timestamp(?), ?, ?, ?)",
                [incident.incident_id, incident.label, incident.started_at, incident.ended_at,
                 len(incident.members), len(incident.linked),
                 detected.get(incident.incident_id, written)],
            )  # fmt: skip
        if links:
            table = pa.table(list(zip(*links, strict=True)),
                             names=["ticket_id", "incident_id", "link", "similarity"])  # fmt: skip
            con.register("new_links", table)
            con.execute("INSERT INTO ml.ticket_incidents SELECT * FROM new_links")
            con.unregister("new_links")
        con.execute("DELETE FROM ml.incident_days WHERE list_contains($days, day)",
                    {"days": days})  # fmt: skip
        con.register("new_days", day_rows)
        con.execute("INSERT INTO ml.incident_days SELECT * FROM new_days")
        con.unregister("new_days")
    return len(incidents), len(links)


def _rows(con, sql: str, params: dict | None = None) -> list[dict]:
    cur = con.execute(sql, params or {})
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def load_context(con, ticket_ids: list[str]) -> dict[str, dict]:
    """Per ticket: its fields (category = the agent's, else the latest model prediction), its
    comments in time order, the customer's three previous tickets, and its texts."""
    con.register("wanted", pa.table({"ticket_id": list(ticket_ids)}))
    try:
        tickets = _rows(
            con,
            """
            SELECT t.ticket_id, t.subject, t.body, t.status, t.is_settled, t.created_at,
                   t.customer_key, t.ticket_text, t.language,
                   coalesce(t.category, p.label) AS category
            FROM landing.ticket_texts t JOIN wanted USING (ticket_id)
            LEFT JOIN (SELECT ticket_id, arg_max(label, model_version) AS label
                       FROM ml.predictions WHERE field = 'category' GROUP BY ticket_id) p
              USING (ticket_id)
            """,
        )
        events = _rows(
            con,
            """
            SELECT e.ticket_id, e.created_at, e.author_role, e.kind, e.public, e.body
            FROM landing.ticket_events e JOIN wanted USING (ticket_id)
            WHERE e.kind = 'comment' ORDER BY e.ticket_id, e.created_at, e.event_id
            """,
        )
        history = _rows(
            con,
            """
            SELECT w.ticket_id AS for_ticket, h.created_at, h.category, h.subject, h.status
            FROM landing.tickets w JOIN wanted USING (ticket_id)
            JOIN landing.ticket_texts h ON h.customer_key = w.customer_key
                 AND h.ticket_id <> w.ticket_id AND h.created_at < w.created_at
            QUALIFY row_number() OVER (PARTITION BY w.ticket_id ORDER BY h.created_at DESC) <= 3
            """,
        )
    finally:
        con.unregister("wanted")
    out = {}
    for t in tickets:
        text = t["ticket_text"]  # subject and body (landing.ticket_texts)
        out[t["ticket_id"]] = {"ticket": t, "events": [], "history": [], "text": text,
                               "customer_text": text}  # fmt: skip
    for e in sorted(events, key=lambda e: (e["ticket_id"], e["created_at"])):
        ctx = out[e["ticket_id"]]
        ctx["events"].append(e)
        if e["author_role"] == "customer" and e["body"]:
            ctx["customer_text"] += "\n" + e["body"]
    for h in sorted(history, key=lambda h: h["created_at"], reverse=True):
        out[h["for_ticket"]]["history"].append(h)
    return out


OUTPUT_COLUMNS = ("ticket_id", "assist_version", "summary", "draft", "macro_id", "citations",
                  "findings", "needs_rewrite", "missing_fields", "duplicates", "related_open",
                  "generator", "created_at")  # fmt: skip


def write_outputs(con, rows: list[dict], version: str) -> None:
    """Replace these tickets' outputs in one transaction."""
    now = datetime.now(UTC)
    records = []
    for r in rows:
        d = r["draft"].as_dict()
        records.append({
            "ticket_id": r["ticket_id"], "assist_version": version,
            "summary": json.dumps(r["summary"]), "draft": d["text"], "macro_id": d["macro_id"],
            "citations": json.dumps(d["citations"]), "findings": json.dumps(d["findings"]),
            "needs_rewrite": d["needs_rewrite"], "missing_fields": r["missing_fields"],
            "duplicates": json.dumps(r["duplicates"]),
            "related_open": json.dumps(r["related_open"]), "generator": d["generator"],
            "created_at": now,
        })  # fmt: skip
    table = pa.Table.from_pylist(records)
    with transaction(con):
        con.register("new_outputs", table)
        con.execute("DELETE FROM ml.assist_outputs WHERE ticket_id IN"
                    " (SELECT ticket_id FROM new_outputs)")  # fmt: skip
        cols = ", ".join(OUTPUT_COLUMNS)
        con.execute(f"INSERT INTO ml.assist_outputs ({cols}) SELECT {cols} FROM new_outputs")
        con.unregister("new_outputs")


def read_output(con, ticket_id: str) -> dict | None:
    rows = _rows(con, "SELECT * FROM ml.assist_outputs WHERE ticket_id = $id", {"id": ticket_id})
    if not rows:
        return None
    out = rows[0]
    for key in ("summary", "citations", "findings", "duplicates", "related_open"):
        out[key] = json.loads(out[key])
    incident = _rows(
        con,
        "SELECT i.incident_id, i.label, i.started_at, l.link FROM ml.ticket_incidents l"
        " JOIN ml.incidents i USING (incident_id) WHERE l.ticket_id = $id",
        {"id": ticket_id},
    )
    out["incident"] = incident[0] if incident else None
    return out
