"""Load one export file into the landing tables: stage → dedupe → redact → merge, atomically.

Why this shape:
- Python streams and validates records (clear reasons per record) and appends them to DuckDB
  temp tables in chunks, so memory stays bounded by the chunk size, not the file size.
- DuckDB then redacts, hashes and classifies the whole file in vectorised SQL.
- The merge into ``landing.*`` and the batch row commit in one transaction: a run killed at any
  point leaves either nothing or everything, and a re-run completes the job.
- A file already loaded (same bytes, source and mapping) is recognised by its fingerprint and
  skipped in O(file read), which makes nightly re-runs over an export folder cheap.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import orjson
import pyarrow as pa

from supportflow.ingest.language import detect_languages, vote_sql
from supportflow.ingest.mapping import CANONICAL_FIELDS, Mapping
from supportflow.ingest.redact import install_macros, redaction_sql
from supportflow.ingest.sources import Format, check_readable, detect_format, read_batches
from supportflow.ingest.validate import install_pseudonymiser, validate_staged
from supportflow.ingest.zendesk import FlattenStats, Lookups
from supportflow.settings import Settings

RAW_SCHEMA = pa.schema(
    [("record_no", pa.int64()), ("raw", pa.string()), ("doc", pa.string()), ("error", pa.string())]
)
# Landing ticket columns in table order; content_hash covers all of them but source.
LANDING_COLUMNS = [
    "ticket_id",
    "source",
    "external_id",
    "created_at",
    "updated_at",
    "channel",
    "customer_key",
    "customer_tier",
    "language",
    "subject",
    "body",
    "status",
    "priority",
    "category",
    "queue",
    "sentiment",
    "tags",
    "assignee_key",
    "csat",
    "csat_raw",
    "csat_good",
    "is_deleted",
    "clock_skew",
]
HASHED = [c for c in LANDING_COLUMNS if c != "source"]

ProgressFn = Callable[[int], None]
# Quarantined JSON records keep their shape but not the people's ids (requester, assignee,
# author… — Zendesk user ids are personal data): each such key's value becomes "[ID]".
ID_KEYS = "requester|submitter|assignee|author|updater|user|customer|collaborator|follower|email_cc"
ID_MASK_SQL = (
    "regexp_replace(record, '\"((?:" + ID_KEYS + r")_ids?)\"\s*:\s*"
    r"""(\[[^\]]*\]|\"[^\"]*\"|-?[0-9]+)', '"\1":"[ID]"', 'g')"""
)


@dataclass
class BatchReport:
    """What one file contributed; ``records_in`` always equals the sum of the four outcomes."""

    batch_id: str
    source: str
    format: str
    file: str
    file_sha256: str
    records_in: int = 0
    records_loaded: int = 0
    records_updated: int = 0
    records_unchanged: int = 0
    records_quarantined: int = 0
    events_loaded: int = 0
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    finished_at: datetime | None = None
    skipped_as_duplicate: bool = False
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    # Nothing silently dropped: source fields no mapping used, values coerced to NULL per
    # field, unknown vocabulary values, skipped events, flags (see ``collect_notes``).
    notes: dict[str, dict] = field(default_factory=dict)

    @property
    def balanced(self) -> bool:
        return self.records_in == (
            self.records_loaded
            + self.records_updated
            + self.records_unchanged
            + self.records_quarantined
        )

    def as_dict(self) -> dict:
        out = asdict(self)
        out["started_at"] = self.started_at.isoformat()
        out["finished_at"] = self.finished_at.isoformat() if self.finished_at else None
        return out


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def batch_identity(path: Path, fmt: Format, mapping: Mapping, source: str) -> tuple[str, str]:
    """(batch_id, file sha256): the same bytes under the same source and mapping → same batch."""
    sha = file_sha256(path)
    key = f"{sha}|{fmt}|{source}|{mapping.model_dump_json()}"
    return f"{source}-{hashlib.sha256(key.encode()).hexdigest()[:16]}", sha


def _insert_arrow(con: duckdb.DuckDBPyConnection, statement: str, table: pa.Table) -> None:
    """Run ``<statement> SELECT * FROM <table>`` for an in-memory Arrow table."""
    con.register("sf_arrow_chunk", table)
    try:
        con.execute(f"{statement} SELECT * FROM sf_arrow_chunk")
    finally:
        con.unregister("sf_arrow_chunk")


