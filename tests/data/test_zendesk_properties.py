"""Property: a loadable Zendesk ticket is never quarantined, whatever its optional fields hold.

Tickets are generated in the Zendesk API shape (Tickets, Ticket Comments, Ticket Audits
references) with random nulls in every optional field, unknown audit event types, unknown
channels, CSAT words, statuses and priorities; only id and created_at are always readable.
"""

from __future__ import annotations

import json

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from supportflow.ingest.load import ingest_file
from supportflow.ingest.validate import AUTHOR_ROLES, EVENT_KINDS
from supportflow.settings import Settings
from supportflow.warehouse import apply_migrations

maybe = st.none() | st.just("") | st.integers(-5, 5) | st.text(max_size=12)
timestamp = st.sampled_from(["2026-05-05T09:00:00Z", "2026-05-06T10:30:00+02:00", 1777971600])
event_type = st.sampled_from(
    [
        "Comment",
        "Create",
        "Change",
        "Notification",
        "Cc",
        "SatisfactionRating",
        "Tweet",
        "AgentMacroReference",
        "SomethingNew",
        None,
    ]
)
field_name = st.sampled_from(["status", "priority", "tags", "assignee_id", "group_id", "123456"])


@st.composite
def audit_event(draw):
    kind = draw(event_type)
    event = {"id": draw(st.integers(1, 10**6)), "type": kind}
    if kind in ("Create", "Change"):
        event |= {
            "field_name": draw(field_name),
            "value": draw(maybe | st.lists(st.text(max_size=5))),
        }
    if kind == "Comment":
        event |= {"author_id": draw(maybe), "body": draw(maybe), "public": draw(maybe)}
    if kind == "SatisfactionRating":
        event |= {"score": draw(st.sampled_from(["good", "bad", "offered", None, 7]))}
    return event


@st.composite
def ticket(draw, n: int):
    return {
        "id": 5000 + n,
        "created_at": draw(timestamp),
        "updated_at": draw(maybe | timestamp),
        "subject": "Help " + str(n),
        "description": draw(maybe),
        "status": draw(st.sampled_from(["open", "solved", "deleted", "archived", None, 3])),
        "priority": draw(st.sampled_from(["low", "urgent", "p9", None, ""])),
        "requester_id": draw(maybe),
        "assignee_id": draw(maybe),
        "tags": draw(st.none() | st.lists(st.text(max_size=6), max_size=3) | st.integers()),
        "via": draw(st.none() | st.fixed_dictionaries({"channel": maybe})),
        "satisfaction_rating": draw(
            st.none()
            | st.fixed_dictionaries(
                {"score": st.sampled_from(["good", "bad", "offered", "unoffered", "meh", 4, None])}
            )
        ),
        "custom_fields": draw(
            st.lists(st.fixed_dictionaries({"id": st.integers(1, 9), "value": maybe}), max_size=2)
        ),
        "comments": draw(
            st.lists(
                st.fixed_dictionaries(
                    {
                        "id": st.integers(1, 10**6),
                        "author_id": maybe,
                        "body": maybe,
                        "public": maybe,
                        "created_at": st.none() | timestamp,
                    }
                ),
                max_size=3,
            )
        ),
        "audits": draw(
            st.lists(
                st.fixed_dictionaries(
                    {
                        "id": st.integers(1, 10**6),
                        "created_at": timestamp,
                        "author_id": maybe,
                        "via": st.fixed_dictionaries({"channel": maybe}),
                        "events": st.lists(audit_event(), max_size=4),
                    }
                ),
                max_size=2,
            )
        ),
    }


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.tuples(*[ticket(i) for i in range(25)]))
def test_loadable_zendesk_tickets_are_never_quarantined(tmp_path, tickets):
    path = tmp_path / "page.json"
    path.write_text(json.dumps({"tickets": list(tickets), "end_of_stream": True}))
    con = duckdb.connect()
    apply_migrations(con)
    report = ingest_file(con, path, settings=Settings(home=tmp_path, pii_salt="s"))
    reasons = con.execute("SELECT reason FROM landing.quarantine").fetchall()
    # the only reason left: a ticket with neither subject nor body (never here: subject is set)
    assert reasons == [] and report.records_quarantined == 0, reasons
    assert report.balanced and report.records_loaded == len(tickets)
    kinds = {
        k for (k,) in con.execute("SELECT DISTINCT kind FROM landing.ticket_events").fetchall()
    }
    assert kinds <= set(EVENT_KINDS)
    roles = {
        r
        for (r,) in con.execute("SELECT DISTINCT author_role FROM landing.ticket_events").fetchall()
    }
    assert roles <= set(AUTHOR_ROLES)
