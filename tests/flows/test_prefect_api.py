"""The temporary Prefect server's lean start (issue 19): a new home copies the migrated
database template instead of migrating again, and a database migrated by this Prefect version
starts without the migration check."""

from __future__ import annotations

import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from supportflow.prefect_api import (
    _stop,
    launch,
    migrated_marker,
    template_database,
    wait_healthy,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="servers start on Linux"),
]
PREFECT = version("prefect")


def started(database: Path, monkeypatch) -> dict[str, str]:
    """Launch a server for ``database``, wait until healthy, stop it; its environment."""
    monkeypatch.setenv("PREFECT_HOME", str(database.parent))
    server = launch(database, PREFECT)
    try:
        raw = Path(f"/proc/{server.proc.pid}/environ").read_bytes()
        wait_healthy(server, 120)
    finally:
        _stop(server.proc)
    return dict(item.split("=", 1) for item in raw.decode().split("\0") if "=" in item)


def test_a_new_home_gets_the_migrated_template_and_skips_the_migration_check(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    template = template_database(PREFECT)
    assert template == tmp_path / "cache" / "supportflow" / "prefect" / PREFECT / "prefect.db"

    first = tmp_path / "home1" / "prefect.db"
    env = started(first, monkeypatch)
    # the first home on the machine migrates; the result becomes the template
    assert "PREFECT_SERVER_DATABASE_MIGRATE_ON_START" not in env
    assert template.exists() and migrated_marker(first).read_text() == PREFECT

    second = tmp_path / "home2" / "prefect.db"
    second.parent.mkdir()
    env = started(second, monkeypatch)
    assert env["PREFECT_SERVER_DATABASE_MIGRATE_ON_START"] == "false"
    assert migrated_marker(second).read_text() == PREFECT
    assert second.stat().st_size > 100_000  # Prefect's tables, from the template


def test_a_database_of_another_prefect_version_is_migrated_again(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    database = tmp_path / "home" / "prefect.db"
    started(database, monkeypatch)
    migrated_marker(database).write_text("2.0.0")  # as an older Prefect left it
    env = started(database, monkeypatch)
    assert "PREFECT_SERVER_DATABASE_MIGRATE_ON_START" not in env
    assert migrated_marker(database).read_text() == PREFECT