def _stage_raw(con: duckdb.DuckDBPyConnection, batches, progress: ProgressFn | None) -> int:
    """Append every batch to the ``stage_raw`` temp table; returns the number of records."""
    _insert_arrow(con, "CREATE OR REPLACE TEMP TABLE stage_raw AS", RAW_SCHEMA.empty_table())
    count = 0
    for batch in batches:
        chunk = pa.Table.from_arrays(
            [
                pa.array(batch.record_no, pa.int64()),
                pa.array(batch.raw, pa.string()),
                pa.array(batch.doc, pa.string()),
                pa.array(batch.error, pa.string()),
            ],
            schema=RAW_SCHEMA,
        )
        _insert_arrow(con, "INSERT INTO stage_raw", chunk)
        before, count = count, count + len(batch.record_no)
        if progress and count // 100_000 > before // 100_000:
            progress(count)
    return count


def fill_languages(con: duckdb.DuckDBPyConnection) -> int:
    """Detect the language of valid staged tickets that came without one; returns how many."""
    con.execute(f"""UPDATE stage_checked SET language = {vote_sql("concat_ws(' ', subject, body)")}
                    WHERE reason IS NULL AND language IS NULL""")
    unsure = con.execute("""SELECT record_no, concat_ws(' ', subject, body) FROM stage_checked
                            WHERE reason IS NULL AND language IS NULL""").fetchall()
    if unsure:
        codes = detect_languages([text for _, text in unsure])
        found = pa.table({"record_no": [r for r, _ in unsure], "language": codes})
        con.register("sf_found_languages", found)
        con.execute("""UPDATE stage_checked s SET language = f.language
                       FROM sf_found_languages f WHERE s.record_no = f.record_no""")
        con.unregister("sf_found_languages")
    return len(unsure)


def _hash_sql() -> str:
    parts = [
        f"coalesce(array_to_string({c}, ','), '\\N')"
        if c == "tags"
        else f"coalesce(CAST({c} AS VARCHAR), '\\N')"
        for c in HASHED
    ]
    return "md5(concat_ws(chr(31), " + ", ".join(parts) + "))"


