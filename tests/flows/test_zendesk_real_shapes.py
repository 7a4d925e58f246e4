"""Zendesk exports as Zendesk writes them, through ingest and dbt into the marts.

Inputs: the project's cases (tests/data/cases/01, 03, 04, 05: real-shaped inputs the project
got wrong, with their correct results) and fixtures written from the public Zendesk API
reference (tests/data/zendesk_export). One warehouse per case family; dbt runs for real.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from supportflow.dbt_runner import run_dbt
from supportflow.ingest.runner import ingest_paths
from supportflow.settings import Settings
from supportflow.warehouse import connect
from tests.flows.conftest import own_home

pytestmark = pytest.mark.slow
DATA = Path(__file__).resolve().parents[1] / "data"
CASES = DATA / "cases"


def _world(root: Path, files: list[Path], mapping: str | None = None) -> dict:
    """Ingest ``files`` into a fresh home, build dbt, return the reports and a reader."""
    reports = ingest_paths(files, mapping=mapping, settings=Settings())
    assert not reports.failures, reports.failures
    run_dbt(["build"], Settings())
    return {"reports": reports.reports, "lookups": reports.lookups}


def q(sql: str, *params) -> list[tuple]:
    """Rows of a query (dbt ran in this process, so the warehouse helper's connection)."""
    with connect(Settings()) as con:
        return con.execute(sql, list(params)).fetchall()


@pytest.fixture(scope="module")
def cases_world(tmp_path_factory):
    root = tmp_path_factory.mktemp("zendesk-cases")
    with own_home(root):
        files = [
            CASES / "01" / "incremental_tickets_page.json",
            CASES / "03" / "tickets_with_api_comments.json",
            CASES / "04" / "tickets_with_audits.json",
            CASES / "04" / "minimal_one_event_each.json",
            CASES / "05" / "tickets.json",
        ]
        yield _world(root, files)


def test_every_case_ticket_loads_and_counts_balance(cases_world):
    got = {Path(r.file).name: r for r in cases_world["reports"]}
    expected = {  # file: (in, loaded, quarantined, events)
        "incremental_tickets_page.json": (6, 6, 0, 0),
        "tickets_with_api_comments.json": (3, 3, 0, 6),
        "tickets_with_audits.json": (2, 2, 0, 13),
        "minimal_one_event_each.json": (3, 3, 0, 3),
        "tickets.json": (3, 3, 0, 5),
    }
    for name, (n_in, loaded, quarantined, events) in expected.items():
        r = got[name]
        assert (r.records_in, r.records_loaded, r.records_quarantined, r.events_loaded) == (
            n_in,
            loaded,
            quarantined,
            events,
        ), name
        assert r.balanced


def test_case01_csat_words_count_as_good_and_bad(cases_world):
    rows = dict(
        q("""SELECT ticket_id, is_csat_good FROM marts.fct_tickets
             WHERE ticket_id LIKE 'zendesk:400%'""")
    )
    assert rows == {
        "zendesk:4001": True,
        "zendesk:4002": False,
        "zendesk:4003": None,  # offered: no rating
        "zendesk:4004": None,  # unoffered
        "zendesk:4005": None,  # no satisfaction_rating
        "zendesk:4006": True,
    }
    rated, good = q("""SELECT sum(csat_rated), sum(csat_good_rate * csat_rated)
                       FROM marts.fct_support_daily
                       WHERE activity_date BETWEEN '2026-03-01' AND '2026-03-06'""")[0]
    assert (rated, good) == (3, 2)
    assert q("SELECT channel FROM landing.tickets WHERE ticket_id = 'zendesk:4005'") == [
        ("native_messaging",)
    ]


def test_case03_comment_authors_become_roles_and_first_reply_is_measured(cases_world):
    minutes = dict(
        q("""SELECT ticket_id, first_reply_minutes FROM marts.fct_tickets
             WHERE ticket_id IN ('zendesk:6001', 'zendesk:6002', 'zendesk:6003')""")
    )
    assert minutes == {"zendesk:6001": 120.0, "zendesk:6002": 30.0, "zendesk:6003": None}
    roles = q("""SELECT author_role, public FROM landing.ticket_events
                 WHERE ticket_id = 'zendesk:6001' ORDER BY created_at""")
    assert roles == [("customer", True), ("agent", False), ("agent", True)]


def test_case04_audit_events_load_with_open_kinds(cases_world):
    kinds = q("""SELECT kind, count(*) FROM landing.ticket_events WHERE ticket_id = 'zendesk:7001'
                 GROUP BY kind ORDER BY kind""")
    assert dict(kinds) == {
        "assign": 1,
        "comment": 2,
        "csat": 1,
        "field_change": 3,  # subject, priority, tags at creation
        "other": 1,  # the trigger's Notification
        "status": 3,
    }
    (resolved,) = q(
        "SELECT first_resolved_at FROM marts.fct_tickets WHERE ticket_id = 'zendesk:7001'"
    )
    assert resolved[0].isoformat().startswith("2026-05-05T15:00")
    change = q("""SELECT detail->>'field', detail->>'from', detail->>'to' FROM landing.ticket_events
                  WHERE ticket_id = 'zendesk:7102'""")
    assert change == [("priority", "normal", "high")]
    (note,) = q(
        "SELECT role FROM (SELECT author_role AS role FROM landing.ticket_events "
        "WHERE ticket_id = 'zendesk:7101')"
    )
    assert note == ("system",)  # a trigger's notification (via rule)


def test_case05_account_export_loads_bodies_channels_customers_and_comments(cases_world):
    rows = q("""SELECT ticket_id, channel, body IS NOT NULL, customer_key IS NOT NULL
                FROM landing.tickets WHERE ticket_id LIKE 'zendesk:800%' ORDER BY 1""")
    assert rows == [
        ("zendesk:8001", "email", True, True),
        ("zendesk:8002", "email", True, True),
        ("zendesk:8003", "email", True, True),
    ]
    assert q("""SELECT count(*) FROM landing.ticket_events
                WHERE ticket_id LIKE 'zendesk:800%' AND kind = 'comment'""") == [(5,)]


def test_case05_best_effort_mapping_applies_to_zendesk_files(settings):
    out = ingest_paths(
        [CASES / "05" / "tickets.json"],
        mapping=str(CASES / "05" / "mapping_best_effort.yaml"),
        settings=settings,
    )
    (r,) = out.reports
    assert (r.records_loaded, r.events_loaded, r.skipped_as_duplicate) == (3, 5, False)
    with connect(settings) as con:
        assert con.execute("SELECT DISTINCT channel FROM landing.tickets").fetchall() == [
            ("email",)
        ]


@pytest.fixture(scope="module")
def export_world(tmp_path_factory):
    root = tmp_path_factory.mktemp("zendesk-export")
    folder = DATA / "zendesk_export"
    with own_home(root):
        first = ingest_paths(
            [folder / "users.json", folder / "ticket_fields.json", folder / "page1.json"],
            settings=Settings(),
        )
        world = _world(
            root,
            [
                folder / "users.json",
                folder / "ticket_fields.json",
                folder / "page2.json",
                folder / "audits.json",
                folder / "comments.json",
            ],
        )
        world["first"] = first
        yield world


def test_users_and_ticket_fields_are_lookups_not_batches(export_world):
    names = [Path(r.file).name for r in export_world["reports"]]
    assert names == ["page2.json", "audits.json", "comments.json"]
    assert any("users" in line for line in export_world["lookups"])
    assert q("SELECT count(*) FROM landing.ingest_batches") == [(4,)]


def test_audits_and_comments_exported_apart_attach_to_their_tickets(export_world):
    _, audits, comments = export_world["reports"]
    assert (audits.records_in, audits.records_loaded, audits.events_loaded) == (1, 1, 2)
    assert (comments.records_in, comments.records_loaded, comments.records_quarantined) == (2, 1, 1)
    assert comments.quarantine_reasons == {"id": 1}  # the comment without a ticket_id
    rows = q("""SELECT kind, author_role FROM landing.ticket_events
                WHERE ticket_id = 'zendesk:9003' ORDER BY created_at, kind""")
    # the requester's comment is the customer's: its author key equals the ticket's customer key
    assert rows == [("comment", "customer"), ("field_change", "agent"), ("status", "agent")]
    (resolved,) = q(
        "SELECT first_resolved_at FROM marts.fct_tickets WHERE ticket_id = 'zendesk:9003'"
    )
    assert resolved[0].isoformat().startswith("2026-04-07T09:45")


def test_roles_from_the_users_file(export_world):
    roles = q("""SELECT event_id, author_role FROM landing.ticket_events
                 WHERE ticket_id = 'zendesk:9001' AND kind = 'comment' ORDER BY created_at""")
    assert [r for _, r in roles] == ["customer", "agent", "customer", "agent", "bot"]
    body = q("""SELECT body FROM landing.ticket_events
                WHERE event_id = 'zendesk:9001:c90012'""")[0][0]
    assert body == "Sorry about that & thanks.\nRefund issued."  # html_body → text


def test_custom_fields_resolve_through_ticket_field_titles(export_world):
    assert q("SELECT category, queue FROM landing.tickets WHERE ticket_id = 'zendesk:9001'") == [
        ("billing", "payments")
    ]
    page2 = export_world["reports"][0]
    assert page2.notes["unused_fields"].get("group_id") == 1
    first = export_world["first"].reports[0]
    assert first.notes["unused_fields"]["custom_fields.360012345680"] == 1  # "Order number"


def test_deleted_ticket_leaves_every_mart(export_world):
    assert q("SELECT status, is_deleted FROM landing.tickets WHERE ticket_id = 'zendesk:9002'") == [
        ("deleted", True)
    ]
    for model in ("staging.stg_landing__tickets", "marts.fct_tickets"):
        assert q(f"SELECT count(*) FROM {model} WHERE ticket_id = 'zendesk:9002'") == [(0,)]
    assert q("SELECT sum(tickets_created) FROM marts.fct_support_daily") == [(2,)]


def test_update_before_create_is_loaded_and_flagged(export_world):
    assert q("SELECT clock_skew FROM landing.tickets WHERE ticket_id = 'zendesk:9003'") == [(True,)]
    first = export_world["first"].reports[0]
    assert first.notes["flags"]["updated_before_created"] == 1


def test_notes_reach_the_batch_table(export_world):
    notes = q("SELECT notes FROM landing.ingest_batches WHERE file LIKE '%page2.json'")[0][0]
    notes = json.loads(notes)
    assert notes["event_types_kept_as_other"] == {"Notification": 1, "Cc": 1}
    assert notes["flags"]["deleted"] == 1


def test_reingesting_the_same_pages_changes_nothing(export_world):
    before = q("SELECT * FROM landing.tickets ORDER BY ticket_id")
    folder = DATA / "zendesk_export"
    out = ingest_paths([folder / "page1.json", folder / "page2.json"], settings=Settings())
    assert all(r.skipped_as_duplicate for r in out.reports)
    assert q("SELECT * FROM landing.tickets ORDER BY ticket_id") == before


def test_a_later_page_without_lookup_files_uses_the_stored_ones(export_world):
    """Daily drops rarely repeat users.json and ticket_fields.json: what they said is kept
    (custom field names; roles by salted key) and applies to later runs."""
    out = ingest_paths([DATA / "zendesk_export" / "page3.json"], settings=Settings())
    assert out.reports[0].records_loaded == 1
    assert q("SELECT category FROM landing.tickets WHERE ticket_id = 'zendesk:9005'") == [
        ("login",)
    ]
    roles = q("""SELECT author_role FROM landing.ticket_events
                 WHERE ticket_id = 'zendesk:9005' ORDER BY created_at""")
    assert [r for (r,) in roles] == ["customer", "customer", "agent"]  # 502 is an end-user (cc)
    stored = q("SELECT kind, key FROM landing.source_lookups WHERE kind = 'user_role'")
    assert stored and all(k not in {"501", "502", "601", "602"} for _, k in stored)
    # the stored roles named every author: the batch is not flagged as guessing any
    assert "author_role_inferred" not in out.reports[0].notes.get("flags", {})
