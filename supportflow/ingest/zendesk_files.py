"""Read Zendesk export files of any shape into ``RawRecord``s (see ``zendesk`` for the shapes).

A file is recognised from its content: its first line (one JSON object per line: the account
export) or its top-level key (``tickets``, ``ticket``, ``audits``, ``ticket_events``, ``users``,
``ticket_fields``). Documents up to ``IN_MEMORY_BYTES`` are parsed at once with orjson (fast);
larger ones are streamed with ijson, so memory stays bounded by one ticket.
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Any

import ijson
import orjson

from supportflow.ingest.zendesk import (
    FlattenStats,
    Lookups,
    audit_events,
    comment_event,
    flatten_ticket,
    ticket_event_records,
)

IN_MEMORY_BYTES = 64 << 20
SNIFF_BYTES = 1 << 20
# Top-level arrays we read, in the order we look for them.
ARRAYS = ("tickets", "ticket", "audits", "ticket_events", "comments", "users", "ticket_fields")


class Shape(StrEnum):
    tickets = "tickets"  # a page or export of tickets (document or one per line)
    events = "events"  # audits or ticket events of tickets loaded elsewhere
    users = "users"
    ticket_fields = "ticket_fields"
    unknown = "unknown"


def _first_line(path: Path) -> bytes:
    with open(path, "rb") as handle:
        head = handle.read(SNIFF_BYTES)
    head = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    return head.split(b"\n", 1)[0].strip()


def is_ndjson(path: Path) -> bool:
    """True when the first line is a whole JSON object with an ``id`` (one record per line);
    a whole document written on one line is not."""
    doc = first_object(path)
    return doc is not None and "id" in doc


def first_object(path: Path) -> dict | None:
    """The first line's object when the first line is a whole JSON object (None otherwise)."""
    line = _first_line(path)
    if not line.startswith(b"{"):
        return None
    try:
        doc = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    return doc if isinstance(doc, dict) else None


def is_document(doc: dict) -> bool:
    """A whole Zendesk document on one line: no ``id``, one of ``ARRAYS`` holding a list."""
    return "id" not in doc and any(isinstance(doc.get(k), list | dict) for k in ARRAYS)


def looks_like_zendesk_ticket(doc: dict) -> bool:
    """A Zendesk ticket object (not a canonical supportflow record): Zendesk's own keys, none
    of the canonical record's."""
    zendesk_keys = {"requester_id", "description", "via", "satisfaction_rating", "custom_fields"}
    return bool(zendesk_keys & doc.keys()) and "events" not in doc and "body" not in doc


def top_level_key(path: Path) -> str | None:
    """The top-level array key of a JSON document: ``tickets`` first, then the others in
    ``ARRAYS`` order (small files are parsed whole; large ones streamed to the first key)."""
    if path.stat().st_size <= IN_MEMORY_BYTES:
        doc = orjson.loads(path.read_bytes())  # JSONDecodeError: the caller names the file
        return next((k for k in ARRAYS if isinstance(doc, dict) and k in doc), None)
    with open(path, "rb") as handle:
        try:
            for prefix, event, value in ijson.parse(handle):
                if prefix == "" and event == "map_key" and value in ARRAYS:
                    return value
                if prefix == "" and event in ("end_map", "start_array"):
                    return None
        except ijson.JSONError:
            return None
    return None


def shape_of(path: Path) -> Shape:
    """What a Zendesk file holds, from its content."""
    doc = first_object(path)
    if doc is not None:
        if is_document(doc):  # a whole document on one line (a page, a users list…)
            key = next((k for k in ARRAYS if k in doc), None)
        elif "id" not in doc:
            key = None
        elif "role" in doc and ("email" in doc or "name" in doc) and "requester_id" not in doc:
            return Shape.users
        elif "child_events" in doc or ("events" in doc and "ticket_id" in doc):
            return Shape.events
        elif "ticket_id" in doc and "author_id" in doc and "requester_id" not in doc:
            return Shape.events  # comments, one per line
        else:
            return Shape.tickets
    else:
        key = top_level_key(path)
    return {
        "tickets": Shape.tickets,
        "ticket": Shape.tickets,
        "audits": Shape.events,
        "ticket_events": Shape.events,
        "comments": Shape.events,
        "users": Shape.users,
        "ticket_fields": Shape.ticket_fields,
    }.get(key or "", Shape.unknown)


