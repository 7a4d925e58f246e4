"""The metrics do not depend on the time zone of the machine that runs them (case 09).

One warehouse is ingested from the case's tickets (all timestamps in UTC), then `supportflow
build-metrics` runs on a copy of it in a fresh process under TZ=UTC, America/New_York and
Asia/Tokyo: the process's zone is what DuckDB's session defaults to, so it has to be set in the
environment of a new process, not in this one. Real CLI, real dbt, real DuckDB.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from prefect.settings import PREFECT_API_URL

from supportflow.settings import Settings
from supportflow.warehouse import open_warehouse

pytestmark = pytest.mark.slow

CASE = Path(__file__).resolve().parents[1] / "data" / "cases" / "09"
ZONES = ("UTC", "America/New_York", "Asia/Tokyo")

# T-101: Mon 2026-07-06 08:00 → reply 10:00 UTC (hours 09–17 UTC: 60 business minutes);
# T-102: Tue 2026-07-07 02:00 → reply 14:00 UTC (09:00–14:00: 300 business minutes).
EXPECTED_TICKETS = {
    "T-101": (date(2026, 7, 6), 120.0, 60.0),
    "T-102": (date(2026, 7, 7), 720.0, 300.0),
}
EXPECTED_DAILY = {date(2026, 7, 6): 1, date(2026, 7, 7): 1}


def environment(home: Path, tz: str) -> dict[str, str]:
    env = {**os.environ, "TZ": tz, "SUPPORTFLOW_HOME": str(home)}
    env["SUPPORTFLOW_PII_SALT"] = "test-salt"
    env.pop("SUPPORTFLOW_WAREHOUSE_PATH", None)
    api = PREFECT_API_URL.value()  # the session's test server: no ephemeral server per command
    if api:
        env["PREFECT_API_URL"] = api
    return env


def supportflow(home: Path, tz: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "supportflow.cli", *args],
        env=environment(home, tz),
        capture_output=True,
        text=True,
        timeout=600,
    )


def read_marts(home: Path) -> dict:
    con = open_warehouse(home / "warehouse.duckdb", read_only=True, settings=Settings(home=home))
    try:
        tickets = {  # ticket ids carry the source as a prefix (e.g. "jsonl:T-101")
            row[0].rsplit(":", 1)[-1]: row[1:]
            for row in con.execute(
                "SELECT ticket_id, created_date, first_reply_minutes, first_reply_business_minutes"
                " FROM marts.fct_tickets ORDER BY ticket_id"
            ).fetchall()
        }
        daily = dict(
            con.execute(
                "SELECT activity_date, tickets_created FROM marts.fct_support_daily"
                " WHERE tickets_created > 0 ORDER BY activity_date"
            ).fetchall()
        )
    finally:
        con.close()
    return {"tickets": tickets, "daily": daily}


@pytest.fixture(scope="module")
def builds(tmp_path_factory) -> dict[str, dict]:
    root = tmp_path_factory.mktemp("timezones")
    source = root / "ingested"
    # ingest on a non-UTC machine too: the export's timestamps carry their offset (Z)
    ingest = supportflow(source, "America/New_York", "ingest", str(CASE / "tickets_utc.jsonl"))
    assert ingest.returncode == 0, ingest.stdout + ingest.stderr
    out = {}
    for tz in ZONES:
        home = root / tz.replace("/", "_")
        home.mkdir()
        shutil.copy2(source / "warehouse.duckdb", home / "warehouse.duckdb")
        proc = supportflow(home, tz, "build-metrics")
        zone = subprocess.run(
            [sys.executable, "-c", "import duckdb; print(duckdb.connect()"
             ".execute(\"SELECT current_setting('TimeZone')\").fetchone()[0])"],
            env=environment(home, tz), capture_output=True, text=True, check=True,
        )  # fmt: skip
        out[tz] = {
            "proc": proc,
            "duckdb_default_zone": zone.stdout.strip(),
            "marts": read_marts(home) if proc.returncode == 0 else None,
        }
    return out


@pytest.mark.parametrize("tz", ZONES)
def test_build_metrics_succeeds_in_the_machine_zone(builds, tz):
    build = builds[tz]
    # the zone really reached the process: an unpinned DuckDB session would run in it
    assert build["duckdb_default_zone"] == tz
    assert build["proc"].returncode == 0, build["proc"].stdout + build["proc"].stderr
    assert "0 failed" in build["proc"].stdout


@pytest.mark.parametrize("tz", ZONES)
def test_ticket_minutes_and_dates_are_the_utc_figures(builds, tz):
    marts = builds[tz]["marts"]
    assert marts is not None, f"build-metrics failed under TZ={tz}"
    assert marts["tickets"] == EXPECTED_TICKETS
    assert marts["daily"] == EXPECTED_DAILY


def test_marts_are_identical_under_every_zone(builds):
    results = [builds[tz]["marts"] for tz in ZONES]
    assert all(r is not None for r in results)
    assert all(r == results[0] for r in results[1:])
