"""The staged file onto landing: dedupe within the file, classify against landing, write the batch.

``dedupe_within_file`` and ``classify`` only read landing and fill staging tables (``staging``);
``write_batch`` is the only writer of ``landing.*`` and runs inside the caller's transaction
(``with warehouse.transaction(con): write_batch(con, report)``), so a run killed at any point
leaves either the whole batch or nothing.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import duckdb

from supportflow.ingest.batch import BatchReport, insert_batch
from supportflow.ingest.landing_schema import FREE_TEXT, HASHED, LANDING_COLUMNS, TICKET_COLUMNS
from supportflow.ingest.redact import redaction_sql
from supportflow.ingest.staging import (
    CHECKED,
    CLASSIFIED,
    EVENT_RECORDS,
    EVENTS,
    QUARANTINE,
    RAW,
    SUPERSEDED,
    quarantine_reason_sql,
)

# Quarantined records keep their shape but not the people's ids (requester, assignee, author…
# — Zendesk user ids are personal data): each such key's value becomes "[ID]". A CSV row is kept
# as the JSON object of its header → value (every value, none lost), so its id columns are keys.
ID_KEYS = "requester|submitter|assignee|author|updater|user|customer|collaborator|follower|email_cc"
ID_VALUE = r"""(\[[^\]]*\]|\"(?:[^\"\\]|\\.)*\"|-?[0-9][0-9.eE+-]*)"""


def id_mask_sql(expr: str, id_columns: Sequence[str] = ()) -> str:
    """The SQL that replaces, in the JSON text ``expr``, the value of every identifier key —
    ``<ID_KEYS>_id(s)`` and the ``id_columns`` a mapping reads customer/assignee ids from — by
    ``"[ID]"``. Keys match whole and case-insensitively; any other text is left as it is."""
    names = [f"(?:{ID_KEYS})_ids?"] + [re.escape(c) for c in id_columns if c]
    pattern = '"((?i:' + "|".join(names) + r'))"\s*:\s*' + ID_VALUE
    quoted = "'" + pattern.replace("'", "''") + "'"
    return f"""regexp_replace({expr}, {quoted}, '"\\1":"[ID]"', 'g')"""


LISTS = {c.name for c in TICKET_COLUMNS if c.type.endswith("[]")}


def redacted_json(expr: str) -> str:
    """The SQL that stores the JSON text ``expr`` with its personal data redacted: the
    placeholders sit inside JSON strings; should one land outside a string (a number that
    looks like a card), the whole value is kept as one redacted JSON string instead."""
    text = redaction_sql(f"CAST({expr} AS VARCHAR)")
    kept = "CASE WHEN json_valid(r) THEN CAST(r AS JSON) ELSE to_json(r) END"
    return f"(SELECT {kept} FROM (SELECT {text} AS r))"


def redacted(column: str) -> str:
    """The SQL that stores ``column`` redacted (each element of a list column)."""
    if column in LISTS:
        return f"list_transform({column}, lambda x: {redaction_sql('x')})"
    return redaction_sql(column)


LOADING = "('loaded', 'updated')"  # the outcomes whose tickets are written


@dataclass
class Counts:
    """What became of a file's records (``classify``); ``records_in`` is their sum."""

    loaded: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    # Content that differs from the stored version but was not simply newer: reported, never
    # dropped without a word (``same_updated_at_new_content``: the later batch won;
    # ``older_than_stored``: the stored version is newer and was kept).
    flags: dict[str, int] = field(default_factory=dict)
    # Quarantined records whose row keeps only their start (``bounds.KEEP_CHARS``), noted as
    # ``cut_to_limit`` ``quarantined_record``; the reason of each says how much it keeps.
    records_cut: int = 0

    @property
    def records_in(self) -> int:
        return self.loaded + self.updated + self.unchanged + self.quarantined

    def fill(self, report: BatchReport) -> None:
        report.records_loaded = self.loaded
        report.records_updated = self.updated
        report.records_unchanged = self.unchanged
        report.records_quarantined = self.quarantined
        report.quarantine_reasons = self.quarantine_reasons
        report.records_in = self.records_in
        if self.flags:
            report.notes.setdefault("flags", {}).update(self.flags)
        if self.records_cut:
            report.notes.setdefault("cut_to_limit", {})["quarantined_record"] = self.records_cut