def read_lookups(path: Path, lookups: Lookups) -> tuple[Shape, int]:
    """Add a users or ticket_fields file to ``lookups``; returns its shape and item count."""
    shape = shape_of(path)
    key = {Shape.users: "users", Shape.ticket_fields: "ticket_fields"}.get(shape)
    if key is None:
        return shape, 0
    items = _items(path, key)
    add = lookups.add_users if shape == Shape.users else lookups.add_ticket_fields
    return shape, add(item for _, item, _ in items)


def _items(path: Path, key: str, error=None) -> Iterator[tuple[int, Any, str | None]]:
    """(record number, object, parse error) for each item of the array ``key`` — or each line
    of a one-object-per-line file; a line that does not parse comes back with its error."""
    if is_ndjson(path):
        yield from _lines(path)
        return
    if path.stat().st_size <= IN_MEMORY_BYTES:
        doc = orjson.loads(path.read_bytes())
        items = doc.get(key) if isinstance(doc, dict) else None
        if key == "ticket" and isinstance(items, dict):
            items = [items]
        for n, item in enumerate(items or [], start=1):
            yield n, item, None
        return
    with open(path, "rb") as handle:
        for n, item in enumerate(ijson.items(handle, f"{key}.item", use_float=True), start=1):
            yield n, item, None


def _lines(path: Path) -> Iterator[tuple[int, Any, str | None]]:
    with open(path, "rb") as handle:
        for n, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield n, orjson.loads(line), None
            except orjson.JSONDecodeError as exc:
                yield (
                    n,
                    line.decode(errors="backslashreplace").rstrip("\r\n"),
                    f"malformed JSON: {exc}",
                )


def zendesk_records(
    path: Path,
    lookups: Lookups,
    stats: FlattenStats,
    columns: dict[str, str] | None = None,
    custom_fields: dict[str, str] | None = None,
) -> Iterator[tuple[int, str, str | None, str | None]]:
    """(record number, raw JSON, canonical JSON or None, error) for each record of the file.

    Tickets become canonical tickets with their events; audit and ticket-event items become
    ``{"id": ticket id, "events": [...], "events_only": true}`` records. A page's sideloaded
    ``users`` join ``lookups`` before its tickets are read.
    """
    shape = shape_of(path)
    if shape in (Shape.users, Shape.ticket_fields, Shape.unknown):
        return
    key = _array_key(path, shape)
    if (
        key in ("tickets", "ticket")
        and not is_ndjson(path)
        and path.stat().st_size <= IN_MEMORY_BYTES
    ):
        doc = orjson.loads(path.read_bytes())
        lookups.add_users(doc.get("users") or [])
        lookups.add_ticket_fields(doc.get("ticket_fields") or [])
    for n, item, error in _items(path, key):
        if error is not None:
            yield n, item, None, error
            continue
        try:
            raw = orjson.dumps(item).decode()
        except (TypeError, RecursionError):  # orjson stops at 255 levels: quarantine, go on
            yield n, _stub(item), None, TOO_DEEP
            continue
        if not isinstance(item, dict):
            yield n, raw, None, "expected an object"
            continue
        try:
            doc = orjson.dumps(_flatten(item, shape, lookups, stats, columns, custom_fields))
        except (TypeError, RecursionError):
            yield n, raw[:2000], None, TOO_DEEP
            continue
        yield n, raw, doc.decode(), None


TOO_DEEP = "unexpected structure: nested too deeply"


def _stub(item: object) -> str:
    """What a quarantine row keeps of a record too deep to serialise: its id, when it has one."""
    record_id = item.get("id") if isinstance(item, dict) else None
    return orjson.dumps({"id": record_id if isinstance(record_id, int | str) else None}).decode()


def _array_key(path: Path, shape: Shape) -> str:
    if is_ndjson(path):
        return "tickets" if shape == Shape.tickets else "ticket_events"
    return top_level_key(path) or "tickets"


def _flatten(item: dict, shape: Shape, lookups, stats, columns, custom_fields) -> dict:
    if shape == Shape.tickets:
        return flatten_ticket(item, lookups, stats, columns, custom_fields)
    if "child_events" in item:  # Incremental Ticket Event Export item
        ticket_id, events = ticket_event_records(item, lookups, stats)
    elif "events" not in item:  # a comment (List Comments), with the ticket_id a data
        # engineer added when collecting them; without it the loader quarantines the record
        ticket_id, events = item.get("ticket_id"), [comment_event(item, lookups, stats)]
    else:  # a Ticket Audit
        ticket_id, events = item.get("ticket_id"), audit_events(item, None, lookups, stats)
    return {"id": ticket_id, "events": events, "events_only": True}
