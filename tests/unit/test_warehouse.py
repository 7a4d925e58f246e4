"""Schema migrations are versioned and idempotent; a second writer gets a readable error."""

import subprocess
import sys

import pytest

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
