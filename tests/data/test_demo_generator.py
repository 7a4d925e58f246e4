"""The demo generator is deterministic and realistic enough to make a classifier work."""

import csv
import json
from collections import Counter

import pytest

from supportflow.demo.generator import generate_tickets
from supportflow.demo.knowledge import articles
from tests.unit.test_pii import luhn_valid

CUSTOM = {
    360_000_001_001: "category",
    360_000_001_002: "queue",
    360_000_001_003: "sentiment",
    360_000_001_004: "customer_tier",
}


@pytest.fixture(scope="module")
def tickets(demo_export):
    """The account JSON export as Zendesk writes it: one ticket per line."""
    lines = (demo_export / "zendesk" / "tickets.json").read_text().splitlines()
    return [json.loads(line) for line in lines]


def custom(ticket: dict) -> dict:
    return {CUSTOM[f["id"]]: f["value"] for f in ticket["custom_fields"]}


def test_zendesk_shapes_are_the_real_ones(demo_export, tickets):
    users = json.loads((demo_export / "zendesk" / "users.json").read_text())["users"]
    fields = json.loads((demo_export / "zendesk" / "ticket_fields.json").read_text())
    assert {f["title"] for f in fields["ticket_fields"]} >= {"Category", "Queue"}
    roles = {u["id"]: u["role"] for u in users}
    assert {"end-user", "agent", "admin"} <= set(roles.values())
    comments = [c for t in tickets for c in t["comments"]]
    assert all("author_role" not in c and isinstance(c["author_id"], int) for c in comments)
    assert all(roles[t["requester_id"]] == "end-user" for t in tickets)
    scores = Counter((t["satisfaction_rating"] or {}).get("score") for t in tickets)
    assert set(scores) == {None, "good", "bad", "offered", "unoffered"}
    types = Counter(e["type"] for t in tickets for a in t["audits"] for e in a["events"])
    assert {"Create", "Notification", "Change", "SatisfactionRating", "Comment"} <= set(types)
    assert any(t["status"] == "deleted" for t in tickets)


def test_same_seed_same_bytes_whatever_the_workers(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    generate_tickets(one, tickets=25_000, days=20, seed=3, formats=frozenset({"jsonl"}), workers=1)
    generate_tickets(two, tickets=25_000, days=20, seed=3, formats=frozenset({"jsonl"}), workers=2)
    assert (one / "tickets.jsonl").read_bytes() == (two / "tickets.jsonl").read_bytes()
    generate_tickets(two, tickets=500, days=20, seed=4, formats=frozenset({"jsonl"}), workers=1)
    first, other = (one / "tickets.jsonl").read_bytes(), (two / "tickets.jsonl").read_bytes()
    assert first[:2000] != other[:2000]


def test_formats_hold_the_same_tickets(demo_export, tickets):
    jsonl = [json.loads(line) for line in (demo_export / "tickets.jsonl").open()]
    rows = list(csv.DictReader((demo_export / "tickets.csv").open()))
    assert [t["id"] for t in tickets] == [r["id"] for r in jsonl] == [int(r["id"]) for r in rows]
    assert [t["description"] for t in tickets] == [r["body"] for r in rows]


def test_realistic_mix(demo_export, tickets):
    fields = [custom(t) for t in tickets]
    categories = Counter(f["category"] for f in fields)
    assert len(categories) >= 12
    assert {f["queue"] for f in fields} >= {"billing", "accounts", "technical", "incidents"}
    assert {f["customer_tier"] for f in fields} >= {"free", "pro", "enterprise"}
    assert {t["via"]["channel"] for t in tickets} == {"email", "chat", "web", "phone", "social"}
    flat = [json.loads(line) for line in (demo_export / "tickets.jsonl").open()]
    non_english = sum(r["language"] in ("de", "es", "fr") for r in flat)
    assert 0.05 < non_english / len(tickets) < 0.2


def test_priority_follows_category(tickets):
    def urgent_share(category):
        chosen = [t for t in tickets if custom(t)["category"] == category]
        return sum(t["priority"] in ("high", "urgent") for t in chosen) / len(chosen)

    assert urgent_share("outage") > urgent_share("how_to") + 0.4


def test_histories_reopens_csat_and_pii(tickets):
    n = len(tickets)
    reopened = sum(
        any(e.get("previous_value") == "solved" for a in t["audits"] for e in a["events"])
        for t in tickets
    )
    solved = [t for t in tickets if t["status"] == "solved"]
    rated = [t for t in solved if t["satisfaction_rating"]["score"] in ("good", "bad")]
    assert 0.03 < reopened / n < 0.15
    assert 0.3 < len(rated) / len(solved) < 0.5
    assert all(t["comments"][0]["author_id"] == t["requester_id"] for t in tickets)
    assert (
        sum(
            any(c["author_id"] not in (t["requester_id"], -1) for c in t["comments"])
            for t in tickets
        )
        > 0.7 * n
    )
    cards = [w for t in tickets for w in t["description"].split("The card used was ")[1:]]
    assert cards and all(luhn_valid(c.split(".")[0]) for c in cards)
    with_pii = sum(
        any(s in t["description"] for s in ("@", "Call me", "card used", "IBAN")) for t in tickets
    )
    assert 0.08 < with_pii / n < 0.25


def test_csat_is_lower_for_negative_sentiment(tickets):
    def good_rate(sentiment):
        scores = [
            t["satisfaction_rating"]["score"] == "good"
            for t in tickets
            if t["satisfaction_rating"]
            and t["satisfaction_rating"]["score"] in ("good", "bad")
            and custom(t)["sentiment"] == sentiment
        ]
        return sum(scores) / len(scores)

    assert good_rate("negative") < good_rate("positive") - 0.2


def test_incident_bursts_are_near_duplicates(tickets):
    incident = [t for t in tickets if "incident" in t["tags"]]
    assert len(incident) >= 5
    by_subject = Counter(t["subject"] for t in incident)
    assert len(by_subject) <= 3  # one wording per incident, varied only by greeting and tone
    outage = sum(custom(t)["category"] == "outage" for t in incident)
    assert outage >= 0.8 * len(incident)  # the rest is the 3 % label noise
    starts = sorted(t["created_at"] for t in incident)
    assert starts[0][:10] == starts[-1][:10]  # one incident day in a 30-day sample


def test_knowledge_base_answers_every_category(demo_export):
    truth = json.loads((demo_export / "kb" / "ground_truth.json").read_text())
    assert len(truth) >= 12 and all(truth.values())
    arts = articles()
    assert {a.audience for a in arts} == {"public", "internal"}
    assert "draft" in {a.status for a in arts}
    assert any(a.review_by < "2026-10-31" for a in arts)
    refund = [a.body for a in arts if a.category == "refund" and a.audience == "public"]
    assert any("14 days" in b for b in refund) and any("30 days" in b for b in refund)
    assert len(list((demo_export / "kb").glob("*.md"))) == len(arts)
