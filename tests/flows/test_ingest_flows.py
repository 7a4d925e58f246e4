"""The flows end to end with real Prefect orchestration and a real dbt build."""

import pytest

from flows.build_metrics import build_metrics
from flows.ingest_tickets import IngestFailed, IngestParams, ingest_tickets
from flows.nightly import NightlyParams, nightly
from flows.reindex_knowledge import ReindexParams
from supportflow.dbt_runner import DbtBuildError
from supportflow.settings import Settings
from supportflow.warehouse import connect


def test_nightly_dag_end_to_end_and_rerun(home, demo_export):
    """Ingest → knowledge → (no model yet: scoring skipped) → escalation → dbt → scorecard."""
    params = NightlyParams(
        ingest=IngestParams(paths=[demo_export / "zendesk"]),
        knowledge=ReindexParams(path=demo_export / "kb"),
    )
    result = nightly(params)
    (batch,) = result.batches
    assert batch.records_loaded == 600 and batch.events_loaded > 1800
    assert result.dbt.failed == 0 and result.dbt.passed >= 20
    assert result.scorecard.html.read_text().startswith("<!doctype html>")
    with connect(Settings()) as con:
        staged = con.execute("SELECT count(*) FROM staging.stg_landing__tickets").fetchone()[0]
        daily = con.execute("SELECT sum(tickets_created) FROM marts.fct_support_daily").fetchone()
        deleted = con.execute("SELECT count(*) FROM landing.tickets WHERE is_deleted").fetchone()
    assert deleted[0] > 0  # the demo deletes ~1 %: they leave every model and every step
    assert staged == 600 - deleted[0] and daily[0] == staged
    assert result.scored == [] and result.knowledge.suggestions.suggested == staged
    assert result.escalation.decided == staged
    steps = ["ingest", "knowledge", "score", "escalation", "assist", "dbt build", "scorecard"]
    assert list(result.seconds) == steps and all(s >= 0 for s in result.seconds.values())
    assert result.seconds["knowledge"] > 0  # it embedded 600 tickets

    again = nightly(params)  # nothing new: every writer step writes nothing
    assert again.batches[0].skipped_as_duplicate
    assert again.knowledge.reindex.chunks_embedded == 0
    assert again.knowledge.suggestions.suggested == 0 and again.escalation.decided == 0
    assert again.dbt.up_to_date and again.dbt.nodes == result.dbt.nodes  # marts kept as built
    assert again.dbt.built_at == result.dbt.built_at is not None


def test_dbt_build_is_skipped_only_while_nothing_it_reads_changed(home, demo_export):
    ingest_tickets(IngestParams(paths=[demo_export / "zendesk"]))
    first = build_metrics()
    assert not first.up_to_date and first.passed >= 20
    assert build_metrics().up_to_date
    assert not build_metrics("staging").up_to_date  # each selection keeps its own record
    assert build_metrics("staging").up_to_date and build_metrics().up_to_date

    with connect(Settings()) as con:  # one source value changes: the build runs again
        con.execute(
            "UPDATE landing.tickets SET priority = 'low' WHERE ticket_id = "
            "(SELECT min(ticket_id) FROM landing.tickets WHERE priority = 'high')"
        )
    changed = build_metrics()
    assert not changed.up_to_date
    with connect(Settings()) as con:
        low = con.execute("SELECT count(*) FROM marts.fct_tickets WHERE priority = 'low'")
        assert (
            low.fetchone()[0]
            == con.execute(
                "SELECT count(*) FROM staging.stg_landing__tickets WHERE priority = 'low'"
            ).fetchone()[0]
        )
        con.execute("DROP TABLE marts.fct_support_daily")  # a missing mart is rebuilt
    assert not build_metrics().up_to_date
    assert build_metrics().up_to_date
    assert not build_metrics(force=True).up_to_date


def test_a_dbt_project_change_changes_its_digest(tmp_path):
    from supportflow.dbt_state import project_digest

    project = Settings().dbt_project_dir
    copy = tmp_path / "dbt"
    for path in project.rglob("*"):
        if path.is_file() and not {"target", "logs"} & set(path.relative_to(project).parts):
            (copy / path.relative_to(project)).parent.mkdir(parents=True, exist_ok=True)
            (copy / path.relative_to(project)).write_bytes(path.read_bytes())
    assert project_digest(copy) == project_digest(project)
    mart = copy / "models" / "marts" / "fct_support_daily.sql"
    mart.write_text(mart.read_text() + "\n-- edited\n")
    assert project_digest(copy) != project_digest(project)


def test_folder_of_exports_and_an_unreadable_file(home, demo_export, tmp_path):
    broken = tmp_path / "exports"
    broken.mkdir()
    (broken / "good.jsonl").write_bytes((demo_export / "tickets.jsonl").read_bytes())
    (broken / "bad.json").write_text('{"tickets": [{"id": 1}, ')
    with pytest.raises(IngestFailed) as info:
        ingest_tickets(IngestParams(paths=[broken]))
    assert "bad.json" in str(info.value) and "invalid JSON" in str(info.value)
    with connect(Settings()) as con:  # the readable file was still loaded
        assert con.execute("SELECT count(*) FROM landing.tickets").fetchone()[0] == 600


def test_dbt_failures_fail_the_flow(home, tmp_path):
    with connect(Settings()) as con:
        con.execute(
            "INSERT INTO landing.tickets (ticket_id, source, external_id, created_at, "
            "updated_at, priority, content_hash, batch_id) VALUES "
            "('x:1', 'x', '1', now(), now(), 'whenever', 'h', 'b')"
        )
    with pytest.raises(DbtBuildError, match="accepted_values"):
        build_metrics()


def test_cli_ingest_prints_the_batch_and_reasons(home, tmp_path):
    from typer.testing import CliRunner

    from supportflow.cli import app

    path = tmp_path / "t.jsonl"
    path.write_text('{"id": 1, "created_at": "2026-01-01T00:00:00Z", "body": "hi"}\n{"id": 2}\n')
    result = CliRunner().invoke(app, ["ingest", str(path)])
    assert result.exit_code == 0, result.output
    assert "t.jsonl" in result.output and "created_at ×1" in result.output

    missing = CliRunner().invoke(app, ["ingest", str(tmp_path / "nope.csv")])
    assert missing.exit_code == 1 and "no such file" in missing.output


def test_a_second_writer_is_one_line_without_traceback(home, tmp_path):
    """Two writers: the waiting command retries the locked warehouse, then says why in one line
    (the issue saw ~190 lines of traceback around it)."""
    import os
    import subprocess
    import sys

    from supportflow.warehouse import connect

    export = tmp_path / "t.csv"
    export.write_text("id,created_at,subject,body\n1,2026-10-20T10:00:00Z,Hi,Help\n")
    env = {**os.environ, "SUPPORTFLOW_HOME": str(home)}
    with connect():  # this process holds the warehouse for writing
        done = subprocess.run(
            [sys.executable, "-m", "supportflow.cli", "ingest", str(export)],
            env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
    output = " ".join((done.stdout + done.stderr).split())
    assert done.returncode == 1 and "Traceback" not in output
    assert output.startswith("error: The warehouse") and "one writer per file" in output
