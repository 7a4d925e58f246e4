"""The ingest staging tables: DuckDB temp tables one file passes through on its way to landing.

Every stage table is named here, with the function that creates it and those that read it; the
loader (``load``, ``merge``) and validation (``validate``, ``validate_events``) use these
constants, never the names themselves. All are ``TEMP`` tables of the loading connection,
replaced by the next file (``CREATE OR REPLACE``), so nothing here outlives the connection.

Flow of one file::

    reader batches → RAW → CHECKED ─┬→ NOTES ─────────────────────────→ batch notes
                                    ├→ EVENT_FIELDS → EVENTS ──────────┐
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
    holds="every record as read: record_no, raw text, JSON doc, reader error",
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
    holds="records that cannot be loaded: record_no, raw record, reason",
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
    CHECKED,
    NOTES,
    EVENT_FIELDS,
    EVENTS,
    QUARANTINE,
    SUPERSEDED,
    CLASSIFIED,
    EVENT_RECORDS,
)
