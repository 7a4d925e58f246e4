"""`supportflow ingest-synced`: a Zendesk schema as Fivetran or Airbyte syncs it, read from a
DuckDB file, a Parquet folder and a CSV folder, loaded through the real Zendesk loader.

Fixtures (tests/data/synced) are small hand-written tables with the connectors' column names
(Fivetran: the Zendesk Support schema ERD and fivetran/dbt_zendesk_source; Airbyte: the Zendesk
Support source's stream schemas). The DuckDB and Parquet copies are built from them here with
typed columns (BIGINT ids, TIMESTAMP / TIMESTAMPTZ times, BOOLEAN flags), as a warehouse holds
them; the CSV folder is read as it is (every column text).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from supportflow.ingest.synced import SyncedSchemaError, SyncedSource, ingest_synced

pytestmark = pytest.mark.slow
DATA = Path(__file__).resolve().parents[1] / "data" / "synced"
FIVETRAN, AIRBYTE = DATA / "fivetran", DATA / "airbyte"
BOOLS = {
    "public", "is_public", "has_incidents", "allow_channelback", "active", "suspended",
    "_fivetran_deleted", "facebook_comment", "tweet", "voice_comment",
}  # fmt: skip
TIMES = {"created_at", "updated_at", "created", "updated", "due_at", "_fivetran_synced"}


def _csv(path: Path) -> str:
    return f"read_csv('{path}', header = true, all_varchar = true)"


def _typed(path: Path, times: str) -> str:
    """The CSV fixture as a warehouse types it."""
    names = [r[0] for r in duckdb.sql(f"DESCRIBE SELECT * FROM {_csv(path)}").fetchall()]

    def cast(name: str) -> str:
        if name in BOOLS:
            kind = "BOOLEAN"
        elif name in TIMES:
            kind = times
        elif name == "id" or name.endswith("_id"):
            kind = "BIGINT"
        else:
            kind = "VARCHAR"
        return f'CAST("{name}" AS {kind}) AS "{name}"'

    return f"SELECT {', '.join(cast(n) for n in names)} FROM {_csv(path)}"


def fivetran_duckdb(root: Path) -> Path:
    """A DuckDB file with the tables in schema ``zendesk`` (a stray table in ``main``)."""
    path = root / "fivetran.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA zendesk")
        con.execute("CREATE TABLE main.scratch AS SELECT 1 AS x")
        for csv in sorted(FIVETRAN.glob("*.csv")):
            con.execute(f'CREATE TABLE zendesk."{csv.stem}" AS {_typed(csv, "TIMESTAMP")}')
    return path


def fivetran_parquet(root: Path) -> Path:
    """One Parquet file per table; ticket_comment as a folder of two part files."""
    folder = root / "fivetran_parquet"
    (folder / "ticket_comment").mkdir(parents=True)
    for csv in sorted(FIVETRAN.glob("*.csv")):
        select = _typed(csv, "TIMESTAMPTZ")
        if csv.stem == "ticket_comment":
            for part, where in enumerate(("id < 9011", "id >= 9011")):
                target = folder / "ticket_comment" / f"part-{part}.parquet"
                duckdb.execute(f"COPY (SELECT * FROM ({select}) WHERE {where}) TO '{target}'")
        else:
            duckdb.execute(f"COPY ({select}) TO '{folder / csv.stem}.parquet' (FORMAT parquet)")
    return folder


def airbyte_raw_parquet(root: Path) -> Path:
    """Airbyte tables without typed columns: ``_airbyte_raw_<stream>`` with ``_airbyte_data``."""
    folder = root / "airbyte_raw"
    folder.mkdir()
    for csv in sorted(AIRBYTE.glob("*.csv")):
        names = [r[0] for r in duckdb.sql(f"DESCRIBE SELECT * FROM {_csv(csv)}").fetchall()]

        def value(name: str) -> str:
            col = f'"{name}"'
            if name == "id" or name.endswith("_id"):
                return f"to_json(TRY_CAST({col} AS BIGINT))"
            if name in BOOLS:
                return f"to_json(CAST({col} AS BOOLEAN))"
            return (
                f"CASE WHEN left({col}, 1) IN ('[', '{{') THEN {col}::JSON ELSE to_json({col}) END"
            )

        pairs = ", ".join(f"'{n}', {value(n)}" for n in names if not n.startswith("_airbyte"))
        duckdb.execute(f"""COPY (SELECT _airbyte_raw_id, _airbyte_extracted_at,
                                        json_object({pairs}) AS _airbyte_data FROM {_csv(csv)})
                           TO '{folder}/_airbyte_raw_{csv.stem}.parquet' (FORMAT parquet)""")
    return folder


def rows(con, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


def counts(con) -> tuple:
    return rows(
        con,
        """SELECT (SELECT count(*) FROM landing.tickets), (SELECT count(*) FROM
           landing.ticket_events), (SELECT count(*) FROM landing.quarantine),
           (SELECT string_agg(content_hash, ',' ORDER BY ticket_id) FROM landing.tickets)""",
    )[0]


@pytest.fixture
def sources(tmp_path) -> dict[str, Path]:
    return {
        "duckdb": fivetran_duckdb(tmp_path),
        "parquet": fivetran_parquet(tmp_path),
        "csv": FIVETRAN,
    }


@pytest.mark.parametrize("storage", ["duckdb", "parquet", "csv"])
def test_fivetran_sync_loads_like_a_zendesk_export(storage, sources, settings, con):
    report = ingest_synced(con, sources[storage], settings=settings)

    assert (report.flavour, report.storage) == ("fivetran", storage)
    assert report.balanced and len(report.batches) == 1
    batch = report.batches[0]
    assert (batch.records_in, batch.records_loaded, batch.records_quarantined) == (4, 4, 0)
    s = report.stats
    assert (s.tickets, s.comments, s.deleted_comments_skipped, s.comments_without_ticket) == (
        4, 10, 1, 1,
    )  # fmt: skip
    assert (s.changes, s.changes_without_ticket) == (19, 1)
    assert not list((settings.home / "synced_tmp").iterdir())  # temp files deleted

    tickets = {
        r[0]: r[1:]
        for r in rows(
            con,
            """SELECT external_id, status, is_deleted, csat_raw, csat_good, category,
                      customer_tier, tags, channel FROM landing.tickets""",
        )
    }
    assert tickets == {
        "1001": ("solved", False, "good", True, "account_access", "gold", ["account", "login"],
                 "email"),
        "1002": ("open", False, None, None, "billing", "silver",
                 ["billing", "escalated", "refund"], "web"),
        "1003": ("deleted", True, None, None, None, None, [], "api"),  # _fivetran_deleted
        "1004": ("solved", False, "bad", False, None, None, [], "chat"),  # CSAT from history
    }  # fmt: skip

    roles = dict(
        rows(con, "SELECT event_id, author_role FROM landing.ticket_events WHERE kind = 'comment'")
    )
    assert roles == {
        "zendesk:1001:c9001": "customer",  # the requester
        "zendesk:1001:c9002": "agent",  # user.role agent
        "zendesk:1001:c9003": "agent",
        "zendesk:1001:c9004": "customer",
        "zendesk:1002:c9010": "customer",
        "zendesk:1002:c9011": "customer",  # another end-user (cc'd), not the requester
        "zendesk:1002:c9012": "agent",  # admin
        "zendesk:1003:c9020": "customer",
        "zendesk:1004:c9030": "customer",
        "zendesk:1004:c9031": "agent",
    }  # deleted comment 9013 and the orphan 9099 are not there
    internal = rows(con, "SELECT public FROM landing.ticket_events WHERE event_id LIKE '%:c9003'")
    assert internal == [(False,)]

    status = rows(
        con,
        """SELECT ticket_id, created_at, author_role, detail->>'previous_value'
           FROM landing.ticket_events
           WHERE kind = 'status' AND detail->>'value' = 'solved' ORDER BY ticket_id""",
    )
    assert status == [
        ("zendesk:1001", datetime(2026, 3, 2, 10, 5, tzinfo=UTC), "agent", "open"),
        ("zendesk:1004", datetime(2026, 3, 6, 9, 10, tzinfo=UTC), "agent", "new"),
    ]
    kinds = dict(
        rows(con, "SELECT kind, count(*) FROM landing.ticket_events WHERE kind <> 'comment' "
                  "GROUP BY ALL")
    )  # fmt: skip
    assert kinds["escalate"] == 1 and kinds["assign"] == 3
    text = rows(con, "SELECT string_agg(body, ' ') FROM landing.ticket_events")[0][0]
    text += rows(con, "SELECT string_agg(body, ' ') FROM landing.tickets")[0][0]
    assert "alma.k@example.com" not in text and "7946 0958" not in text  # redacted

    before = counts(con)
    again = ingest_synced(con, sources[storage], settings=settings)
    assert [b.skipped_as_duplicate for b in again.batches] == [True]
    assert counts(con) == before


def test_chunks_are_batches_and_a_rerun_in_other_chunks_changes_nothing(settings, con):
    first = ingest_synced(con, FIVETRAN, settings=settings, chunk_size=3)
    assert [b.records_in for b in first.batches] == [3, 1]
    assert all(b.balanced for b in first.batches)
    before = counts(con)

    again = ingest_synced(con, FIVETRAN, settings=settings, chunk_size=2)  # other bytes
    assert [(b.records_in, b.records_unchanged, b.events_loaded) for b in again.batches] == [
        (2, 2, 0),
        (2, 2, 0),
    ]
    assert counts(con) == before


def test_every_storage_of_one_sync_gives_the_same_rows(sources, settings, con):
    ingest_synced(con, sources["duckdb"], settings=settings)
    before = counts(con)
    for storage in ("parquet", "csv"):
        report = ingest_synced(con, sources[storage], settings=settings)
        (batch,) = report.batches
        # Typed copies write the same bytes (already ingested); the all-text CSV other bytes
        # of the same rows (unchanged).
        assert batch.skipped_as_duplicate == (storage == "parquet"), storage
        assert (batch.records_unchanged, batch.events_loaded) == (4, 0), storage
        assert counts(con) == before


@pytest.mark.parametrize("variant", ["typed csv", "_airbyte_data parquet"])
def test_airbyte_streams_load(variant, tmp_path, settings, con):
    path = AIRBYTE if variant == "typed csv" else airbyte_raw_parquet(tmp_path)
    report = ingest_synced(con, path, settings=settings)

    assert report.flavour == "airbyte" and report.balanced
    assert report.stats.older_ticket_copies_skipped == 1  # incremental append kept two copies
    tickets = rows(
        con,
        """SELECT external_id, status, csat_raw, csat_good, category, tags FROM landing.tickets
           ORDER BY 1""",
    )
    assert tickets == [
        ("2001", "solved", "bad", False, "bug", ["export", "performance"]),
        ("2002", "pending", "offered", None, "how_to", []),  # offered: no rating
    ]
    events = rows(
        con,
        """SELECT event_id, author_role, kind, body FROM landing.ticket_events
           WHERE kind = 'comment' ORDER BY event_id""",
    )
    assert [(e[0].rsplit(":", 1)[1], e[1]) for e in events] == [
        ("c9101", "customer"),
        ("c9102", "agent"),
        ("c9103", "agent"),
        ("c9201", "customer"),
        ("c9202", "agent"),  # admin
    ]
    assert "Fixed in today's release." in events[2][3]  # html_body as text
    solved = rows(
        con,
        """SELECT created_at FROM landing.ticket_events
           WHERE ticket_id = 'zendesk:2001' AND kind = 'status' AND detail->>'value' = 'solved'""",
    )
    assert solved == [(datetime(2026, 4, 3, 16, 0, tzinfo=UTC),)]


def test_readable_errors(tmp_path, settings):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "orders.csv").write_text("id\n1\n")
    cases = {
        tmp_path / "empty": "no ticket table in {p}: found ['orders']",
        tmp_path / "missing": "no such file or folder: {p}",
    }
    for path, message in cases.items():
        with pytest.raises(SyncedSchemaError) as caught:
            SyncedSource(path, settings=settings)
        assert str(caught.value) == message.format(p=path)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "ticket.csv").write_text("ticket_number,subject\n1,hello\n")
    with pytest.raises(SyncedSchemaError, match=r"the ticket table in .* has no id column"):
        SyncedSource(tmp_path / "bad", settings=settings)
    with pytest.raises(SyncedSchemaError, match=r"no tickets table in .*: found \['satisf"):
        SyncedSource(FIVETRAN, "airbyte", settings=settings)


def test_cli(settings, tmp_path):
    from supportflow.cli import app

    runner = CliRunner()
    done = runner.invoke(app, ["ingest-synced", str(FIVETRAN)])
    assert done.exit_code == 0, done.output
    assert "fivetran schema (csv)" in done.output and "4 tickets" in done.output
    again = runner.invoke(app, ["ingest-synced", str(FIVETRAN), "--schema", "fivetran"])
    assert again.exit_code == 0 and "already ingested" in again.output

    failed = runner.invoke(app, ["ingest-synced", str(tmp_path)])
    assert failed.exit_code == 1
    assert f"error: no ticket table in {tmp_path}: found []" in " ".join(failed.output.split())
