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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

import duckdb

from supportflow.ingest.flavours import Flavour
from supportflow.ingest.load import BatchReport, ingest_file
from supportflow.ingest.sources import Format
from supportflow.ingest.synced_schema import (
    AIRBYTE_PREFIXES,
    BLOB_KEYS,
    CORE_TICKET_KEYS,
    FIVETRAN_TICKET_COLUMNS,
    INTERNAL_PREFIXES,
    NESTED_KEYS,
    REQUIRED,
    SUFFIXES,
    TABLES,
    _bool,
    _first_line,
    _ident,
    _lit,
    _nested,
    _tag_list,
    ticket_json,
)
from supportflow.ingest.zendesk import Lookups
from supportflow.settings import Settings

log = logging.getLogger("supportflow.ingest")

SOURCE = "zendesk"  # the same ticket ids as Zendesk exports and the API pull: zendesk:<id>
TEMP_FOLDER = "synced_tmp"
ROWS_PER_READ = 10_000


ProgressFn = Callable[[str], None]


class SyncedSchemaError(ValueError):
    """A synced schema that cannot be read, with a one-line reason naming the path."""


@dataclass
class SyncedStats:
    """What the reader saw (the loader's batch reports say what became of the tickets)."""

    tickets: int = 0
    older_ticket_copies_skipped: int = 0
    comments: int = 0
    deleted_comments_skipped: int = 0
    comments_without_ticket: int = 0
    changes: int = 0  # ticket_field_history rows (Fivetran) or audits (Airbyte)
    changes_without_ticket: int = 0


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


class _Grouped:
    """Rows ordered by ``__key`` (NULLs last), handed out per key; rows of keys never asked for
    (no such ticket) are counted as ``orphans``."""

    def __init__(self, reader, on_error: Callable[[Exception], Exception]):
        self._rows = self._iter(reader)
        self._on_error = on_error
        self.orphans = 0
        self._head = self._next()

    @staticmethod
    def _iter(reader) -> Iterator[dict]:
        for batch in reader:
            yield from batch.to_pylist()

    def _next(self) -> dict | None:
        try:
            return next(self._rows, None)
        except duckdb.Error as exc:
            raise self._on_error(exc) from None

    def __iter__(self) -> Iterator[dict]:
        """Every row in order (for the ticket stream, which is not grouped)."""
        while self._head is not None:
            row, self._head = self._head, self._next()
            yield row

    def take(self, key: int) -> list[dict]:
        out = []
        while self._head is not None:
            head_key = self._head["__key"]
            if head_key is None or head_key > key:
                break
            if head_key < key:
                self.orphans += 1
            else:
                out.append(self._head)
            self._head = self._next()
        return out

    def drain(self) -> int:
        while self._head is not None:
            self.orphans += 1
            self._head = self._next()
        return self.orphans


