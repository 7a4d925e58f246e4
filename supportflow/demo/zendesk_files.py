"""The demo's Zendesk files beside the ticket export: the Users and Ticket Fields lookups, and
cursor-based Incremental Ticket Export pages of the recently updated tickets."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import orjson

from supportflow.demo import catalog as cat

if TYPE_CHECKING:
    from supportflow.demo.generator import Plan

# Custom ticket fields as a Zendesk account defines them: numeric ids, titles in ticket_fields.
CUSTOM_FIELDS = {
    "category": 360_000_001_001,
    "queue": 360_000_001_002,
    "sentiment": 360_000_001_003,
    "customer_tier": 360_000_001_004,
}
CUSTOMER_BASE = 10_000_000  # Zendesk user ids of the demo's customers
PAGE_SIZE = 1000  # tickets per Incremental Export page (Zendesk's cursor page size)


def write_incremental_pages(folder: Path, tickets: list[dict]) -> int:
    """Cursor-based Incremental Ticket Export pages (``tickets``, ``after_cursor``,
    ``after_url``, ``end_of_stream``; Zendesk Incremental Exports reference) of ``tickets`` in
    ``updated_at`` order, ``PAGE_SIZE`` a page; returns how many pages were written."""
    import base64

    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("page_*.json"):
        old.unlink()
    ordered = sorted(tickets, key=lambda t: (t["updated_at"], t["id"]))
    pages = [ordered[i : i + PAGE_SIZE] for i in range(0, len(ordered), PAGE_SIZE)] or [[]]
    for n, page in enumerate(pages, start=1):
        last = n == len(pages)
        cursor = (
            base64.b64encode(f"{page[-1]['updated_at']}|{page[-1]['id']}".encode()).decode()
            if page
            else None
        )
        body = {
            "tickets": page,
            "after_url": None
            if last
            else (
                f"https://nimbus.zendesk.com/api/v2/incremental/tickets/cursor.json?cursor={cursor}"
            ),
            "after_cursor": cursor,
            "before_url": None,
            "before_cursor": None,
            "end_of_stream": last,
        }
        (folder / f"page_{n:04d}.json").write_bytes(orjson.dumps(body))
    return len(pages)


def customers(plan: Plan) -> int:
    """How many distinct requesters the plan draws tickets from."""
    return max(50, plan.tickets // 4)


def write_zendesk_lookups(folder: Path, plan: Plan) -> None:
    """``users.json`` (end-users, agents, an admin; names and e-mails are fake) and
    ``ticket_fields.json`` (the custom fields' titles), in the Zendesk list APIs' shape."""
    from supportflow.demo.history import agent_id

    folder.mkdir(parents=True, exist_ok=True)
    agents = [f"agent_{q}_{k}" for q in cat.QUEUES for k in range(8)]
    users = [
        {
            "id": CUSTOMER_BASE + c,
            "name": f"Customer {c}",
            "email": f"customer{c}@example.com",
            "role": "end-user",
        }
        for c in range(customers(plan))
    ] + [
        {
            "id": agent_id(a),
            "name": a.replace("_", " ").title(),
            "email": f"{a}@nimbus.example",
            "role": "admin" if i == 0 else "agent",
        }
        for i, a in enumerate(agents)
    ]
    (folder / "users.json").write_bytes(
        orjson.dumps({"users": users, "next_page": None, "count": len(users)})
    )
    titles = {
        "category": "Category",
        "queue": "Queue",
        "sentiment": "Sentiment",
        "customer_tier": "Customer tier",
    }
    fields = [
        {
            "id": fid,
            "type": "tagger",
            "title": titles[name],
            "raw_title": titles[name],
            "active": True,
        }
        for name, fid in CUSTOM_FIELDS.items()
    ]
    (folder / "ticket_fields.json").write_bytes(orjson.dumps({"ticket_fields": fields}))
