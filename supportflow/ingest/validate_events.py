"""Ticket events in vectorised SQL: parse, check, key and count them (see ``validate``).

Events of loadable records are exploded in chunks of ``EVENT_CHUNK_RECORDS`` tickets (bounded
memory) from ``staging.CHECKED`` (and, for a large record, from the pieces its reader staged in
``staging.RAW_EVENTS``, so that no single value holds them all) into ``staging.EVENT_FIELDS``
(parsed, with a reason or NULL), then the readable ones are appended to ``staging.EVENTS`` and
what was skipped or unknown is counted into ``staging.NOTES``. An event that cannot be read is
skipped and counted; an unknown event kind or author role never rejects its ticket: the kind is
kept as ``other`` with the raw value in its detail. Identifiers in event details become salted
hashes (``sf_pseudo``).
"""

from __future__ import annotations

import duckdb

from supportflow.ingest.staging import CHECKED, EVENT_FIELDS, EVENTS, NOTES, RAW_EVENTS
from supportflow.ingest.vocabulary import (
    AUTHOR_ROLES,
    BAD_TEXT_TYPES,
    EVENT_KINDS,
    NUMBER_TYPES,
    ROLE_SYNONYMS,
    in_range_sql,
    label_sql,
    sql_in,
    synonyms_sql,
)

DETAIL_ID_KEYS = ("assignee_id", "author_id", "requester_id", "user_id")

EVENT_CHUNK_RECORDS = 100_000  # tickets whose events are exploded at once (bounded memory)


# Events parse once into typed structs (one yyjson pass; per-field JSON extraction was ~50k
# events/s here). Fields whose JSON type is checked stay JSON; the rest are text.
EVENT_SCHEMA = (
    '[{"id": "JSON", "created_at": "JSON", "author_role": "VARCHAR", "author_id": "VARCHAR", '
    '"kind": "VARCHAR", "body": "JSON", "public": "JSON", "detail": "JSON"}]'
)
EVENTS_SQL = f"""
    CREATE OR REPLACE TEMP TABLE {EVENT_FIELDS} AS
    WITH arrays AS (
        SELECT record_no, ticket_id, customer_key, events_only, events_json
        FROM {CHECKED}
        WHERE reason IS NULL AND json_type(events_json) = 'ARRAY'
              AND record_no > $lo AND record_no <= $hi
        UNION ALL  -- a large record's events, staged in pieces (``bounds.event_pieces``)
        SELECT c.record_no, c.ticket_id, c.customer_key, c.events_only, p.events
        FROM {RAW_EVENTS} p JOIN {CHECKED} c USING (record_no)
        WHERE c.reason IS NULL AND c.record_no > $lo AND c.record_no <= $hi
    ), exploded AS (
        SELECT record_no, ticket_id, customer_key, events_only,
               unnest(range(CAST(json_array_length(events_json) AS BIGINT))) AS idx,
               unnest(json_type(events_json, '$[*]')) AS ev_type,
               unnest(from_json(events_json, '{EVENT_SCHEMA}')) AS ev
        FROM arrays
    ), typed AS (
        SELECT record_no, ticket_id, customer_key, events_only, idx, ev_type,
               json_type(ev.id) AS id_type, ev.id ->> '$' AS event_key,
               json_type(ev.created_at) AS ts_type, ev.created_at ->> '$' AS ts_text,
               CASE WHEN json_type(ev.body) NOT IN {BAD_TEXT_TYPES}
                    THEN nullif(trim(ev.body ->> '$'), '') END AS body,
               CASE WHEN json_type(ev.public) = 'BOOLEAN' THEN CAST(ev.public AS BOOLEAN)
                    END AS public,
               CASE WHEN json_type(ev.detail) = 'OBJECT' THEN ev.detail END AS detail,
               nullif(trim(ev.author_id), '') AS author_id,
               {synonyms_sql("ev.author_role", ROLE_SYNONYMS)} AS role_label,
               coalesce({label_sql("ev.kind")}, 'comment') AS kind_label
        FROM exploded
    ), stamped AS (
        SELECT *, CASE WHEN ts_type IN {NUMBER_TYPES}
                            THEN try(to_timestamp(try_cast(ts_text AS DOUBLE)))
                       ELSE try_cast(trim(ts_text) AS TIMESTAMPTZ) END AS ts
        FROM typed
    )
    SELECT *,
        CASE WHEN role_label IN {sql_in(AUTHOR_ROLES)} THEN role_label END AS author_role,
        CASE WHEN kind_label IN {sql_in(EVENT_KINDS)} THEN kind_label ELSE 'other' END AS kind,
        CASE
        WHEN ev_type <> 'OBJECT' THEN 'not an object'
        WHEN id_type IN {BAD_TEXT_TYPES} THEN 'id: expected text'
        WHEN nullif(trim(event_key), '') IS NULL THEN 'id: missing'
        WHEN ts_text IS NULL THEN 'created_at: missing'
        WHEN ts IS NULL THEN 'created_at: not an ISO-8601 timestamp'
        WHEN NOT {in_range_sql("ts")} THEN 'created_at: outside 1990–2100'
        END AS reason
    FROM stamped
"""
# An author known only by id (Zendesk comments without a users file): the ticket's customer
# when its key matches the ticket's customer key, else an agent; no author at all: system.
EVENT_ROLE = """coalesce(e.author_role, CASE
    WHEN e.author_id IS NULL THEN 'system'
    WHEN sf_pseudo(e.author_id) = coalesce(e.customer_key, t.customer_key) THEN 'customer'
    WHEN u.value IN ('agent', 'admin') THEN 'agent'
    WHEN u.value = 'end-user' THEN 'customer'
    ELSE 'agent' END)"""


