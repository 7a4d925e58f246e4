"""A synced Zendesk schema opened for reading: where its tables are (a DuckDB file, Parquet or
CSV files), which connector wrote them (Fivetran or Airbyte), views over them, and the column
helpers the queries use. See ``synced`` for the tables and columns each connector writes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Self

import duckdb

from supportflow.ingest.flavours import Flavour
from supportflow.ingest.synced_schema import (
    BLOB_KEYS,
    REQUIRED,
    SUFFIXES,
    TABLES,
    _first_line,
    _ident,
    _lit,
)
from supportflow.settings import Settings


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


class SyncedTables:
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

    def __enter__(self) -> Self:
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


def _unraw(found: dict[str, str]) -> dict[str, str]:
    """Airbyte raw tables (``_airbyte_raw_<stream>``) under their stream's name, unless a typed
    table of that name exists."""
    out = dict(found)
    for name, relation in found.items():
        stream = name.removeprefix("_airbyte_raw_")
        if stream != name:
            out.setdefault(stream, relation)
    return out
