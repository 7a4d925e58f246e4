"""Validation and normalisation of single records: every rejection names the field and why."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from supportflow.ingest.records import Rejected, normalise_ticket, parse_timestamp, pseudonymise

SALT = b"salt"


def ticket(**fields):
    base = {"id": "42", "created_at": "2026-03-01T10:00:00Z", "body": "My card was declined"}
    return normalise_ticket({**base, **fields}, salt=SALT)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-03-01T10:00:00Z", datetime(2026, 3, 1, 10, tzinfo=UTC)),
        ("2026-03-01T11:00:00+01:00", datetime(2026, 3, 1, 10, tzinfo=UTC)),
        ("2026-03-01 10:00:00", datetime(2026, 3, 1, 10, tzinfo=UTC)),
        (1772359200, datetime(2026, 3, 1, 10, tzinfo=UTC)),
    ],
)
def test_timestamps_are_normalised_to_utc(value, expected):
    assert parse_timestamp(value, "created_at") == expected


def test_naive_timestamps_use_the_mapping_timezone():
    berlin = ZoneInfo("Europe/Berlin")
    assert parse_timestamp("2026-03-01 11:00", "t", berlin) == datetime(2026, 3, 1, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"id": None}, "id: missing"),
        ({"id": "  "}, "id: missing"),
        ({"created_at": "yesterday"}, "created_at: 'yesterday' is not an ISO-8601"),
        ({"created_at": "2026-13-45T00:00:00Z"}, "created_at:"),
        ({"created_at": "1900-01-01T00:00:00Z"}, "outside 1990–2100"),
        ({"created_at": None}, "created_at: missing"),
        ({"updated_at": "2026-02-01T00:00:00Z"}, "updated_at: earlier than created_at"),
        ({"body": None, "subject": None}, "body: missing"),
        ({"priority": "asap"}, "priority: 'asap' is not one of low, normal, high, urgent"),
        ({"status": "archived"}, "status: 'archived' is not one of"),
        ({"csat": 7}, "csat: '7' is not an integer from 1 to 5"),
        ({"csat": "4.5"}, "csat:"),
        ({"tags": [1, 2]}, "tags:"),
        ({"body": ["not", "text"]}, "body: expected text, got list"),
        ({"events": [{"id": "c1", "created_at": "nope"}]}, "events[0].created_at:"),
        (
            {"events": [{"id": "c1", "created_at": "2026-03-01T10:00:00Z", "kind": "poke"}]},
            "events[0].kind: 'poke'",
        ),
    ],
)
def test_bad_fields_are_rejected_with_a_reason(fields, reason):
    with pytest.raises(Rejected, match=None) as info:
        ticket(**fields)
    assert reason in str(info.value)


def test_body_over_the_limit_is_rejected_not_truncated():
    with pytest.raises(Rejected, match="over the limit of 100"):
        normalise_ticket(
            {"id": 1, "created_at": "2026-03-01T10:00:00Z", "body": "x" * 101},
            salt=SALT,
            max_body_chars=100,
        )


def test_labels_are_lower_cased_and_synonyms_mapped():
    t = ticket(priority="Critical", status="SOLVED", channel="Email", tags="VIP; billing,vip")
    assert (t.priority, t.status, t.channel) == ("urgent", "solved", "email")
    assert t.tags == ["vip", "billing"]


def test_updated_at_defaults_to_created_at():
    t = ticket()
    assert t.updated_at == t.created_at


def test_ids_are_pseudonymised_with_the_salt():
    t = ticket(customer_id="cus_1", assignee_id="agent_7")
    assert t.customer_key == pseudonymise("cus_1", SALT) != pseudonymise("cus_1", b"other")
    assert "cus_1" not in t.customer_key and len(t.customer_key) == 24


def test_event_detail_ids_are_pseudonymised():
    t = ticket(
        events=[
            {
                "id": "a1",
                "created_at": "2026-03-01T11:00:00Z",
                "kind": "assign",
                "detail": {"assignee_id": "agent_7", "article_id": "kb-1"},
            }
        ]
    )
    assert "agent_7" not in t.events[0].detail
    assert '"article_id":"kb-1"' in t.events[0].detail
