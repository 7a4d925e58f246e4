"""Shared fixtures. Every test gets its own SUPPORTFLOW_HOME; tools run for real, offline."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

_SESSION_HOME = Path(tempfile.mkdtemp(prefix="supportflow-tests-"))
os.environ["SUPPORTFLOW_HOME"] = str(_SESSION_HOME)
os.environ.setdefault("PREFECT_HOME", str(_SESSION_HOME / "prefect"))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

BANKING77 = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "banking77"


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """A fresh SUPPORTFLOW_HOME (warehouse, salt, dbt target) for one test."""
    path = tmp_path / "home"
    monkeypatch.setenv("SUPPORTFLOW_HOME", str(path))
    monkeypatch.delenv("SUPPORTFLOW_WAREHOUSE_PATH", raising=False)
    monkeypatch.setenv("SUPPORTFLOW_PII_SALT", "test-salt")
    return path


@pytest.fixture
def settings(home):
    from supportflow.settings import Settings

    return Settings()


@pytest.fixture
def con(settings):
    """A migrated connection to this test's warehouse file."""
    from supportflow.warehouse import connect

    with connect(settings) as connection:
        yield connection


@pytest.fixture(scope="session")
def demo_export(tmp_path_factory) -> Path:
    """A small generated data set in all three formats (session-wide: generation is seeded)."""
    from supportflow.demo.write import write_demo

    out = tmp_path_factory.mktemp("demo")
    write_demo(out, tickets=600, days=30, seed=11, workers=1)
    return out


@pytest.fixture(scope="session")
def demo_live(demo_export) -> int:
    """How many of ``demo_export``'s 600 tickets are not deleted: the ones every step acts on
    (a ticket deleted in the help desk leaves scoring, knowledge, escalation and assist)."""
    import json

    with (demo_export / "tickets.jsonl").open() as handle:
        statuses = [json.loads(line).get("status") for line in handle if line.strip()]
    return sum(s != "deleted" for s in statuses)
