"""Zendesk shapes → canonical events (pure functions; shapes from the public API reference)."""

from supportflow.ingest.zendesk import FlattenStats, Lookups, flatten_ticket, ticket_event_records


def test_ticket_event_export_children_with_the_field_as_key():
    """Incremental Ticket Event Export: a change names its field by key, tags by added_tags."""
    item = {
        "id": 1, "ticket_id": 9, "created_at": "2026-04-01T10:00:00Z", "updater_id": 601,
        "via": "Web form", "event_type": "Audit",
        "child_events": [
            {"id": 2, "via": "Web form", "status": "solved", "previous_value": "open",
             "event_type": "Change"},
            {"id": 3, "tags": ["a", "escalated"], "added_tags": ["escalated"],
             "removed_tags": [], "event_type": "Change"},
            {"id": 4, "priority": "high", "previous_value": "normal", "event_type": "Change"},
            {"id": 5, "event_type": "Comment", "comment_public": True, "body": "hi",
             "author_id": 601},
        ],
    }  # fmt: skip
    ticket, events = ticket_event_records(item, Lookups(), FlattenStats())
    assert ticket == 9
    assert [(e["kind"], e.get("detail")) for e in events] == [
        ("status", {"value": "solved", "previous_value": "open"}),
        ("escalate", {"tags_added": ["escalated"]}),
        ("field_change", {"field": "priority", "from": "normal", "to": "high"}),
        ("comment", None),
    ]
    assert events[3]["public"] is True and events[3]["author_id"] == 601


def test_roles_locale_and_custom_fields_from_lookups():
    lookups = Lookups()
    lookups.add_users([{"id": 1, "role": "end-user", "locale": "de"},
                       {"id": 2, "role": "agent"}, {"id": 3, "role": "end-user"}])  # fmt: skip
    lookups.add_ticket_fields([{"id": 77, "title": "Customer tier"}])
    ticket = {
        "id": 5, "requester_id": 1, "custom_fields": [{"id": 77, "value": "pro"}],
        "comments": [
            {"id": 10, "author_id": 1, "body": "x"}, {"id": 11, "author_id": 2, "body": "y"},
            {"id": 12, "author_id": 3, "body": "cc"}, {"id": 13, "author_id": 4, "body": "?"},
            {"id": 14, "author_id": -1, "body": "z",
             "via": {"channel": "answer_bot_for_web_widget"}},
        ],
    }  # fmt: skip
    stats = FlattenStats()
    flat = flatten_ticket(ticket, lookups, stats)
    assert (flat["language"], flat["customer_tier"]) == ("de", "pro")
    roles = [e["author_role"] for e in flat["events"]]
    assert roles == ["customer", "agent", "customer", None, "bot"]  # None: decided by keys in SQL
    assert stats.roles_inferred == 1