def _detail_sql(expr: str) -> str:
    """Replace identifier keys in an event's detail object by ``<name>_key`` salted hashes
    (one JSON merge; details without such a key pass through untouched)."""
    keys = "|".join(k.removesuffix("_id") for k in DETAIL_ID_KEYS)
    pairs = ", ".join(
        f"'{k}', NULL, '{k.removesuffix('_id')}_key', sf_pseudo({expr} ->> '$.{k}')"
        for k in DETAIL_ID_KEYS
    )
    return (
        f"CASE WHEN {expr} IS NULL OR NOT regexp_matches(CAST({expr} AS VARCHAR), "
        f"'\"({keys})_id\"') THEN {expr} ELSE json_merge_patch({expr}, json_object({pairs})) END"
    )


def validate_events(
    con: duckdb.DuckDBPyConnection, lo: int, hi: int, *, first: bool, source: str
) -> None:
    """Events of records ``lo < record_no <= hi``: parse, check, append to ``EVENTS``
    and count skipped events and unknown values into ``NOTES``."""
    con.execute(EVENTS_SQL, {"lo": lo, "hi": hi})
    params = {"source": source}
    into = f"CREATE OR REPLACE TEMP TABLE {EVENTS} AS" if first else f"INSERT INTO {EVENTS}"
    con.execute(
        f"""
        {into}  -- readable events of loadable records
        SELECT * EXCLUDE (raw_detail), {_detail_sql("raw_detail")} AS detail FROM (
            SELECT e.record_no, e.ticket_id || ':' || trim(e.event_key) AS event_id,
                   e.ticket_id, e.ts AS created_at, {EVENT_ROLE} AS author_role, e.kind,
                   e.public, e.body, {_raw_kind_sql()} AS raw_detail,
                   sf_pseudo(e.author_id) AS author_key,
                   -- the role came from comparing keys: redone when the ticket (re)loads
                   e.author_role IS NULL AND e.author_id IS NOT NULL AND u.value IS NULL
                       AS role_inferred,
                   e.events_only AND t.ticket_id IS NULL AS before_ticket
            FROM {EVENT_FIELDS} e
            LEFT JOIN landing.tickets t ON e.events_only AND t.ticket_id = e.ticket_id
            -- roles kept from earlier users files (lookups_store.py), by salted key
            LEFT JOIN landing.source_lookups u
                   ON e.author_role IS NULL AND u.kind = 'user_role' AND u.source = $source
                  AND u.key = sf_pseudo(e.author_id)
            WHERE e.reason IS NULL)
    """,
        params,
    )
    con.execute(f"""
        INSERT INTO {NOTES}
        SELECT 'flags', 'events_before_their_ticket', NULL, count(*) FROM {EVENTS}
            WHERE before_ticket AND record_no > {lo} AND record_no <= {hi} HAVING count(*) > 0
        UNION ALL
        SELECT 'event_skipped', reason, NULL, count(*) FROM {EVENT_FIELDS}
        WHERE reason IS NOT NULL GROUP BY ALL
        UNION ALL SELECT 'unknown_value', 'event_kind', left(kind_label, 40), count(*)
            FROM {EVENT_FIELDS} WHERE reason IS NULL AND kind_label NOT IN {sql_in(EVENT_KINDS)}
            GROUP BY ALL
        UNION ALL SELECT 'unknown_value', 'author_role', left(role_label, 40), count(*)
            FROM {EVENT_FIELDS} WHERE reason IS NULL AND role_label IS NOT NULL
                 AND role_label NOT IN {sql_in(AUTHOR_ROLES)} GROUP BY ALL
    """)


def _raw_kind_sql() -> str:
    """The event's detail, with the raw kind kept when it is not one of ``EVENT_KINDS``."""
    return (
        f"CASE WHEN e.kind_label NOT IN {sql_in(EVENT_KINDS)} THEN json_merge_patch("
        "coalesce(e.detail, '{}'::JSON), json_object('raw_kind', left(e.kind_label, 40))) "
        "ELSE e.detail END"
    )