def _merge(con: duckdb.DuckDBPyConnection, report: BatchReport) -> None:
    """Dedupe within the file, redact, classify against landing and commit it all at once."""
    redacted = {c: redaction_sql(c) for c in ("subject", "body", "csat_raw")}
    select_cols = ", ".join(
        f"{redacted[c]} AS {c}" if c in redacted else c for c in LANDING_COLUMNS
    )
    # Duplicate ids within the file: the latest updated_at (then the later record) wins; the
    # others are quarantined. Grouping ids first keeps the window to the few duplicated ones.
    con.execute("""
        CREATE OR REPLACE TEMP TABLE stage_superseded AS
        WITH dup_ids AS (
            SELECT ticket_id FROM stage_checked WHERE reason IS NULL AND NOT events_only
            GROUP BY ticket_id HAVING count(*) > 1
        ), ranked AS (
            SELECT c.record_no, c.external_id,
                   row_number() OVER w AS rn, first_value(c.record_no) OVER w AS kept
            FROM stage_checked c SEMI JOIN dup_ids d ON c.ticket_id = d.ticket_id
            WHERE c.reason IS NULL AND NOT c.events_only
            WINDOW w AS (PARTITION BY c.ticket_id ORDER BY c.updated_at DESC, c.record_no DESC)
        )
        SELECT record_no, 'duplicate id ' || external_id || ' in this file: record ' || kept
                          || ' (latest updated_at) was kept' AS reason
        FROM ranked WHERE rn > 1
    """)
    con.execute("""
        INSERT INTO stage_quarantine
        SELECT s.record_no, r.raw, s.reason
        FROM stage_superseded s JOIN stage_raw r USING (record_no)
    """)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE stage_classified AS
        WITH clean AS (
            SELECT record_no, {select_cols} FROM stage_checked
            ANTI JOIN stage_superseded USING (record_no)
            WHERE reason IS NULL AND NOT events_only
        ), hashed AS (
            SELECT *, {_hash_sql()} AS content_hash FROM clean
        )
        SELECT s.*,
               CASE WHEN t.ticket_id IS NULL THEN 'loaded'
                    WHEN s.updated_at > t.updated_at AND s.content_hash <> t.content_hash
                        THEN 'updated'
                    ELSE 'unchanged' END AS outcome
        FROM hashed s LEFT JOIN landing.tickets t USING (ticket_id)
    """)
    # Records that only carry events (audit or ticket-event exports): loaded when they bring
    # an event not yet in the warehouse, else unchanged.
    con.execute("""
        CREATE OR REPLACE TEMP TABLE stage_event_records AS
        SELECT c.record_no, CASE WHEN count(e.event_id) FILTER (WHERE x.event_id IS NULL) > 0
                                 THEN 'loaded' ELSE 'unchanged' END AS outcome
        FROM stage_checked c
        LEFT JOIN stage_events e ON e.record_no = c.record_no
        LEFT JOIN landing.ticket_events x ON x.event_id = e.event_id
        WHERE c.reason IS NULL AND c.events_only
        GROUP BY c.record_no
    """)
    outcomes = Counter(
        dict(
            con.execute(
                "SELECT outcome, count(*) FROM stage_classified GROUP BY outcome"
            ).fetchall()
        )
    )
    outcomes.update(
        dict(
            con.execute(
                "SELECT outcome, count(*) FROM stage_event_records GROUP BY outcome"
            ).fetchall()
        )
    )
    reasons = con.execute(
        "SELECT reason, count(*) FROM stage_quarantine GROUP BY reason ORDER BY 2 DESC"
    ).fetchall()
    report.records_loaded = outcomes.get("loaded", 0)
    report.records_updated = outcomes.get("updated", 0)
    report.records_unchanged = outcomes.get("unchanged", 0)
    report.records_quarantined = sum(n for _, n in reasons)
    report.quarantine_reasons = _summarise_reasons(reasons)
    report.records_in = report.records_quarantined + sum(outcomes.values())

    columns = ", ".join(LANDING_COLUMNS)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("""DELETE FROM landing.tickets WHERE ticket_id IN
                       (SELECT ticket_id FROM stage_classified WHERE outcome = 'updated')""")
        con.execute(
            f"""INSERT INTO landing.tickets ({columns}, content_hash, batch_id)
                        SELECT {columns}, content_hash, $batch FROM stage_classified
                        WHERE outcome IN ('loaded', 'updated')""",
            {"batch": report.batch_id},
        )
        report.events_loaded = con.execute(
            f"""
            INSERT INTO landing.ticket_events
            SELECT DISTINCT ON (e.event_id) e.event_id, e.ticket_id, e.created_at, e.author_role,
                   e.kind, e.public, {redaction_sql("e.body")}, CAST(e.detail AS JSON), $batch,
                   e.author_key, e.role_inferred
            FROM stage_events e
            WHERE e.record_no IN (SELECT record_no FROM stage_classified
                                  WHERE outcome IN ('loaded', 'updated')
                                  UNION ALL SELECT record_no FROM stage_event_records)
              AND e.event_id NOT IN (SELECT event_id FROM landing.ticket_events)
            ORDER BY e.event_id
        """,
            {"batch": report.batch_id},
        ).fetchone()[0]
        # Events that arrived before their ticket got "agent" for want of a customer key.
        con.execute("""
            UPDATE landing.ticket_events e
            SET author_role = CASE WHEN e.author_key = t.customer_key THEN 'customer'
                                   ELSE 'agent' END
            FROM landing.tickets t
            WHERE e.role_inferred AND t.ticket_id = e.ticket_id
              AND t.ticket_id IN (SELECT ticket_id FROM stage_classified
                                  WHERE outcome IN ('loaded', 'updated'))
              AND e.author_role <> CASE WHEN e.author_key = t.customer_key THEN 'customer'
                                        ELSE 'agent' END
        """)
        con.execute(
            f"""INSERT INTO landing.quarantine
                        SELECT $batch, $file, record_no, {redaction_sql(ID_MASK_SQL)}, reason
                        FROM stage_quarantine ORDER BY record_no""",
            {"batch": report.batch_id, "file": report.file},
        )
        report.finished_at = datetime.now(UTC)
        _insert_batch(con, report)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise


def _summarise_reasons(reasons: list[tuple[str, int]], top: int = 10) -> dict[str, int]:
    """Group reasons by their field prefix ("created_at: …") so a summary stays short."""
    grouped: Counter[str] = Counter()
    for reason, n in reasons:
        head = reason.split(":", 1)[0] if ":" in reason else reason
        grouped[head[:80]] += n
    return dict(grouped.most_common(top))


def _insert_batch(con: duckdb.DuckDBPyConnection, r: BatchReport) -> None:
    con.execute(
        "INSERT INTO landing.ingest_batches VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            r.batch_id,
            r.source,
            r.format,
            r.file,
            r.file_sha256,
            r.records_in,
            r.records_loaded,
            r.records_updated,
            r.records_unchanged,
            r.records_quarantined,
            r.events_loaded,
            r.started_at,
            r.finished_at,
            orjson.dumps(r.notes).decode() if r.notes else None,
        ],
    )


def _previous_batch(con: duckdb.DuckDBPyConnection, batch_id: str) -> BatchReport | None:
    rows = con.execute(  # fetchall: a half-read result would block later con.sql calls
        """SELECT batch_id, source, format, file, file_sha256, records_in,
                                records_quarantined
                         FROM landing.ingest_batches WHERE batch_id = ?""",
        [batch_id],
    ).fetchall()
    if not rows:
        return None
    (row,) = rows
    bid, source, fmt, file, sha, n_in, n_quarantined = row
    return BatchReport(
        batch_id=bid,
        source=source,
        format=fmt,
        file=file,
        file_sha256=sha,
        records_in=n_in,
        records_unchanged=n_in - n_quarantined,
        records_quarantined=n_quarantined,
        finished_at=datetime.now(UTC),
        skipped_as_duplicate=True,
    )


def ingest_file(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    *,
    fmt: Format | None = None,
    mapping: Mapping | None = None,
    source: str | None = None,
    settings: Settings | None = None,
    progress: ProgressFn | None = None,
    lookups: Lookups | None = None,
    label: str | None = None,
) -> BatchReport:
    """Ingest one file into the landing tables and return its batch report.

    ``label`` names the file in the batch and quarantine tables when ``path`` is a temporary
    file (an API page, a synced-schema chunk). ``lookups`` carries what a Zendesk export's
    users and ticket_fields files tell (roles, custom field titles). Raises ``SourceError``
    (with the path and reason) when the file cannot be read at all; in that case nothing from
    the file is written.
    """
    settings = settings or Settings()
    mapping = mapping or Mapping()
    check_readable(path)
    fmt = fmt or detect_format(path)
    source = source or mapping.source or ("zendesk" if fmt == Format.zendesk else fmt.value)
    batch_id, sha = batch_identity(path, fmt, mapping, source)
    if (previous := _previous_batch(con, batch_id)) is not None:
        return previous

    report = BatchReport(
        batch_id=batch_id,
        source=source,
        format=fmt.value,
        file=label or str(path.resolve()),
        file_sha256=sha,
    )
    install_macros(con)
    install_pseudonymiser(con, settings.salt())
    stats = FlattenStats()
    batches = read_batches(path, fmt, mapping, settings.ingest_chunk_rows, lookups, stats)
    _stage_raw(con, batches, progress)
    if fmt == Format.zendesk:  # the reader already flattened it onto canonical names
        mapping = mapping.model_copy(update={"columns": {}, "ids": "column"})
    validate_staged(
        con, mapping, source=source, max_body_chars=settings.max_body_chars, file_stem=path.stem
    )
    fill_languages(con)
    report.notes = collect_notes(con, stats, mapping, fmt)
    _merge(con, report)
    if report.records_in == 0:
        report.warnings.append("the file holds no records")
    if progress:
        progress(report.records_in)
    return report


def collect_notes(
    con: duckdb.DuckDBPyConnection, stats: FlattenStats, mapping: Mapping, fmt: Format
) -> dict[str, dict]:
    """The batch report's notes: ``unused_fields`` {source key: records}, ``coerced_to_null``
    {field: records}, ``unknown_values`` {field: {value: records}} (values redacted, ≤ 40
    chars), ``event_skipped`` {reason: events}, ``flags`` {name: records}."""
    notes: dict[str, dict] = {}
    rows = con.execute(
        f"""SELECT note, field, {redaction_sql("value")}, sum(n) AS n FROM stage_notes
            GROUP BY ALL ORDER BY n DESC, 1, 2, 3"""
    ).fetchall()
    for note, field_name, value, n in rows:
        if note == "unknown_value":
            bucket = notes.setdefault("unknown_values", {}).setdefault(field_name, {})
            if len(bucket) < 10:
                bucket[value] = n
        else:
            notes.setdefault(note, {})[field_name] = n
    unused = Counter(stats.unused_fields) if fmt == Format.zendesk else _unused_keys(con, mapping)
    if unused:
        notes["unused_fields"] = dict(unused.most_common(25))
    if stats.roles_inferred:
        notes.setdefault("flags", {})["author_role_inferred"] = stats.roles_inferred
    if stats.other_event_types:
        notes["event_types_kept_as_other"] = dict(stats.other_event_types.most_common(10))
    return notes


def _unused_keys(con: duckdb.DuckDBPyConnection, mapping: Mapping) -> Counter:
    """Keys of CSV/JSONL records that no canonical field read (non-empty values only)."""
    used = [mapping.column_for(f) for f in CANONICAL_FIELDS] + ["events"]
    rows = con.execute(
        """SELECT k, count(*) FROM (
               SELECT unnest(json_keys(d)) AS k, d FROM (
                   SELECT coalesce(doc, raw) AS d FROM stage_raw
                   WHERE error IS NULL AND json_valid(coalesce(doc, raw))
                         AND json_type(coalesce(doc, raw)) = 'OBJECT'))
           WHERE k NOT IN (SELECT unnest($used))
             AND nullif(trim(json_extract_string(d, '$."' || replace(k, '"', '\\"') || '"')), '')
                 IS NOT NULL
           GROUP BY k""",
        {"used": used},
    ).fetchall()
    return Counter(dict(rows))
