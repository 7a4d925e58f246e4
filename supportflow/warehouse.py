"""The DuckDB warehouse: one file, opened by one writer at a time, with versioned migrations.

Python writes only the ``landing``, ``ml`` and ``ops`` schemas; dbt owns everything else.
Migrations are append-only: never edit a released one, add the next number instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from supportflow.migrations import MIGRATIONS
from supportflow.settings import Settings


class WarehouseLockedError(RuntimeError):
    """Another process holds the DuckDB file for writing."""


def apply_migrations(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Bring the schema up to date; returns the versions applied now (empty when current)."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS main.schema_migrations ("
        " version INTEGER PRIMARY KEY, description VARCHAR, applied_at TIMESTAMPTZ DEFAULT now())"
    )
    done = {row[0] for row in con.execute("SELECT version FROM main.schema_migrations").fetchall()}
    applied = []
    for version, description, sql in MIGRATIONS:
        if version in done:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(sql)
            con.execute(
                "INSERT INTO main.schema_migrations (version, description) VALUES (?, ?)",
                [version, description],
            )
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        applied.append(version)
    return applied


def open_warehouse(path: Path, *, read_only: bool = False, settings: Settings | None = None):
    """Open the DuckDB file (creating folders), with bounded memory and spill to disk."""
    settings = settings or Settings()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise WarehouseLockedError(
                f"The warehouse {path} is open for writing in another process "
                "(DuckDB allows one writer per file). Wait for it to finish and retry."
            ) from exc
        raise
    settings.duckdb_temp_dir.mkdir(parents=True, exist_ok=True)
    con.execute(f"SET memory_limit = '{settings.duckdb_memory_limit}'")
    con.execute(f"SET threads = {settings.duckdb_threads}")
    temp_dir = str(settings.duckdb_temp_dir).replace("'", "''")  # a path is data, never SQL
    con.execute(f"SET temp_directory = '{temp_dir}'")
    con.execute("SET TimeZone = 'UTC'")
    # DuckDB draws its own progress bar on long statements in a terminal; ours report progress.
    con.execute("SET enable_progress_bar = false")
    # Statements that need an order say ORDER BY; dropping insertion order speeds up bulk work.
    con.execute("SET preserve_insertion_order = false")
    return con


@contextmanager
def transaction(con) -> Iterator:
    """All statements in the block commit together, or none do."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


@contextmanager
def connect(settings: Settings | None = None, *, read_only: bool = False) -> Iterator:
    """A migrated connection to the configured warehouse, closed on exit."""
    settings = settings or Settings()
    con = open_warehouse(settings.warehouse, read_only=read_only, settings=settings)
    try:
        if not read_only:
            apply_migrations(con)
        yield con
    finally:
        con.close()


# A derived row (alias ``d``) whose ticket has no text any more: emptied, or deleted in the help
# desk (``landing.ticket_texts`` leaves deleted tickets out). Readers join derived rows to
# tickets without re-checking, and a deleted ticket's summary or draft must not outlive it.
WITHOUT_TEXT = """NOT EXISTS (
    SELECT 1 FROM landing.ticket_texts t WHERE t.ticket_id = d.ticket_id AND t.has_text)"""


def prune_without_text(con, table: str, where: str = "true", params: dict | None = None) -> int:
    """Delete the rows of ``table`` (``ml.ticket_vectors``, ``ml.assist_outputs``,
    ``ml.article_suggestions``: any table with ``ticket_id``) matching ``where`` whose ticket
    has no text any more (``WITHOUT_TEXT``); returns how many rows. Writes nothing when none."""
    query = f"FROM {table} d WHERE ({where}) AND {WITHOUT_TEXT}"
    ((count,),) = con.execute(f"SELECT count(*) {query}", params or {}).fetchall()
    if count:
        with transaction(con):
            con.execute(f"DELETE {query}", params or {})
    return count


# Which tickets get the work only agents look at (drafts, summaries, related tickets, article
# suggestions): those not settled, and those created within ``$recent_days`` days of the newest
# ticket (NULL: every ticket). Relative to the newest ticket, not the clock, so a re-run over
# the same data picks the same tickets. Over ``landing.ticket_texts t``.
WORKING_SET = """($recent_days IS NULL OR NOT t.is_settled
    OR t.created_at >= (SELECT max(created_at) FROM landing.ticket_texts)
                       - to_days(CAST($recent_days AS INTEGER)))"""
