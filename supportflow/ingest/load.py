"""Load one export file into the landing tables: stage → validate → dedupe → classify → write.

Why this shape:
- Python streams and validates records (clear reasons per record) and appends them to DuckDB
  temp tables in chunks, so memory stays bounded by the chunk size, not the file size.
- DuckDB then redacts, hashes and classifies the whole file in vectorised SQL.
- The merge into ``landing.*`` and the batch row commit in one transaction: a run killed at any
  point leaves either nothing or everything, and a re-run completes the job.
- A file already loaded (same bytes, source and mapping) is recognised by its fingerprint and
  skipped in O(file read), which makes nightly re-runs over an export folder cheap.
The staging tables a file passes through are listed in ``staging``; the merge steps are in
``merge``; the batch report and fingerprint in ``batch``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import duckdb
import pyarrow as pa

from models.language import detect_languages
from supportflow.ingest.batch import BatchReport, batch_identity, file_sha256, previous_batch
from supportflow.ingest.bounds import Limits
from supportflow.ingest.language import vote_sql
from supportflow.ingest.mapping import CANONICAL_FIELDS, Mapping
from supportflow.ingest.merge import classify, dedupe_within_file, write_batch
from supportflow.ingest.redact import install_known_names, install_macros, redaction_sql
from supportflow.ingest.sources import READERS, Format, check_readable, detect_format, read_batches
from supportflow.ingest.staging import CHECKED, EVENTS, NOTES, RAW, RAW_EVENTS
from supportflow.ingest.validate import install_pseudonymiser, validate_staged
from supportflow.ingest.zendesk import FlattenStats, Lookups
from supportflow.settings import Settings
from supportflow.warehouse import transaction

__all__ = [  # BatchReport and the fingerprint live in ``batch``; callers import them from here
    "BatchReport",
    "batch_identity",
    "collect_notes",
    "file_sha256",
    "fill_languages",
    "ingest_file",
]

RAW_SCHEMA = pa.schema(
    [
        ("record_no", pa.int64()),
        ("raw", pa.string()),
        ("doc", pa.string()),
        ("error", pa.string()),
        ("raw_chars", pa.int64()),  # full length when ``raw`` keeps only its start (``bounds``)
    ]
)
PIECES_SCHEMA = pa.schema(
    [("record_no", pa.int64()), ("piece", pa.int32()), ("events", pa.string())]
)
ProgressFn = Callable[[int], None]


def _insert_arrow(con: duckdb.DuckDBPyConnection, statement: str, table: pa.Table) -> None:
    """Run ``<statement> SELECT * FROM <table>`` for an in-memory Arrow table."""
    con.register("sf_arrow_chunk", table)
    try:
        con.execute(f"{statement} SELECT * FROM sf_arrow_chunk")
    finally:
        con.unregister("sf_arrow_chunk")


def stage_records(con: duckdb.DuckDBPyConnection, batches, progress: ProgressFn | None) -> int:
    """Append every batch to the ``RAW`` stage table (large records' events in pieces to
    ``RAW_EVENTS``); returns the number of records."""
    _insert_arrow(con, f"CREATE OR REPLACE TEMP TABLE {RAW} AS", RAW_SCHEMA.empty_table())
    _insert_arrow(con, f"CREATE OR REPLACE TEMP TABLE {RAW_EVENTS} AS", PIECES_SCHEMA.empty_table())
    count = 0
    for batch in batches:
        if batch.events is not None:
            columns = zip(batch.event_pieces(), PIECES_SCHEMA, strict=True)
            pieces = pa.Table.from_arrays(
                [pa.array(values, f.type) for values, f in columns], schema=PIECES_SCHEMA
            )
            _insert_arrow(con, f"INSERT INTO {RAW_EVENTS}", pieces)
        chunk = pa.Table.from_arrays(
            [
                pa.array(batch.record_no, pa.int64()),
                pa.array(batch.raw, pa.string()),
                pa.array(batch.doc, pa.string()),
                pa.array(batch.error, pa.string()),
                pa.array(batch.full_lengths(), pa.int64()),
            ],
            schema=RAW_SCHEMA,
        )
        _insert_arrow(con, f"INSERT INTO {RAW}", chunk)
        before, count = count, count + len(batch.record_no)
        if progress and count // 100_000 > before // 100_000:
            progress(count)
    return count


def fill_languages(con: duckdb.DuckDBPyConnection) -> int:
    """Detect the language of valid staged tickets that came without one; returns how many."""
    con.execute(f"""UPDATE {CHECKED} SET language = {vote_sql("concat_ws(' ', subject, body)")}
                    WHERE reason IS NULL AND language IS NULL""")
    unsure = con.execute(f"""SELECT record_no, concat_ws(' ', subject, body) FROM {CHECKED}
                            WHERE reason IS NULL AND language IS NULL""").fetchall()
    if unsure:
        codes = detect_languages([text for _, text in unsure])
        found = pa.table({"record_no": [r for r, _ in unsure], "language": codes})
        con.register("sf_found_languages", found)
        con.execute(f"""UPDATE {CHECKED} s SET language = f.language
                       FROM sf_found_languages f WHERE s.record_no = f.record_no""")
        con.unregister("sf_found_languages")
    return len(unsure)


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
    source = source or mapping.source or fmt.value
    batch_id, sha = batch_identity(path, fmt, mapping, source)
    if (previous := previous_batch(con, batch_id)) is not None:
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
    lookups = lookups if lookups is not None else Lookups()
    limits = Limits(settings.max_body_chars, settings.max_record_chars)
    batches = read_batches(path, fmt, mapping, settings.ingest_chunk_rows, lookups, stats, limits)
    stage_records(con, batches, progress)
    install_known_names(con, lookups.user_names)  # a page's users sideload is read by now
    id_columns = [mapping.column_for(f) for f in ("customer_id", "assignee_id")]
    reader = READERS[fmt]
    if reader.flattens:  # the reader already put the records on canonical names
        mapping = mapping.model_copy(update={"columns": {}, "ids": "column"})
    validate_staged(
        con, mapping, source=source, max_body_chars=settings.max_body_chars, file_stem=path.stem
    )
    fill_languages(con)
    report.notes = collect_notes(con, stats, mapping, fmt)
    dedupe_within_file(con)
    classify(con).fill(report)
    with transaction(con):
        write_batch(con, report, id_columns)
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
    chars), ``event_skipped`` {reason: events}, ``flags`` {name: records}, ``cut_to_limit``
    {what: records} (``bounds``: values left out at a size limit, tags past ``MAX_TAGS``).
    ``coerced_to_null`` also counts the Zendesk arrays (comments, audits…) that held another
    type and were read as empty."""
    notes: dict[str, dict] = {}
    rows = con.execute(
        f"""SELECT note, field, {redaction_sql("value")}, sum(n) AS n FROM {NOTES}
            GROUP BY ALL ORDER BY n DESC, 1, 2, 3"""
    ).fetchall()
    for note, field_name, value, n in rows:
        if note == "unknown_value":
            bucket = notes.setdefault("unknown_values", {}).setdefault(field_name, {})
            if len(bucket) < 10:
                bucket[value] = n
        else:
            notes.setdefault(note, {})[field_name] = n
    # The reader counted the keys it left unused (all of them when it flattens, those of the
    # large records it shrank otherwise); SQL counts the rest.
    unused = Counter(stats.unused_fields)
    if not READERS[fmt].flattens:
        unused.update(_unused_keys(con, mapping))
    for kind, counts in (
        ("cut_to_limit", stats.cut_values),
        ("coerced_to_null", stats.wrong_types),
    ):
        for what, n in counts.items():
            bucket = notes.setdefault(kind, {})
            bucket[what] = bucket.get(what, 0) + n
    if unused:
        notes["unused_fields"] = dict(unused.most_common(25))
    # events whose author no users file (this load's or an earlier one's, by salted key) names
    (inferred,) = con.execute(f"SELECT count(*) FROM {EVENTS} WHERE role_inferred").fetchone()
    if inferred:
        notes.setdefault("flags", {})["author_role_inferred"] = inferred
    if stats.other_event_types:
        notes["event_types_kept_as_other"] = dict(stats.other_event_types.most_common(10))
    return notes


def _unused_keys(con: duckdb.DuckDBPyConnection, mapping: Mapping) -> Counter:
    """Keys of CSV/JSONL records that no canonical field read (non-empty values only)."""
    used = [mapping.column_for(f) for f in CANONICAL_FIELDS] + ["events"]
    rows = con.execute(
        f"""SELECT k, count(*) FROM (
               SELECT unnest(json_keys(d)) AS k, d FROM (
                   SELECT coalesce(doc, raw) AS d FROM {RAW}
                   WHERE error IS NULL AND json_valid(coalesce(doc, raw))
                         AND json_type(coalesce(doc, raw)) = 'OBJECT'))
           WHERE k NOT IN (SELECT unnest($used))
             AND nullif(trim(json_extract_string(d, '$."' || replace(k, '"', '\\"') || '"')), '')
                 IS NOT NULL
           GROUP BY k""",
        {"used": used},
    ).fetchall()
    return Counter(dict(rows))
