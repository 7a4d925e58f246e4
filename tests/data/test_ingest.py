"""Loading files into a real DuckDB file: counts add up, re-runs change nothing, PII never lands."""

import json
from pathlib import Path

import pytest

from supportflow.ingest.load import ingest_file
from supportflow.ingest.mapping import Mapping, load_mapping
from supportflow.ingest.sources import Format
from tests.conftest import BANKING77


def write_jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def row(i, **extra):
    return {
        "id": i,
        "created_at": "2026-03-01T10:00:00Z",
        "subject": f"Ticket {i}",
        "body": f"Please help with order {i}",
        "customer_id": f"cus_{i}",
        **extra,
    }


def table_snapshot(con):
    return {
        t: con.execute(f"SELECT * FROM landing.{t} ORDER BY ALL").fetchall()
        for t in ("tickets", "ticket_events", "quarantine")
    }


def test_counts_add_up_and_bad_records_are_quarantined(con, settings, tmp_path):
    path = write_jsonl(
        tmp_path / "a.jsonl",
        [
            row(1),
            row(2),
            "{broken",
            row(3, created_at="soon"),
            row(1, updated_at="2026-03-02T00:00:00Z"),
        ],
    )
    r = ingest_file(con, path, settings=settings)
    assert (r.records_in, r.records_loaded, r.records_quarantined) == (5, 2, 3)
    assert r.balanced
    reasons = [
        x[0]
        for x in con.execute("SELECT reason FROM landing.quarantine ORDER BY record_no").fetchall()
    ]
    assert reasons[0].startswith("duplicate id 1 in this file: record 5")
    assert reasons[1].startswith("malformed JSON") and reasons[2].startswith("created_at:")
    batch = con.execute(
        "SELECT records_in, records_loaded, records_quarantined FROM landing.ingest_batches"
    ).fetchall()
    assert batch == [(5, 2, 3)]