def dedupe_within_file(con: duckdb.DuckDBPyConnection) -> None:
    """Duplicate ids within the file: the latest updated_at (then the later record) wins; the
    others go to ``SUPERSEDED`` and ``QUARANTINE``. Grouping ids first keeps the window to the
    few duplicated ones."""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {SUPERSEDED} AS
        WITH dup_ids AS (
            SELECT ticket_id FROM {CHECKED} WHERE reason IS NULL AND NOT events_only
            GROUP BY ticket_id HAVING count(*) > 1
        ), ranked AS (
            SELECT c.record_no, c.external_id,
                   row_number() OVER w AS rn, first_value(c.record_no) OVER w AS kept
            FROM {CHECKED} c SEMI JOIN dup_ids d ON c.ticket_id = d.ticket_id
            WHERE c.reason IS NULL AND NOT c.events_only
            WINDOW w AS (PARTITION BY c.ticket_id ORDER BY c.updated_at DESC, c.record_no DESC)
        )
        SELECT record_no, 'duplicate id ' || external_id || ' in this file: record ' || kept
                          || ' (latest updated_at) was kept' AS reason
        FROM ranked WHERE rn > 1
    """)
    con.execute(f"""
        INSERT INTO {QUARANTINE}
        SELECT s.record_no, r.raw, {quarantine_reason_sql("s.reason", "r")},
               r.raw_chars IS NOT NULL
        FROM {SUPERSEDED} s JOIN {RAW} r USING (record_no)
    """)


def _hash_sql() -> str:
    parts = [
        f"coalesce(array_to_string({c}, ','), '\\N')"
        if c == "tags"
        else f"coalesce(CAST({c} AS VARCHAR), '\\N')"
        for c in HASHED
    ]
    return "md5(concat_ws(chr(31), " + ", ".join(parts) + "))"


def classify(con: duckdb.DuckDBPyConnection) -> Counts:
    """Redact and hash the clean tickets and tell each one's outcome against landing
    (``CLASSIFIED``), likewise the event-only records (``EVENT_RECORDS``); count them all."""
    select_cols = ", ".join(
        f"{redacted(c)} AS {c}" if c in FREE_TEXT else c for c in LANDING_COLUMNS
    )
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {CLASSIFIED} AS
        WITH clean AS (
            SELECT record_no, updated_at_missing, {select_cols} FROM {CHECKED}
            ANTI JOIN {SUPERSEDED} USING (record_no)
            WHERE reason IS NULL AND NOT events_only
        ), hashed AS (
            SELECT *, {_hash_sql()} AS content_hash FROM clean
        )
        SELECT s.* EXCLUDE (updated_at_missing),
               -- Only identical content is unchanged. A newer updated_at wins; so does the
               -- later batch when the timestamps are equal (exports without a real updated_at,
               -- or one that does not move on edits) or when the record has no updated_at at
               -- all (nothing says it is older); an older version never replaces a newer.
               CASE WHEN t.ticket_id IS NULL THEN 'loaded'
                    WHEN s.content_hash = t.content_hash THEN 'unchanged'
                    WHEN s.updated_at_missing OR s.updated_at >= t.updated_at THEN 'updated'
                    ELSE 'unchanged' END AS outcome,
               CASE WHEN t.ticket_id IS NULL OR s.content_hash = t.content_hash THEN NULL
                    WHEN s.updated_at_missing THEN 'no_updated_at_new_content'
                    WHEN s.updated_at = t.updated_at THEN 'same_updated_at_new_content'
                    WHEN s.updated_at < t.updated_at THEN 'older_than_stored'
               END AS flag
        FROM hashed s LEFT JOIN landing.tickets t USING (ticket_id)
    """)
    # Records that only carry events (audit or ticket-event exports): loaded when they bring
    # an event not yet in the warehouse, else unchanged.
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {EVENT_RECORDS} AS
        SELECT c.record_no, CASE WHEN count(e.event_id) FILTER (WHERE x.event_id IS NULL) > 0
                                 THEN 'loaded' ELSE 'unchanged' END AS outcome
        FROM {CHECKED} c
        LEFT JOIN {EVENTS} e ON e.record_no = c.record_no
        LEFT JOIN landing.ticket_events x ON x.event_id = e.event_id
        WHERE c.reason IS NULL AND c.events_only
        GROUP BY c.record_no
    """)
    outcomes: Counter[str] = Counter()
    for table in (CLASSIFIED, EVENT_RECORDS):
        outcomes.update(
            dict(con.execute(f"SELECT outcome, count(*) FROM {table} GROUP BY outcome").fetchall())
        )
    reasons = con.execute(
        f"SELECT {redaction_sql('reason')} AS reason, count(*) FROM {QUARANTINE}"
        " GROUP BY 1 ORDER BY 2 DESC, 1"
    ).fetchall()
    flags = con.execute(
        f"SELECT flag, count(*) FROM {CLASSIFIED} WHERE flag IS NOT NULL GROUP BY flag ORDER BY 1"
    ).fetchall()
    (records_cut,) = con.execute(f"SELECT count(*) FROM {QUARANTINE} WHERE record_cut").fetchone()
    return Counts(
        flags=dict(flags),
        records_cut=records_cut,
        loaded=outcomes.get("loaded", 0),
        updated=outcomes.get("updated", 0),
        unchanged=outcomes.get("unchanged", 0),
        quarantined=sum(n for _, n in reasons),
        quarantine_reasons=summarise_reasons(reasons),
    )


def summarise_reasons(reasons: list[tuple[str, int]], top: int = 10) -> dict[str, int]:
    """Group reasons by their field prefix ("created_at: …") so a summary stays short."""
    grouped: Counter[str] = Counter()
    for reason, n in reasons:
        head = reason.split(":", 1)[0] if ":" in reason else reason
        grouped[head[:80]] += n
    return dict(grouped.most_common(top))


def write_batch(
    con: duckdb.DuckDBPyConnection, report: BatchReport, id_columns: Sequence[str] = ()
) -> None:
    """Write the classified file into ``landing.*`` with its batch row; sets ``events_loaded``
    and ``finished_at``. Quarantined records are stored redacted with their ids masked
    (``id_mask_sql``; ``id_columns``: the source columns holding customer/assignee ids).
    Call inside ``warehouse.transaction`` (it opens none itself)."""
    columns = ", ".join(LANDING_COLUMNS)
    params = {"batch": report.batch_id}
    con.execute(f"""DELETE FROM landing.tickets WHERE ticket_id IN
                    (SELECT ticket_id FROM {CLASSIFIED} WHERE outcome = 'updated')""")
    con.execute(
        f"""INSERT INTO landing.tickets ({columns}, content_hash, batch_id)
                    SELECT {columns}, content_hash, $batch FROM {CLASSIFIED}
                    WHERE outcome IN {LOADING}""",
        params,
    )
    report.events_loaded = con.execute(
        f"""
        INSERT INTO landing.ticket_events
        SELECT DISTINCT ON (e.event_id) e.event_id, e.ticket_id, e.created_at, e.author_role,
               e.kind, e.public, {redaction_sql("e.body")}, {redacted_json("e.detail")}, $batch,
               e.author_key, e.role_inferred
        FROM {EVENTS} e
        WHERE e.record_no IN (SELECT record_no FROM {CLASSIFIED} WHERE outcome IN {LOADING}
                              UNION ALL SELECT record_no FROM {EVENT_RECORDS})
          AND e.event_id NOT IN (SELECT event_id FROM landing.ticket_events)
        ORDER BY e.event_id
    """,
        params,
    ).fetchone()[0]
    # Events that arrived before their ticket got "agent" for want of a customer key.
    con.execute(f"""
        UPDATE landing.ticket_events e
        SET author_role = CASE WHEN e.author_key = t.customer_key THEN 'customer'
                               ELSE 'agent' END
        FROM landing.tickets t
        WHERE e.role_inferred AND t.ticket_id = e.ticket_id
          AND t.ticket_id IN (SELECT ticket_id FROM {CLASSIFIED} WHERE outcome IN {LOADING})
          AND e.author_role <> CASE WHEN e.author_key = t.customer_key THEN 'customer'
                                    ELSE 'agent' END
    """)
    record = "CASE WHEN r.doc IS NOT NULL AND NOT json_valid(q.record) THEN r.doc ELSE q.record END"
    con.execute(
        f"""INSERT INTO landing.quarantine
                    SELECT $batch, $file, q.record_no,
                           {redaction_sql(id_mask_sql(record, id_columns))},
                           {redaction_sql("q.reason")}
                    FROM {QUARANTINE} q LEFT JOIN {RAW} r USING (record_no)
                    ORDER BY q.record_no""",
        {**params, "file": report.file},
    )
    report.finished_at = datetime.now(UTC)
    insert_batch(con, report)
