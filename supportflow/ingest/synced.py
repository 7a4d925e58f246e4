"""Zendesk as Fivetran or Airbyte synced it into a warehouse, loaded through the Zendesk loader.

Many teams already copy Zendesk Support into a warehouse with a managed connector. This reader
takes such a copy — a DuckDB file, or a folder of Parquet or CSV files with one file (or one
folder of part files) per table, named after the table — and rebuilds Zendesk-API-shaped ticket
dicts from it (the shape ``supportflow.ingest.zendesk`` flattens), so the one loader
(:func:`supportflow.ingest.load.ingest_file`) validates, redacts, dedupes and accounts for them
as it does for every other source.

Tables and columns (names as the connectors write them; references below):

Fivetran (Zendesk Support connector) — ``ticket`` (required), ``ticket_comment``, ``user``,
``ticket_field_history``, and when present ``ticket_tag`` and ``satisfaction_rating``:

- ``ticket``: id, created_at, updated_at, subject, description, status, priority, requester_id,
  assignee_id, via_channel, ``_fivetran_deleted`` (true → status ``deleted``); the other
  documented columns (type, group_id, brand_id, …) pass through as Zendesk keys; any column the
  connector does not document is a custom field (Fivetran syncs custom ticket fields as extra
  columns), titled by its name without a ``custom_`` prefix, so ``custom_category`` fills
  ``category`` like a ticket field titled "Category" does;
- ``ticket_comment``: id, ticket_id, user_id (author), body, public, created,
  ``_fivetran_deleted`` (deleted comments are skipped and counted);
- ``user``: id, role (end-user/agent/admin) — the roles of comment and change authors;
- ``ticket_field_history``: ticket_id, field_name, updated, user_id, value — one row per field
  value; rows of one ticket at the same time by the same user become one audit of ``Change``
  events, each with the field's previous row as ``previous_value`` (``tags`` values are split on
  spaces, or read as a JSON list);
- ``ticket_tag``: ticket_id, tag (or tags) → the ticket's ``tags``;
- ``satisfaction_rating``: ticket_id, score, updated_at → ``satisfaction_rating.score`` (the
  latest per ticket); without that table, the latest ``satisfaction_score`` in the field history.

Sources: Fivetran, "Zendesk Support schema ERD" (table and field reference),
https://fivetran.com/docs/connectors/applications/zendesk/connector-schema, and Fivetran's dbt
package reading those tables (``models/src_zendesk.yml``; ``macros/get_ticket_columns.sql``,
``get_ticket_comment_columns.sql``, ``get_ticket_field_history_columns.sql``,
``get_user_columns.sql``, ``get_satisfaction_rating_columns.sql``,
``get_ticket_tag_columns.sql``), https://github.com/fivetran/dbt_zendesk_source.

Airbyte (Zendesk Support source) — streams ``tickets`` (required), ``ticket_comments``,
``users``, and when present ``ticket_audits`` and ``ticket_fields``. Their records are the
Zendesk API objects, so columns keep the API names: tickets (id, created_at, updated_at, subject,
description, status, priority, requester_id, assignee_id, tags, via, satisfaction_rating,
custom_fields), ticket_comments (id, ticket_id, author_id, body, html_body, plain_body, public,
created_at, via), users (id, role), ticket_audits (id, ticket_id, created_at, author_id, via,
events), ticket_fields (id, title). Nested values may be JSON text (CSV, JSON columns) or
structs/lists (Parquet, DuckDB). A table written without typed columns (``_airbyte_data`` holding
the record as JSON: CSV "no flattening", raw tables ``_airbyte_raw_<stream>``) is read too.
``_airbyte_*`` columns are bookkeeping and dropped; a ticket copied several times (incremental
append) keeps its latest ``updated_at``. Source: Airbyte, "Zendesk Support" source connector,
https://docs.airbyte.com/integrations/sources/zendesk-support, and its stream schemas
(``source_zendesk_support/schemas/shared/tickets.json``, ``ticket_comments.json``,
``users.json``, ``ticket_audits.json``), https://github.com/airbytehq/airbyte.

How it reads: DuckDB (ATTACH … READ_ONLY, ``read_parquet``, ``read_csv`` with every column as
text) in a private in-memory session with the warehouse's memory cap and spill folder. Tickets
(ordered by id), comments and history/audits (ordered by ticket id) stream side by side and are
merged per ticket, so one pass reads each table and memory holds one batch of rows, not the
table. Author roles come from joining each comment and change with ``user``, so only the roles a
chunk needs are held. Tickets go to the loader in chunks (``Settings.ingest_chunk_rows``, 50,000):
each chunk is written as newline-delimited JSON to a private temporary file under
``<home>/synced_tmp/``, loaded as one batch, and deleted at once (raw text never stays on disk).
A chunk with the same bytes as before is recognised by the loader and skipped, so re-running on
an unchanged sync changes nothing.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

import duckdb

from supportflow.ingest.flavours import Flavour
from supportflow.ingest.load import BatchReport, ingest_file
from supportflow.ingest.sources import Format
from supportflow.ingest.synced_records import SyncedSource
from supportflow.ingest.synced_schema import (
    TABLES,
    ticket_json,
)
from supportflow.ingest.synced_tables import SyncedSchemaError, SyncedStats
from supportflow.ingest.zendesk import Lookups

__all__ = [  # the reading lives in synced_tables and synced_records; callers import it here
    "SyncedReport",
    "SyncedSchemaError",
    "SyncedSource",
    "SyncedStats",
    "ingest_synced",
    "temp_folder",
]
from supportflow.settings import Settings

log = logging.getLogger("supportflow.ingest")

SOURCE = "zendesk"  # the same ticket ids as Zendesk exports and the API pull: zendesk:<id>
TEMP_FOLDER = "synced_tmp"


ProgressFn = Callable[[str], None]


@dataclass
class SyncedReport:
    """One ``ingest-synced`` run: where from, what was read, one batch report per chunk."""

    path: str
    flavour: str
    storage: str  # duckdb | parquet | csv | parquet+csv
    tables: dict[str, str]  # logical table → the table read
    stats: SyncedStats = field(default_factory=SyncedStats)
    batches: list[BatchReport] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def balanced(self) -> bool:
        return all(b.balanced for b in self.batches)

    def summary(self) -> str:
        s = self.stats
        text = (
            f"{self.flavour} schema ({self.storage}) at {self.path}: {s.tickets:,} tickets, "
            f"{s.comments:,} comments, {s.changes:,} "
            f"{'field changes' if self.flavour == Flavour.fivetran else 'audits'} "
            f"in {len(self.batches)} batch{'es' if len(self.batches) != 1 else ''}"
        )
        skipped = [
            (s.older_ticket_copies_skipped, "older ticket copies"),
            (s.deleted_comments_skipped, "deleted comments"),
            (s.comments_without_ticket, "comments without a ticket"),
            (s.changes_without_ticket, "changes without a ticket"),
        ]
        parts = [f"{n:,} {what}" for n, what in skipped if n]
        return text + (f"; skipped {', '.join(parts)}" if parts else "")


def temp_folder(settings: Settings) -> Path:
    """``<home>/synced_tmp``, private to the user; files a killed run left there are removed."""
    folder = settings.home.resolve() / TEMP_FOLDER
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.chmod(0o700)
    for stale in folder.glob(f"{SOURCE}-synced-*.json"):
        stale.unlink(missing_ok=True)
    return folder


def ingest_synced(
    con: duckdb.DuckDBPyConnection,
    source: Path | SyncedSource,
    *,
    schema: Flavour | str | None = None,
    db_schema: str | None = None,
    settings: Settings | None = None,
    chunk_size: int | None = None,
    progress: ProgressFn | None = None,
) -> SyncedReport:
    """Load a synced Zendesk schema into the warehouse behind ``con``; returns what happened.

    ``source`` is a path (opened with :class:`SyncedSource`, ``schema`` and ``db_schema`` as
    there) or an open ``SyncedSource``. Tickets are loaded in chunks of ``chunk_size`` (default
    ``settings.ingest_chunk_rows``), each one batch of ``ingest_file(..., fmt=Format.zendesk,
    source="zendesk", lookups=...)`` from a temporary NDJSON file that is deleted afterwards.
    Raises ``SyncedSchemaError`` (one line) when the schema cannot be read; chunks loaded
    before a failure stay loaded (each is its own committed batch).
    """
    settings = settings or Settings()
    size = chunk_size or settings.ingest_chunk_rows
    if isinstance(source, SyncedSource):
        return _ingest(con, source, settings, size, progress)
    with SyncedSource(Path(source), schema, db_schema=db_schema, settings=settings) as opened:
        return _ingest(con, opened, settings, size, progress)


def _ingest(con, src: SyncedSource, settings: Settings, size: int, progress) -> SyncedReport:
    report = SyncedReport(
        path=str(src.path.resolve()),
        flavour=src.flavour.value,
        storage=src.storage,
        tables=dict(src.tables),
        stats=src.stats,
    )
    for logical in ("comments", "users"):
        if logical not in src.tables:
            report.warnings.append(
                f"no {TABLES[src.flavour][logical]} table: "
                + (
                    "tickets load without comments"
                    if logical == "comments"
                    else "comment authors other than the requester are inferred"
                )
            )
    base = src.field_lookups()
    folder = temp_folder(settings)
    records = src.records()
    chunk = 0
    while True:
        chunk += 1
        fd, name = tempfile.mkstemp(
            prefix=f"{SOURCE}-synced-{src.flavour.value}-c{chunk:05d}-", suffix=".json", dir=folder
        )
        path = Path(name)
        lookups = Lookups(field_names=dict(base.field_names), field_titles=dict(base.field_titles))
        written = 0
        try:
            with os.fdopen(fd, "wb") as handle:
                for ticket, roles in islice(records, size):
                    handle.write(ticket_json(ticket) + b"\n")
                    lookups.user_roles.update(roles)
                    written += 1
            if written == 0:
                break
            batch = ingest_file(
                con,
                path,
                fmt=Format.zendesk,
                source=SOURCE,
                settings=settings,
                lookups=lookups,
                label=f"{src.path.resolve()}#chunk-{chunk}",
            )
        finally:
            path.unlink(missing_ok=True)
        report.batches.append(batch)
        line = _describe_chunk(chunk, written, batch)
        log.info(line)
        if progress:
            progress(line)
        if written < size:
            break
    if src.stats.tickets == 0:
        report.warnings.append(f"the {src.tables['tickets']} table holds no tickets")
    return report


def _describe_chunk(chunk: int, written: int, b: BatchReport) -> str:
    if b.skipped_as_duplicate:
        return f"chunk {chunk}: {written:,} tickets, already ingested as batch {b.batch_id}"
    return (
        f"chunk {chunk}: {written:,} tickets = {b.records_loaded:,} loaded + "
        f"{b.records_updated:,} updated + {b.records_unchanged:,} unchanged + "
        f"{b.records_quarantined:,} quarantined; {b.events_loaded:,} events"
    )