def test_reingesting_the_same_file_changes_nothing(con, settings, tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", [row(1), row(2), "{broken"])
    first = ingest_file(con, path, settings=settings)
    before = table_snapshot(con)
    again = ingest_file(con, path, settings=settings)
    assert again.skipped_as_duplicate and again.batch_id == first.batch_id
    assert (again.records_in, again.records_unchanged, again.records_quarantined) == (3, 2, 1)
    assert table_snapshot(con) == before
    assert con.execute("SELECT count(*) FROM landing.ingest_batches").fetchone()[0] == 1


def test_newer_updated_at_wins_and_older_is_kept_out_with_a_note(con, settings, tmp_path):
    stored = [row(1), row(2, updated_at="2026-03-03T00:00:00Z")]
    ingest_file(con, write_jsonl(tmp_path / "a.jsonl", stored), settings=settings)
    newer = row(1, updated_at="2026-03-05T00:00:00Z", status="solved")
    older = row(2, updated_at="2026-03-02T00:00:00Z", body="stale copy")
    r = ingest_file(
        con, write_jsonl(tmp_path / "b.jsonl", [newer, older, row(3)]), settings=settings
    )
    assert (r.records_loaded, r.records_updated, r.records_unchanged) == (1, 1, 1)
    assert r.notes["flags"] == {"older_than_stored": 1}  # reported, not silently dropped
    rows = dict(con.execute("SELECT ticket_id, status FROM landing.tickets").fetchall())
    assert rows == {"jsonl:1": "solved", "jsonl:2": None, "jsonl:3": None}
    body = con.execute("SELECT body FROM landing.tickets WHERE ticket_id = 'jsonl:2'").fetchone()[0]
    assert body == "Please help with order 2"


def test_new_content_with_the_same_updated_at_is_an_update(con, settings, tmp_path):
    """Exports without a real updated_at (or one that does not move on edits): when timestamps
    cannot order two versions, the later batch wins and the report says so
    (../shared/cases/21: a CSV re-saved with new status, priority and body)."""
    ingest_file(con, write_jsonl(tmp_path / "a.jsonl", [row(1), row(2)]), settings=settings)
    edited = row(1, body="Please help with order 1. Update: also order 7", status="solved")
    r = ingest_file(con, write_jsonl(tmp_path / "b.jsonl", [edited, row(2)]), settings=settings)
    assert (r.records_loaded, r.records_updated, r.records_unchanged) == (0, 1, 1)
    assert r.notes["flags"] == {"no_updated_at_new_content": 1}  # these rows have none
    got = con.execute("SELECT status, body FROM landing.tickets WHERE ticket_id = 'jsonl:1'")
    assert got.fetchone() == ("solved", "Please help with order 1. Update: also order 7")
    stamped = [dict(x, updated_at="2026-03-02T10:00:00Z") for x in (row(3), row(4))]
    ingest_file(con, write_jsonl(tmp_path / "c.jsonl", stamped), settings=settings)
    again = [dict(stamped[0], body="Changed, same stamp"), row(4, body="Changed, no stamp")]
    r = ingest_file(con, write_jsonl(tmp_path / "d.jsonl", again), settings=settings)
    assert r.records_updated == 2
    assert r.notes["flags"] == {"same_updated_at_new_content": 1, "no_updated_at_new_content": 1}
    r = ingest_file(con, write_jsonl(tmp_path / "e.jsonl", again[::-1]), settings=settings)
    assert (r.records_updated, r.records_unchanged) == (0, 2)  # re-running changes nothing
    again = ingest_file(con, write_jsonl(tmp_path / "c.jsonl", [edited]), settings=settings)
    assert (again.records_updated, again.records_unchanged) == (0, 1)  # identical: unchanged


CASE_21 = Path(__file__).resolve().parents[3] / "shared" / "cases" / "21-same-timestamp-update"


@pytest.mark.skipif(not CASE_21.exists(), reason="../shared/cases/21 is not on this machine")
def test_case_21_a_re_export_without_updated_at_keeps_the_new_content(con, settings):
    ingest_file(con, CASE_21 / "day1.csv", settings=settings)
    r = ingest_file(con, CASE_21 / "day2.csv", settings=settings)
    assert (r.records_in, r.records_updated, r.records_unchanged) == (1, 1, 0)
    status, priority, body = con.execute(
        "SELECT status, priority, body FROM landing.tickets"
    ).fetchone()
    assert (status, priority) == ("solved", "urgent") and "PNG export fails" in body


def test_same_tickets_in_a_new_file_are_unchanged(con, settings, tmp_path):
    ingest_file(con, write_jsonl(tmp_path / "a.jsonl", [row(1), row(2)]), settings=settings)
    r = ingest_file(con, write_jsonl(tmp_path / "b.jsonl", [row(2), row(1)]), settings=settings)
    assert not r.skipped_as_duplicate
    assert (r.records_loaded, r.records_updated, r.records_unchanged) == (0, 0, 2)


def test_pii_and_raw_ids_never_reach_the_warehouse(con, settings, tmp_path):
    body = "I'm anna.miller@example.com, card 4111 1111 1111 1111, call +1 (415) 555-0134"
    path = write_jsonl(
        tmp_path / "a.jsonl",
        [row(1, body=body, assignee_id="agent_x"), row(2, body=body, priority="asap")],
    )
    ingest_file(con, path, settings=settings)
    dump = json.dumps(table_snapshot(con), default=str)
    for secret in (
        "anna.miller@example.com",
        "4111 1111 1111 1111",
        "555-0134",
        "cus_1",
        "agent_x",
    ):
        assert secret not in dump
    assert "[EMAIL]" in dump and "[CARD]" in dump and "[PHONE]" in dump


def test_timestamps_land_in_utc(con, settings, tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", [row(1, created_at="2026-03-01T12:00:00+02:00")])
    ingest_file(con, path, settings=settings)
    (value,) = con.execute(
        "SELECT strftime(created_at AT TIME ZONE 'UTC', '%H:%M') FROM landing.tickets"
    ).fetchone()
    assert value == "10:00"


def test_missing_language_is_detected(con, settings, tmp_path):
    rows = [
        row(1, body="Ich kann mich nicht anmelden, das Passwort wird nicht akzeptiert."),
        row(2, body="No puedo iniciar sesión, la contraseña no funciona.", language="es"),
        row(3, body="I cannot log in, my password is not accepted anymore."),
    ]
    ingest_file(con, write_jsonl(tmp_path / "a.jsonl", rows), settings=settings)
    langs = dict(con.execute("SELECT external_id, language FROM landing.tickets").fetchall())
    assert langs == {"1": "de", "2": "es", "3": "en"}


def test_multi_megabyte_body_is_quarantined_whole(con, settings, tmp_path):
    huge = "a" * (settings.max_body_chars + 1)
    path = write_jsonl(tmp_path / "a.jsonl", [row(1, body=huge), row(2)])
    r = ingest_file(con, path, settings=settings)
    assert (r.records_loaded, r.records_quarantined) == (1, 1)
    (length,) = con.execute("SELECT length(record) FROM landing.quarantine").fetchone()
    assert length > settings.max_body_chars


def test_empty_file_is_a_batch_with_a_warning(con, settings, tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_text("")
    r = ingest_file(con, path, settings=settings)
    assert r.records_in == 0 and r.warnings == ["the file holds no records"]


def test_small_chunks_give_the_same_result(con, settings, tmp_path, demo_export):
    chunked = settings.model_copy(update={"ingest_chunk_rows": 7})
    r = ingest_file(con, demo_export / "tickets.jsonl", settings=chunked)
    assert r.records_loaded == 600 and r.balanced


def test_all_three_demo_formats_carry_the_same_tickets(con, settings, demo_export):
    reports = [
        ingest_file(con, demo_export / name, source="demo", fmt=fmt, settings=settings)
        for name, fmt in (
            ("zendesk/tickets.json", Format.zendesk),
            ("tickets.jsonl", Format.jsonl),
            ("tickets.csv", Format.csv),
        )
    ]
    assert [r.records_loaded for r in reports] == [600, 0, 0]
    # Without its ticket_fields lookup the Zendesk file cannot name its custom fields (category,
    # queue, tier, sentiment): the flat export brings them, with the same updated_at, so it
    # updates every ticket (and says so); the CSV then holds exactly what is stored.
    assert [r.records_updated for r in reports] == [0, 600, 0]
    flags = reports[1].notes["flags"]
    assert (
        flags.get("same_updated_at_new_content", 0) + flags.get("no_updated_at_new_content", 0)
        == 600
    )
    assert [r.records_unchanged for r in reports] == [0, 0, 600]
    assert reports[0].events_loaded > 600 * 3
    details = con.execute(
        "SELECT string_agg(CAST(detail AS VARCHAR), ' ') "
        "FROM landing.ticket_events WHERE kind = 'assign'"
    ).fetchone()[0]
    assert "assignee_key" in details and "assignee_id" not in details


@pytest.mark.skipif(
    not BANKING77.exists(), reason="Banking77 not found at ../shared/data/banking77"
)
def test_banking77_csv_loads_with_the_builtin_mapping(con, settings):
    r = ingest_file(
        con,
        BANKING77 / "train.csv",
        fmt=Format.csv,
        mapping=load_mapping("banking77"),
        settings=settings,
    )
    assert r.records_quarantined == 0 and r.records_loaded == r.records_in > 10_000
    (n_categories,) = con.execute("SELECT count(DISTINCT category) FROM landing.tickets").fetchone()
    assert n_categories == 77
    test = ingest_file(
        con,
        BANKING77 / "test.csv",
        fmt=Format.csv,
        mapping=load_mapping("banking77"),
        settings=settings,
    )
    assert test.records_loaded == test.records_in > 3_000  # row ids do not collide with train's
    first = con.execute(
        "SELECT ticket_id FROM landing.tickets ORDER BY created_at, ticket_id LIMIT 1"
    ).fetchone()[0]
    assert first == "banking77:test-1"


def test_demo_incremental_pages_repeat_the_account_export(con, settings, demo_export):
    """The demo's cursor pages hold the same tickets as its account export: all unchanged."""
    from supportflow.ingest.runner import split_lookups

    export = demo_export / "zendesk"
    files, lookups, _ = split_lookups(sorted(export.iterdir()), None)
    first = [ingest_file(con, f, settings=settings, lookups=lookups) for f in files]
    pages = sorted((demo_export / "zendesk_incremental").glob("page_*.json"))
    assert pages and json.loads(pages[-1].read_text())["end_of_stream"] is True
    again = [ingest_file(con, p, settings=settings, lookups=lookups) for p in pages]
    assert sum(r.records_loaded for r in first) == 600
    assert sum(r.records_in for r in again) > 0
    assert all(r.records_unchanged == r.records_in and r.balanced for r in again)


CSAT_COMMENT = "mail kim@example.com, +1 415 555 0142"
PII_IN_ANY_FIELD = [
    row(1, status="jo.doe@example.org", tags=["vip", "ann.lee@example.net"]),
    row(2, category="call +49 30 1234 5678", queue="max.mu@example.de", priority="urgent"),
    row(3, created_at="ring 0171 2345678 now"),  # quarantined: the reason quotes the value
    row(4, events=[{"id": "e1", "created_at": "2026-03-01T11:00:00Z", "author_role": "customer",
                    "kind": "csat", "detail": {"score": "bad", "comment": CSAT_COMMENT}}]),
]  # fmt: skip
PII_VALUES = ["jo.doe@example.org", "ann.lee@example.net", "+49 30 1234 5678", "max.mu@example.de",
              "0171 2345678", "kim@example.com", "+1 415 555 0142"]  # fmt: skip


def test_personal_data_in_any_free_text_field_is_redacted_before_it_is_stored(
    con, settings, tmp_path
):
    """Not only subject and body: status, category, queue, tags, event details and quarantine
    reasons that quote a value (../shared/cases/22)."""
    r = ingest_file(con, write_jsonl(tmp_path / "pii.jsonl", PII_IN_ANY_FIELD), settings=settings)
    assert (r.records_loaded, r.records_quarantined) == (3, 1)
    stored = " ".join(
        str(con.execute(f"SELECT * FROM landing.{t}").fetchall())
        for t in ("tickets", "ticket_events", "quarantine", "ingest_batches")
    )
    assert not [v for v in PII_VALUES if v in stored]
    assert "[EMAIL]" in stored and "[PHONE]" in stored
    detail = con.execute("SELECT detail->>'score' FROM landing.ticket_events").fetchone()[0]
    assert detail == "bad"  # the JSON keeps its shape


CASE_22 = CASE_21.parent / "22-pii-outside-subject-and-body"


@pytest.mark.skipif(not CASE_22.exists(), reason="../shared/cases/22 is not on this machine")
def test_case_22_no_raw_personal_data_in_any_landing_table(con, settings):
    import re

    raw = (CASE_22 / "tickets.jsonl").read_text()
    values = set(re.findall(r"[\w.]+@[\w.]+\.\w+|\+\d[\d ]{8,}\d|\b(?:\d{4} ){3}\d{4}\b", raw))
    ingest_file(con, CASE_22 / "tickets.jsonl", settings=settings)
    stored = " ".join(
        str(con.execute(f"SELECT * FROM landing.{t}").fetchall())
        for t in ("tickets", "ticket_events", "quarantine", "ingest_batches")
    )
    assert values and not [v for v in values if v in stored]


def test_a_record_nested_too_deeply_is_quarantined_and_the_rest_loads(con, settings, tmp_path):
    """orjson stops at 255 levels; one such record (a custom field value nested 300 deep, in an
    Incremental Ticket Export page) is quarantined with its reason, not the run's end."""
    deep: object = "x"
    for _ in range(300):
        deep = {"a": deep}
    at = "2026-10-20T10:00:00Z"
    good = {"id": 1, "created_at": at, "updated_at": at, "subject": "Hi",
            "description": "Help please", "status": "open", "requester_id": 5}  # fmt: skip
    bad = dict(good, id=2, custom_fields=[{"id": 9, "value": deep}])
    page = tmp_path / "page.json"
    page.write_text(json.dumps({"tickets": [good, bad], "end_of_stream": True}))
    r = ingest_file(con, page, fmt=Format.zendesk, settings=settings)
    assert (r.records_in, r.records_loaded, r.records_quarantined) == (2, 1, 1)
    assert r.quarantine_reasons == {"unexpected structure": 1}


def test_names_from_the_users_sideload_are_redacted_and_quarantined_csv_ids_masked(
    con, settings, tmp_path
):
    """A page's users sideload names the people; their names never reach a text column, and a
    quarantined CSV row keeps every value but its customer id (column named by the mapping)."""
    at = "2026-10-20T10:00:00Z"
    page = {
        "tickets": [{"id": 1, "created_at": at, "updated_at": at, "subject": "Hi",
                     "description": "Dear team, Ingrid Haugvoll here. Ingrid.", "status": "open",
                     "requester_id": 31, "comments": [
                         {"id": 7, "author_id": 32, "body": "Hi Ingrid, Bertram Lowe here.",
                          "public": True, "created_at": at}]}],
        "users": [{"id": 31, "name": "Ingrid Haugvoll", "role": "end-user"},
                  {"id": 32, "name": "Bertram Lowe", "role": "agent"}],
        "end_of_stream": True,
    }  # fmt: skip
    path = tmp_path / "page.json"
    path.write_text(json.dumps(page))
    ingest_file(con, path, fmt=Format.zendesk, settings=settings)
    texts = str(con.execute("SELECT subject, body FROM landing.tickets").fetchall())
    texts += str(con.execute("SELECT body FROM landing.ticket_events").fetchall())
    assert "Ingrid" not in texts and "Haugvoll" not in texts and "Bertram Lowe" not in texts
    assert "[NAME] here. [NAME]." in texts and "Bertram here" not in texts
    csv_path = tmp_path / "desk.csv"
    csv_path.write_text("Ticket,Opened,Text,Requester ID\nT-1,never,Printer broken,cust-778899\n")
    mapping = Mapping.model_validate(
        {"columns": {"id": "Ticket", "created_at": "Opened", "body": "Text",
                     "customer_id": "Requester ID"}}
    )  # fmt: skip
    r = ingest_file(con, csv_path, mapping=mapping, settings=settings)
    assert r.records_quarantined == 1
    (record,) = con.execute(
        "SELECT record FROM landing.quarantine WHERE file LIKE '%desk.csv'"
    ).fetchone()
    assert json.loads(record) == {"Ticket": "T-1", "Opened": "never", "Text": "Printer broken",
                                  "Requester ID": "[ID]"}  # fmt: skip


def test_a_csv_row_of_the_wrong_width_is_quarantined_with_its_ids_masked(con, settings, tmp_path):
    path = tmp_path / "w.csv"
    path.write_text(
        "id,created_at,body,customer_id,assignee_id\n"
        "1,2026-10-01T09:00:00Z,ok,cust_a,agent_a\n"
        "2,2026-10-01T09:00:00Z,too many,cust_secret_42,agent_secret_9,extra\n"
        "3,2026-10-01T09:00:00Z,too few,cust_secret_43\n"
    )
    r = ingest_file(con, path, settings=settings)
    assert (r.records_loaded, r.records_quarantined) == (1, 2)
    stored = con.execute(
        "SELECT record, reason FROM landing.quarantine ORDER BY record_no"
    ).fetchall()
    assert "secret" not in str(stored)
    want = {"id": "2", "created_at": "2026-10-01T09:00:00Z", "body": "too many",
            "customer_id": "[ID]", "assignee_id": "[ID]", "_extra_fields": ["extra"]}  # fmt: skip
    assert json.loads(stored[0][0]) == want
    assert [reason for _, reason in stored] == [
        "expected 5 fields, got 6",
        "expected 5 fields, got 4",
    ]
