"""Schema migrations are versioned and idempotent; a second writer gets a readable error."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from supportflow.ingest import staging
from supportflow.ingest.landing_schema import CANONICAL_FIELDS, TICKET_COLUMNS
from supportflow.ingest.mapping import CANONICAL_FIELDS as MAPPING_FIELDS
from supportflow.warehouse import MIGRATIONS, WarehouseLockedError, apply_migrations, connect


def test_migrations_apply_once(settings):
    with connect(settings) as con:
        assert apply_migrations(con) == []
        versions = [r[0] for r in con.execute("SELECT version FROM schema_migrations").fetchall()]
        tables = {
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'landing'"
            ).fetchall()
        }
    assert versions == [m[0] for m in MIGRATIONS]
    assert {
        "tickets",
        "ticket_events",
        "ingest_batches",
        "quarantine",
        "kb_articles",
        "kb_chunks",
    } <= tables


def test_landing_schema_declaration_matches_the_migrated_table(con):
    """``landing_schema.TICKET_COLUMNS`` is the one Python statement of landing.tickets."""
    described = {
        name: (type_, null == "NO")
        for name, type_, null, *_ in con.execute("DESCRIBE landing.tickets").fetchall()
    }
    declared = {c.name: (c.type, c.required) for c in TICKET_COLUMNS}
    assert declared == described
    assert MAPPING_FIELDS == CANONICAL_FIELDS
    assert set(CANONICAL_FIELDS) <= {c.canonical for c in TICKET_COLUMNS}


def test_stage_tables_are_named_only_in_staging():
    """Every ``stage_*`` temp table is declared in ``ingest/staging.py`` and named nowhere else."""
    names = {t.name for t in staging.ALL}
    assert len(names) == len(staging.ALL)
    ingest = Path(staging.__file__).parent
    for path in ingest.glob("*.py"):
        if path.name == "staging.py":
            continue
        found = set(re.findall(r"\bstage_[a-z_]+\b(?!\()", path.read_text()))
        assert not found, f"{path.name} names stage tables {sorted(found)}: use staging.*"


def test_batch_counts_must_balance(con):
    with pytest.raises(Exception, match="CHECK"):
        con.execute(
            "INSERT INTO landing.ingest_batches VALUES ('b', 's', 'jsonl', 'f', 'x', "
            "5, 1, 1, 1, 1, 0, now(), now(), NULL)"
        )


def test_second_writer_gets_a_clear_error(settings):
    with connect(settings):
        code = (
            "from supportflow.warehouse import connect\n"
            "from supportflow.settings import Settings\n"
            "with connect(Settings()): pass\n"
        )
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode != 0
    assert WarehouseLockedError.__name__ in proc.stderr
    assert "one writer per file" in proc.stderr


def test_dbt_project_var_fallbacks_equal_their_python_definitions():
    import yaml

    from supportflow.dbt_runner import project_vars
    from supportflow.settings import Settings

    project = yaml.safe_load((Settings().dbt_project_dir / "dbt_project.yml").read_text())
    assert project["vars"] == project_vars()


@pytest.mark.parametrize("limit", ["1GB; DROP TABLE x", "1GB' ; SELECT 1 --", "lots"])
def test_memory_limit_is_a_size_never_sql(limit, monkeypatch):
    from pydantic import ValidationError

    from supportflow.settings import Settings

    monkeypatch.setenv("SUPPORTFLOW_DUCKDB_MEMORY_LIMIT", limit)
    with pytest.raises(ValidationError, match="duckdb_memory_limit"):
        Settings()
