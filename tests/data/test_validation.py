"""Validation and normalisation of single records (SQL): every rejection names the field and why."""

import json
from datetime import UTC, datetime

import duckdb
import pytest

from supportflow.ingest.load import ingest_file
from supportflow.ingest.mapping import Mapping
from supportflow.ingest.sources import Format
from supportflow.settings import Settings
from supportflow.warehouse import apply_migrations

BASE = {"id": "42", "created_at": "2026-03-01T10:00:00Z", "body": "My card was declined"}


def check(tmp_path, mapping: Mapping | None = None, max_body_chars: int = 200_000, **fields):
    """Ingest one record; return its landed row as a dict, or its quarantine reason."""
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps({**BASE, **fields}) + "\n")
    con = duckdb.connect()
    apply_migrations(con)
    settings = Settings(home=tmp_path, pii_salt="salt", max_body_chars=max_body_chars)
    ingest_file(con, path, fmt=Format.jsonl, mapping=mapping, settings=settings)
    reason = con.execute("SELECT reason FROM landing.quarantine").fetchall()
    if reason:
        return reason[0][0]
    cursor = con.execute("SELECT * FROM landing.tickets")
    names = [d[0] for d in cursor.description]
    return dict(zip(names, cursor.fetchone(), strict=True))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-03-01T10:00:00Z", datetime(2026, 3, 1, 10, tzinfo=UTC)),
        ("2026-03-01T11:00:00+01:00", datetime(2026, 3, 1, 10, tzinfo=UTC)),
        ("2026-03-01 10:00:00", datetime(2026, 3, 1, 10, tzinfo=UTC)),
        (1772359200, datetime(2026, 3, 1, 10, tzinfo=UTC)),
    ],
)
def test_timestamps_are_normalised_to_utc(tmp_path, value, expected):
    assert check(tmp_path, created_at=value)["created_at"] == expected


def test_naive_timestamps_use_the_mapping_timezone(tmp_path):
    row = check(tmp_path, Mapping(timezone="Europe/Berlin"), created_at="2026-03-01 11:00:00")
    assert row["created_at"] == datetime(2026, 3, 1, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"id": None}, "id: missing"),
        ({"id": "  "}, "id: missing"),
        ({"id": "x" * 201}, "id: longer than 200"),
        ({"created_at": "yesterday"}, "created_at: 'yesterday' is not an ISO-8601 timestamp"),
        ({"created_at": "2026-13-45T00:00:00Z"}, "created_at: '2026-13-45T00:00:00Z' is not"),
        ({"created_at": "1900-01-01T00:00:00Z"}, "outside 1990–2100"),
        ({"created_at": None}, "created_at: missing"),
        ({"updated_at": "2026-02-01T00:00:00Z"}, "updated_at: earlier than created_at"),
        ({"body": None, "subject": None}, "body: missing"),
        ({"priority": "asap"}, "priority: 'asap' is not one of low, normal, high, urgent"),
        ({"status": "archived"}, "status: 'archived' is not one of"),
        ({"csat": 7}, "csat: '7' is not an integer from 1 to 5"),
        ({"csat": "4.5"}, "csat: '4.5'"),
        ({"tags": [1, 2]}, "tags: expected a list of strings"),
        ({"body": ["not", "text"]}, "body: expected text, got array"),
        ({"subject": True}, "subject: expected text, got boolean"),
        ({"events": 5}, "events: expected a list"),
        ({"events": [{"id": "c1", "created_at": "nope"}]}, "events[0].created_at: 'nope'"),
        (
            {"events": [{"id": "c1", "created_at": "2026-03-01T10:00:00Z", "kind": "poke"}]},
            "events[0].kind: 'poke' is not one of",
        ),
        ({"events": [{"created_at": "2026-03-01T10:00:00Z"}]}, "events[0].id: missing"),
        ({"events": ["x"]}, "events[0]: expected an object"),
    ],
)
def test_bad_fields_are_rejected_with_a_reason(tmp_path, fields, reason):
    result = check(tmp_path, **fields)
    assert isinstance(result, str) and reason in result, result


def test_body_over_the_limit_is_rejected_not_truncated(tmp_path):
    assert check(tmp_path, max_body_chars=100, body="x" * 101) == (
        "body: 101 characters is over the limit of 100"
    )


def test_labels_are_lower_cased_and_synonyms_mapped(tmp_path):
    row = check(
        tmp_path, priority="Critical", status="SOLVED", channel="Email", tags="VIP; billing,vip"
    )
    assert (row["priority"], row["status"], row["channel"]) == ("urgent", "solved", "email")
    assert row["tags"] == ["vip", "billing"]


def test_numbers_are_accepted_as_text_and_csat_as_integer(tmp_path):
    row = check(tmp_path, id=42, csat="4", subject=12345)
    assert (row["external_id"], row["csat"], row["subject"]) == ("42", 4, "12345")


def test_updated_at_defaults_to_created_at(tmp_path):
    row = check(tmp_path)
    assert row["updated_at"] == row["created_at"]


def test_ids_are_pseudonymised_with_the_salt(tmp_path):
    row = check(tmp_path, customer_id="cus_1", assignee_id="agent_7")
    assert row["customer_key"] and "cus_1" not in row["customer_key"]
    assert len(row["customer_key"]) == 24 and row["assignee_key"] != row["customer_key"]
    assert check(tmp_path, customer_id="cus_1")["customer_key"] == row["customer_key"]


def test_mapping_columns_and_defaults(tmp_path):
    mapping = Mapping(columns={"body": "text"}, defaults={"channel": "web"})
    row = check(tmp_path, mapping, text="from the text column", body=None)
    assert (row["body"], row["channel"]) == ("from the text column", "web")
