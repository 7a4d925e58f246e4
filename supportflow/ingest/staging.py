"""The ingest staging tables: DuckDB temp tables one file passes through on its way to landing.

Every stage table is named here, with the function that creates it and those that read it; the
loader (``load``, ``merge``) and validation (``validate``, ``validate_events``) use these
constants, never the names themselves. All are ``TEMP`` tables of the loading connection,
replaced by the next file (``CREATE OR REPLACE``), so nothing here outlives the connection.

Flow of one file::

    reader batches → RAW → CHECKED ─┬→ NOTES ─────────────────────────→ batch notes
          └→ RAW_EVENTS ────────────┴→ EVENT_FIELDS → EVENTS ──────────┐
                                    ├→ QUARANTINE ←── SUPERSEDED       ├→ write_batch → landing.*
                                    └→ (dedupe) → CLASSIFIED, EVENT_RECORDS ┘
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class StageTable:
    """A staging temp table; ``str()`` gives its name, so it can stand in SQL f-strings."""

    name: str
    produced_by: str
    consumed_by: tuple[str, ...]
    holds: str

    def __str__(self) -> str:
        return self.name


RAW = StageTable(
    "stage_raw",
    produced_by="load.stage_records",
    consumed_by=(
        "validate.validate_staged",
        "merge.dedupe_within_file",
        "load.collect_notes",
    ),
    holds="every record as read: record_no, raw text (its start only for a record over "
    "bounds.KEEP_CHARS, with its full length raw_chars), JSON doc, reader error",
)
RAW_EVENTS = StageTable(
    "stage_raw_events",
    produced_by="load.stage_records",
    consumed_by=("validate_events.validate_events",),
    holds="the events of a large record in pieces (record_no, piece, JSON array of events), "
    "staged apart from its document (bounds.event_pieces)",
)
CHECKED = StageTable(
    "stage_checked",
    produced_by="validate.validate_staged",
    consumed_by=(
        "validate_events.validate_events",
        "load.fill_languages",
        "merge.dedupe_within_file",
        "merge.classify",
    ),
    holds="every record normalised onto landing columns, with its rejection reason or NULL",
)
NOTES = StageTable(
    "stage_notes",
    produced_by="validate.validate_staged",
    consumed_by=("load.collect_notes",),
    holds="counts of values coerced to NULL, unknown values, skipped events and flags",
)
EVENT_FIELDS = StageTable(
    "stage_event_fields",
    produced_by="validate_events.validate_events",
    consumed_by=("validate_events.validate_events",),
    holds="the events of one chunk of records, parsed and checked (reason or NULL)",
)
EVENTS = StageTable(
    "stage_events",
    produced_by="validate_events.validate_events",
    consumed_by=("merge.classify", "merge.write_batch"),
    holds="readable events of loadable records, with ids, roles and pseudonymised keys",
)
QUARANTINE = StageTable(
    "stage_quarantine",
    produced_by="validate.validate_staged (appended to by merge.dedupe_within_file)",
    consumed_by=("merge.classify", "merge.write_batch"),
    holds="records that cannot be loaded: record_no, raw record, reason, record_cut (the raw "
    "record is only its start)",
)
SUPERSEDED = StageTable(
    "stage_superseded",
    produced_by="merge.dedupe_within_file",
    consumed_by=("merge.classify",),
    holds="records whose ticket id comes again later in the same file (the latest wins)",
)
CLASSIFIED = StageTable(
    "stage_classified",
    produced_by="merge.classify",
    consumed_by=("merge.write_batch",),
    holds="clean tickets, redacted and hashed, with their outcome: loaded/updated/unchanged",
)
EVENT_RECORDS = StageTable(
    "stage_event_records",
    produced_by="merge.classify",
    consumed_by=("merge.write_batch",),
    holds="records that carry only events, with their outcome: loaded/unchanged",
)

ALL: tuple[StageTable, ...] = (
    RAW,
    RAW_EVENTS,
    CHECKED,
    NOTES,
    EVENT_FIELDS,
    EVENTS,
    QUARANTINE,
    SUPERSEDED,
    CLASSIFIED,
    EVENT_RECORDS,
)


def quarantine_reason_sql(reason: str, raw: str) -> str:
    """SQL: a quarantine reason, with what the row keeps when ``{raw}.raw`` holds only the start
    of the record (``bounds.KEEP_CHARS``; ``{raw}`` is an alias of ``RAW``)."""
    return f"""{reason} || CASE WHEN {raw}.raw_chars IS NULL THEN '' ELSE
        ' (the quarantine row keeps the first ' || format('{{:,}}', length({raw}.raw))
        || ' of ' || format('{{:,}}', {raw}.raw_chars) || ' characters)' END"""