class SyncedSource:
    """A synced Zendesk schema opened for reading (a context manager; nothing is written).

    ``path``: a DuckDB file, or a folder of ``<table>.parquet`` / ``<table>.csv`` files (or
    ``<table>/`` folders of part files). ``schema``: ``fivetran`` or ``airbyte``, detected from
    the table names when None. ``db_schema``: the schema inside a DuckDB file that holds the
    tables, when several do. Raises ``SyncedSchemaError`` with a one-line reason (no such path,
    not a DuckDB file, ``no ticket table in PATH: found [...]``, a table without a column it
    needs).
    """

    def __init__(
        self,
        path: Path,
        schema: Flavour | str | None = None,
        *,
        db_schema: str | None = None,
        settings: Settings | None = None,
    ):
        self.path = Path(path)
        self.settings = settings or Settings()
        self.stats = SyncedStats()
        self.con = duckdb.connect()
        try:
            self._configure()
            self.storage, found = self._discover(db_schema)
            self.flavour = self._flavour(schema, found)
            self.tables = {
                logical: name for logical, name in TABLES[self.flavour].items() if name in found
            }
            self.columns: dict[str, list[str]] = {}
            self.blob: set[str] = set()
            for logical, name in self.tables.items():
                self._view(logical, name, found[name])
        except BaseException:
            self.con.close()
            raise

    # ── opening ──────────────────────────────────────────────────────────────────────────────

    def _configure(self) -> None:
        s = self.settings
        s.duckdb_temp_dir.mkdir(parents=True, exist_ok=True)
        self.con.execute(f"SET memory_limit = {_lit(s.duckdb_memory_limit)}")
        self.con.execute(f"SET threads = {int(s.duckdb_threads)}")
        self.con.execute(f"SET temp_directory = {_lit(str(s.duckdb_temp_dir))}")
        self.con.execute("SET TimeZone = 'UTC'")  # naive timestamps are UTC

    def _discover(self, db_schema: str | None) -> tuple[str, dict[str, str]]:
        """(storage, {table name (lower case): relation SQL})."""
        path = self.path
        if not path.exists():
            raise SyncedSchemaError(f"no such file or folder: {path}")
        if path.is_file():
            return "duckdb", self._duckdb_tables(db_schema)
        if not path.is_dir():
            raise SyncedSchemaError(f"{path} is neither a DuckDB file nor a folder")
        parquet: dict[str, str] = {}
        csv: dict[str, str] = {}
        for entry in sorted(path.iterdir()):
            name = entry.name.lower()
            if entry.is_file():
                for suffix, kind in SUFFIXES:
                    if name.endswith(suffix) and len(name) > len(suffix):
                        target = parquet if kind == "parquet" else csv
                        target.setdefault(name[: -len(suffix)], str(entry))
            elif entry.is_dir():
                names = [p.name.lower() for p in entry.iterdir() if p.is_file()]
                if any(n.endswith(".parquet") for n in names):
                    parquet.setdefault(name, str(entry / "*.parquet"))
                elif any(n.endswith((".csv", ".csv.gz")) for n in names):
                    pattern = "*.csv" if any(n.endswith(".csv") for n in names) else "*.csv.gz"
                    csv.setdefault(name, str(entry / pattern))
        found = {
            table: f"read_csv({_lit(file)}, header = true, all_varchar = true, "
            "union_by_name = true)"
            for table, file in csv.items()
            if table not in parquet
        }
        found.update(
            {t: f"read_parquet({_lit(f)}, union_by_name = true)" for t, f in parquet.items()}
        )
        kinds = ["parquet"] * bool(parquet) + ["csv"] * bool(set(csv) - set(parquet))
        return "+".join(kinds) or "folder", _unraw(found)

    def _duckdb_tables(self, db_schema: str | None) -> dict[str, str]:
        try:
            self.con.execute(f"ATTACH {_lit(str(self.path))} AS sf_src (READ_ONLY)")
        except duckdb.Error as exc:
            raise SyncedSchemaError(
                f"{self.path} is not a readable DuckDB file: {_first_line(exc)}"
            ) from None
        rows = self.con.execute("""
            SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = 'sf_src'
            UNION ALL
            SELECT schema_name, view_name FROM duckdb_views()
            WHERE database_name = 'sf_src' AND NOT internal
        """).fetchall()
        by_schema: dict[str, dict[str, str]] = {}
        for schema, table in rows:
            relation = f"sf_src.{_ident(schema)}.{_ident(table)}"
            by_schema.setdefault(schema, {}).setdefault(table.lower(), relation)
        if db_schema is not None:
            if db_schema not in by_schema:
                raise SyncedSchemaError(
                    f"no schema {db_schema!r} in {self.path}: found {sorted(by_schema)}"
                )
            return _unraw(by_schema[db_schema])
        ticket_names = {"ticket", "tickets", "_airbyte_raw_tickets"}
        holding = sorted(s for s, tables in by_schema.items() if ticket_names & tables.keys())
        if len(holding) > 1:
            raise SyncedSchemaError(
                f"ticket tables in several schemas of {self.path}: {', '.join(holding)}; "
                "choose one with --db-schema"
            )
        if holding:
            return _unraw(by_schema[holding[0]])
        return _unraw({t: r for tables in by_schema.values() for t, r in tables.items()})

    def _flavour(self, schema: Flavour | str | None, found: dict[str, str]) -> Flavour:
        names = sorted(found)
        if schema is not None:
            flavour = Flavour(schema)
            wanted = TABLES[flavour]["tickets"]
            if wanted not in found:
                raise SyncedSchemaError(f"no {wanted} table in {self.path}: found {names}")
            return flavour
        fivetran, airbyte = "ticket" in found, "tickets" in found
        if fivetran and airbyte:
            raise SyncedSchemaError(
                f"both a Fivetran ticket table and an Airbyte tickets table in {self.path}: "
                "pass --schema fivetran or --schema airbyte"
            )
        if not (fivetran or airbyte):
            raise SyncedSchemaError(f"no ticket table in {self.path}: found {names}")
        return Flavour.fivetran if fivetran else Flavour.airbyte

    def _view(self, logical: str, name: str, relation: str) -> None:
        """``sf_<logical>``: the table with lower-case column names (JSON records expanded to
        the keys SQL needs, the record itself as ``__raw``)."""
        try:
            described = self.con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()
        except duckdb.Error as exc:
            raise SyncedSchemaError(
                f"cannot read the {name} table in {self.path}: {_first_line(exc)}"
            ) from None
        columns = [row[0] for row in described]
        lower = [c.lower() for c in columns]
        if "_airbyte_data" in lower and "id" not in lower:
            data = _ident(columns[lower.index("_airbyte_data")])
            keys = BLOB_KEYS.get(logical, ("id",))
            select = ", ".join(
                f"json_extract_string({data}, {_lit('$.' + k)}) AS {_ident(k)}" for k in keys
            )
            select += f", CAST({data} AS VARCHAR) AS __raw"
            self.blob.add(logical)
            lower = list(keys)
        else:
            select = ", ".join(
                f"{_ident(c)} AS {_ident(c.lower())}" for c in columns if not c.startswith("__")
            )
            lower = [c for c in lower if not c.startswith("__")]
        for options in REQUIRED.get(logical, ()):
            if not any(o in lower for o in options):
                raise SyncedSchemaError(
                    f"the {name} table in {self.path} has no {' or '.join(options)} column: "
                    f"found {lower}"
                )
        self.columns[logical] = lower
        self.con.execute(f"CREATE OR REPLACE VIEW sf_{logical} AS SELECT {select} FROM {relation}")

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> SyncedSource:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # ── SQL helpers ──────────────────────────────────────────────────────────────────────────

    def _has(self, logical: str, column: str) -> bool:
        return column in self.columns.get(logical, ())

    def _col(self, logical: str, alias: str, *names: str) -> str:
        """``alias.<first of names the table has>``, else NULL."""
        for name in names:
            if self._has(logical, name):
                return f"{alias}.{_ident(name)}"
        return "NULL"

    def _deleted(self, logical: str, alias: str) -> str:
        if not self._has(logical, "_fivetran_deleted"):
            return "false"
        flag = f"lower(CAST({alias}._fivetran_deleted AS VARCHAR))"
        return f"coalesce({flag} IN ('true', 't', '1'), false)"

    def _latest(self, logical: str, alias: str) -> str:
        """An ordering value: the newest copy of a row sorts first by it (descending)."""
        parts = [
            f"TRY_CAST({alias}.{_ident(c)} AS TIMESTAMPTZ)"
            for c in (
                "updated_at",
                "_fivetran_synced",
                "_airbyte_extracted_at",
                "_airbyte_emitted_at",
            )
            if self._has(logical, c)
        ]
        return f"coalesce({', '.join(parts)}, TIMESTAMPTZ '1970-01-01')" if parts else "1"

    def _roles_sql(self) -> str:
        if "users" not in self.tables:
            return "(SELECT NULL::BIGINT AS k, NULL::VARCHAR AS role WHERE false)"
        return f"""(SELECT TRY_CAST(u.id AS BIGINT) AS k,
                           arg_max(CAST(u.role AS VARCHAR), {self._latest("users", "u")}) AS role
                    FROM sf_users u WHERE u.id IS NOT NULL GROUP BY ALL)"""

    def _tickets_sql(self) -> str:
        latest = self._latest("tickets", "t")
        joins, extra = [], []
        if "tags" in self.tables:
            tag = self._col("tags", "g", "tag", "tags")
            joins.append(f"""LEFT JOIN (
                SELECT TRY_CAST(g.ticket_id AS BIGINT) AS k,
                       list_sort(list_distinct(list(CAST({tag} AS VARCHAR)))) AS tags
                FROM sf_tags g WHERE {tag} IS NOT NULL AND NOT {self._deleted("tags", "g")}
                GROUP BY ALL) tg ON tg.k = t.__key""")
            extra.append("tg.tags AS __tags")
        csat = []
        if "ratings" in self.tables:
            joins.append(f"""LEFT JOIN (
                SELECT TRY_CAST(r.ticket_id AS BIGINT) AS k,
                       arg_max(CAST(r.score AS VARCHAR), {self._latest("ratings", "r")}) AS score
                FROM sf_ratings r WHERE NOT {self._deleted("ratings", "r")}
                GROUP BY ALL) sr ON sr.k = t.__key""")
            csat.append("sr.score")
        if "history" in self.tables:
            joins.append("""LEFT JOIN (
                SELECT TRY_CAST(h.ticket_id AS BIGINT) AS k,
                       arg_max(CAST(h.value AS VARCHAR),
                               coalesce(TRY_CAST(h.updated AS TIMESTAMPTZ),
                                        TIMESTAMPTZ '1970-01-01')) AS score
                FROM sf_history h WHERE h.field_name = 'satisfaction_score'
                GROUP BY ALL) sh ON sh.k = t.__key""")
            csat.append("sh.score")
        if csat:
            extra.append(f"coalesce({', '.join(csat)}) AS __csat")
        extra_sql = "".join(f", {e}" for e in extra)
        return f"""
            WITH t AS (
                SELECT *, TRY_CAST(t.id AS BIGINT) AS __key,
                       {self._deleted("tickets", "t")} AS __deleted
                FROM sf_tickets t
                QUALIFY t.id IS NULL OR row_number() OVER (
                    PARTITION BY CAST(t.id AS VARCHAR) ORDER BY {latest} DESC) = 1
            )
            SELECT t.*{extra_sql} FROM t {" ".join(joins)}
            ORDER BY t.__key NULLS LAST, CAST(t.id AS VARCHAR)
        """

    def _comments_sql(self) -> str:
        c = "comments"
        author = self._col(c, "c", "user_id", "author_id")
        created = self._col(c, "c", "created", "created_at")
        keep = [
            f"{self._col(c, 'c', name)} AS {name}"
            for name in ("body", "plain_body", "html_body", "public", "via")
            if self._has(c, name)
        ]
        raw = ", c.__raw" if c in self.blob else ""
        return f"""
            SELECT TRY_CAST(c.ticket_id AS BIGINT) AS __key, c.id, {author} AS author_id,
                   {created} AS created_at{"".join(", " + k for k in keep)}{raw},
                   {self._deleted(c, "c")} AS __deleted, r.role AS __role
            FROM sf_comments c LEFT JOIN {self._roles_sql()} r
                 ON r.k = TRY_CAST({author} AS BIGINT)
            ORDER BY __key NULLS LAST, TRY_CAST({created} AS TIMESTAMPTZ) NULLS LAST,
                     TRY_CAST(c.id AS BIGINT), CAST(c.id AS VARCHAR)
        """

    def _history_sql(self) -> str:
        user = self._col("history", "h", "user_id")
        ts = "TRY_CAST(h.updated AS TIMESTAMPTZ)"
        return f"""
            SELECT TRY_CAST(h.ticket_id AS BIGINT) AS __key, h.field_name, h.value, h.updated,
                   {user} AS user_id, epoch_ms({ts}) AS __ms, r.role AS __role,
                   lag(h.value) OVER (PARTITION BY TRY_CAST(h.ticket_id AS BIGINT), h.field_name
                                      ORDER BY {ts}, h.value) AS __previous
            FROM sf_history h LEFT JOIN {self._roles_sql()} r ON r.k = TRY_CAST({user} AS BIGINT)
            WHERE NOT {self._deleted("history", "h")}
            ORDER BY __key NULLS LAST, {ts} NULLS LAST, CAST({user} AS VARCHAR), h.field_name,
                     h.value
        """

    def _audits_sql(self) -> str:
        a = "audits"
        author = self._col(a, "a", "author_id")
        keep = [f"a.{name}" for name in ("via", "events") if self._has(a, name)]
        raw = ", a.__raw" if a in self.blob else ""
        return f"""
            SELECT TRY_CAST(a.ticket_id AS BIGINT) AS __key, a.id,
                   {self._col(a, "a", "created_at")} AS created_at, {author} AS author_id
                   {"".join(", " + k for k in keep)}{raw}, r.role AS __role
            FROM sf_audits a LEFT JOIN {self._roles_sql()} r ON r.k = TRY_CAST({author} AS BIGINT)
            ORDER BY __key NULLS LAST, TRY_CAST(a.created_at AS TIMESTAMPTZ) NULLS LAST,
                     TRY_CAST(a.id AS BIGINT), CAST(a.id AS VARCHAR)
        """

    # ── reading ──────────────────────────────────────────────────────────────────────────────

    def field_lookups(self) -> Lookups:
        """Custom ticket field titles: Fivetran's custom columns, Airbyte's ``ticket_fields``."""
        lookups = Lookups()
        if self.flavour == Flavour.fivetran:
            lookups.add_ticket_fields(
                {"id": c, "title": c.removeprefix("custom_")} for c in self._custom_columns()
            )
        elif "fields" in self.tables:
            rows = self._read("fields", "SELECT * FROM sf_fields").read_all().to_pylist()
            lookups.add_ticket_fields(self._record(r, "fields") for r in rows)
        return lookups

    def _custom_columns(self) -> list[str]:
        return [
            c
            for c in self.columns["tickets"]
            if c not in FIVETRAN_TICKET_COLUMNS and not c.startswith(INTERNAL_PREFIXES)
        ]

    def _read(self, logical: str, sql: str):
        """A streaming Arrow reader over ``sql`` on its own cursor (streams run side by side)."""
        try:
            return self.con.cursor().sql(sql).to_arrow_reader(ROWS_PER_READ)
        except duckdb.Error as exc:
            raise self._error(logical)(exc) from None

    def _error(self, logical: str) -> Callable[[Exception], Exception]:
        name = self.tables.get(logical, logical)
        return lambda exc: SyncedSchemaError(
            f"cannot read the {name} table in {self.path}: {_first_line(exc)}"
        )

    def _record(self, row: dict, logical: str) -> dict:
        """A row as the Zendesk object: the JSON record itself for ``_airbyte_data`` tables."""
        if logical in self.blob and row.get("__raw"):
            parsed = _nested(row["__raw"])
            if isinstance(parsed, dict):
                return parsed
        return {k: v for k, v in row.items() if not k.startswith("__")}

    def records(self) -> Iterator[tuple[dict, dict[str, str]]]:
        """(Zendesk ticket dict, {author id: role}) per ticket, ordered by ticket id.

        The ticket dict has the Zendesk API keys (id, created_at, updated_at, subject,
        description, status, priority, requester_id, assignee_id, tags, via.channel,
        satisfaction_rating.score, custom_fields where the sync has them), ``comments``
        ([{id, author_id, body, public, created_at}]) and ``audits`` ([{id, created_at,
        author_id, events: [{type, field_name, value, previous_value}]}]). The roles are those
        of the comment and change authors the ``user`` table knows. Raises
        ``SyncedSchemaError`` when a table cannot be read part-way.
        """
        count = self.con.execute("""
            SELECT count(*), count(DISTINCT CAST(id AS VARCHAR)), count(*) FILTER (id IS NULL)
            FROM sf_tickets""").fetchone()
        self.stats.older_ticket_copies_skipped = count[0] - count[1] - count[2]
        custom = self._custom_columns() if self.flavour == Flavour.fivetran else []
        comments = self._stream("comments", self._comments_sql)
        changes = (
            self._stream("history", self._history_sql)
            if self.flavour == Flavour.fivetran
            else self._stream("audits", self._audits_sql)
        )
        tickets = _Grouped(self._read("tickets", self._tickets_sql()), self._error("tickets"))
        for row in tickets:
            key, roles = row["__key"], {}
            ticket = self._ticket(row, custom)
            own = comments.take(key) if comments and key is not None else []
            ticket["comments"] = self._comments(own, roles)
            rows = changes.take(key) if changes and key is not None else []
            if self.flavour == Flavour.fivetran:
                ticket["audits"] = self._history_audits(rows, roles)
            else:
                ticket["audits"] = self._audits(rows, roles)
            self.stats.tickets += 1
            yield ticket, roles
        self.stats.comments_without_ticket = comments.drain() if comments else 0
        self.stats.changes_without_ticket = changes.drain() if changes else 0

    def tickets(self) -> Iterator[dict]:
        """The Zendesk ticket dicts of :meth:`records` without the roles."""
        for ticket, _ in self.records():
            yield ticket

    def _stream(self, logical: str, sql: Callable[[], str]) -> _Grouped | None:
        if logical not in self.tables:
            return None
        return _Grouped(self._read(logical, sql()), self._error(logical))

    def _ticket(self, row: dict, custom: list[str]) -> dict:
        if self.flavour == Flavour.airbyte:
            record = self._record(row, "tickets")
            ticket = {
                k: _nested(v) if k in NESTED_KEYS else v
                for k, v in record.items()
                if not k.startswith(AIRBYTE_PREFIXES)
            }
        else:
            ticket = {k: row.get(k) for k in CORE_TICKET_KEYS}
            ticket["tags"] = row.get("__tags") or []
            if row.get("via_channel") is not None:
                ticket["via"] = {"channel": row["via_channel"]}
            if row.get("__csat") is not None:
                ticket["satisfaction_rating"] = {"score": row["__csat"]}
            if custom:
                ticket["custom_fields"] = [{"id": c, "value": row.get(c)} for c in custom]
            for k, v in row.items():
                if k in FIVETRAN_TICKET_COLUMNS and k not in ticket and k != "via_channel":
                    ticket[k] = v
        if row.get("__deleted"):
            ticket["status"] = "deleted"
        return ticket

    def _comments(self, rows: list[dict], roles: dict[str, str]) -> list[dict]:
        out = []
        for row in rows:
            if row.get("__deleted"):
                self.stats.deleted_comments_skipped += 1
                continue
            record = self._record(row, "comments")
            comment = {
                "id": record.get("id"),
                "author_id": record.get("author_id", row.get("author_id")),
                "body": record.get("body"),
                "public": _bool(record.get("public")),
                "created_at": record.get("created_at", row.get("created_at")),
            }
            for key in ("plain_body", "html_body"):
                if record.get(key) is not None:
                    comment[key] = record[key]
            if record.get("via") is not None:
                comment["via"] = _nested(record["via"])
            self._role(roles, comment["author_id"], row)
            self.stats.comments += 1
            out.append(comment)
        return out

    def _history_audits(self, rows: list[dict], roles: dict[str, str]) -> list[dict]:
        """Field-history rows → audits: one per (time, user), a Change event per field."""
        audits: list[dict] = []
        for row in rows:
            stamp = row["__ms"] if row["__ms"] is not None else row["updated"]
            audit_id = f"h{stamp}.{row['user_id']}"
            if not audits or audits[-1]["id"] != audit_id:
                audits.append(
                    {
                        "id": audit_id,
                        "created_at": row["updated"],
                        "author_id": row["user_id"],
                        "events": [],
                    }
                )
            name = row["field_name"]
            value, previous = row["value"], row["__previous"]
            if name == "tags":
                value, previous = _tag_list(value), _tag_list(previous)
            events = audits[-1]["events"]
            taken = sum(1 for e in events if e["field_name"] == name)
            events.append(
                {
                    "id": name if not taken else f"{name}.{taken + 1}",
                    "type": "Change",
                    "field_name": name,
                    "value": value,
                    "previous_value": previous,
                }
            )
            self._role(roles, row["user_id"], row)
            self.stats.changes += 1
        return audits

    def _audits(self, rows: list[dict], roles: dict[str, str]) -> list[dict]:
        out = []
        for row in rows:
            record = self._record(row, "audits")
            audit = {
                "id": record.get("id"),
                "created_at": record.get("created_at"),
                "author_id": record.get("author_id"),
                "via": _nested(record.get("via")),
                "events": _nested(record.get("events")) or [],
            }
            self._role(roles, audit["author_id"], row)
            self.stats.changes += 1
            out.append(audit)
        return out

    @staticmethod
    def _role(roles: dict[str, str], author: Any, row: dict) -> None:
        if author is not None and row.get("__role"):
            roles[str(author)] = str(row["__role"])


def _unraw(found: dict[str, str]) -> dict[str, str]:
    """Airbyte raw tables (``_airbyte_raw_<stream>``) under their stream's name, unless a typed
    table of that name exists."""
    out = dict(found)
    for name, relation in found.items():
        stream = name.removeprefix("_airbyte_raw_")
        if stream != name:
            out.setdefault(stream, relation)
    return out


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
