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
    report = ingest_file(con, path, fmt=Format.jsonl, mapping=mapping, settings=settings)
    reason = con.execute("SELECT reason FROM landing.quarantine").fetchall()
    if reason:
        return reason[0][0]
    cursor = con.execute("SELECT * FROM landing.tickets")
    names = [d[0] for d in cursor.description]
    row = dict(zip(names, cursor.fetchone(), strict=True))
    row["notes"] = report.notes
    row["events"] = con.execute(
        "SELECT kind, author_role, detail FROM landing.ticket_events ORDER BY event_id"
    ).fetchall()
    return row


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
        ({"body": None, "subject": None}, "body: missing"),
        ({"body": ["not", "text"], "subject": None}, "body: missing"),
    ],
)
def test_records_that_cannot_be_loaded_are_quarantined_with_a_reason(tmp_path, fields, reason):
    result = check(tmp_path, **fields)
    assert isinstance(result, str) and reason in result, result


EVENT = {"id": "c1", "created_at": "2026-03-01T10:00:00Z", "author_role": "customer"}


@pytest.mark.parametrize(
    ("fields", "column", "value", "note"),
    [
        ({"priority": "asap"}, "priority", None, ("unknown_values", "priority", {"asap": 1})),
        ({"status": "archived"}, "status", None, ("unknown_values", "status", {"archived": 1})),
        ({"csat": 7}, "csat", None, ("unknown_values", "csat", {"7": 1})),
        ({"csat": "4.5"}, "csat_good", None, ("unknown_values", "csat", {"4.5": 1})),
        ({"tags": 5}, "tags", [], ("coerced_to_null", "tags", 1)),
        ({"subject": True}, "subject", None, ("coerced_to_null", "subject", 1)),
        (
            {"updated_at": "not a date"},
            "updated_at",
            datetime(2026, 3, 1, 10, tzinfo=UTC),
            ("coerced_to_null", "updated_at", 1),
        ),
        (
            {"updated_at": "2026-02-01T00:00:00Z"},
            "clock_skew",
            True,
            ("flags", "updated_before_created", 1),
        ),
        ({"events": 5}, "body", "My card was declined", ("coerced_to_null", "events", 1)),
        (
            {"events": [{**EVENT, "created_at": "nope"}]},
            "body",
            "My card was declined",
            ("event_skipped", "created_at: not an ISO-8601 timestamp", 1),
        ),
        (
            {"events": [{"created_at": "2026-03-01T10:00:00Z"}]},
            "body",
            "My card was declined",
            ("event_skipped", "id: missing", 1),
        ),
        ({"events": ["x"]}, "body", "My card was declined", ("event_skipped", "not an object", 1)),
    ],
)
def test_a_bad_optional_field_becomes_null_and_is_counted(tmp_path, fields, column, value, note):
    """A record that can be loaded is loaded: the bad field is NULL, the batch notes say so."""
    row = check(tmp_path, **fields)
    assert isinstance(row, dict), row
    assert row[column] == value
    kind, key, expected = note
    assert row["notes"][kind][key] == expected


def test_unknown_event_kind_and_role_keep_the_ticket_and_the_raw_value(tmp_path):
    row = check(
        tmp_path,
        events=[
            {**EVENT, "kind": "poke", "author_role": "end-user"},
            {**EVENT, "id": "c2", "author_role": "wizard"},
        ],
    )
    assert isinstance(row, dict), row
    (kind, role, detail), (kind2, role2, _) = row["events"]
    assert (kind, role, json.loads(detail)) == ("other", "customer", {"raw_kind": "poke"})
    assert (kind2, role2) == ("comment", "system")
    assert row["notes"]["unknown_values"]["event_kind"] == {"poke": 1}
    assert row["notes"]["unknown_values"]["author_role"] == {"wizard": 1}


@pytest.mark.parametrize(
    ("csat", "scale", "score", "good"),
    [
        ("good", 5, None, True),
        ("bad", 5, None, False),
        ("offered", 5, None, None),
        ("unoffered", 5, None, None),
        ("Not Offered", 5, None, None),
        (None, 5, None, None),
        (5, 5, 5, True),
        (4, 5, 4, True),
        (3, 5, 3, False),
        (3, 3, 3, True),
        (2, 3, 2, False),
        (8, 10, 8, True),
        (7, 10, 7, False),
        ("Great", 5, None, True),
    ],
)
def test_csat_words_and_scales_are_normalised(tmp_path, csat, scale, score, good):
    row = check(tmp_path, Mapping(csat_scale=scale), csat=csat)
    assert (row["csat"], row["csat_good"]) == (score, good)


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
    assert (row["csat_raw"], row["csat_good"]) == ("4", True)


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
