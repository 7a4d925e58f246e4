"""Read Zendesk export files of any shape into ``RawRecord``s (see ``zendesk`` for the shapes).

A file's shape comes from its content (``zendesk_shape``). Documents up to ``IN_MEMORY_BYTES``
are parsed at once with orjson (fast); larger ones, and any that orjson refuses for their depth
(over 1,024 levels), are streamed with ``deep_json`` (ijson events, depth-capped), so memory
stays bounded by one ticket. A record nested deeper than ``deep_json.MAX_DEPTH`` is quarantined
("unexpected structure: nested too deeply"), the others load. A record over
``bounds.LARGE_RECORD_BYTES`` is shrunk by ``bounds.bound_record`` before it is staged.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from supportflow.ingest.bounds import (
    KEEP_CHARS,
    Limits,
    bound_record,
    has_long_text,
    is_large,
    json_head,
    kept_head,
    record_too_large,
    utf8_chars,
)
from supportflow.ingest.deep_json import (
    JSON_ERRORS,
    document_items,
    is_depth_error,
    json_length,
    loads_capped,
    measured_items,
)
from supportflow.ingest.zendesk import (
    FlattenStats,
    Lookups,
    audit_events,
    comment_event,
    flatten_ticket,
    ticket_event_records,
)
from supportflow.ingest.zendesk_shape import (
    IN_MEMORY_BYTES,
    TOO_DEEP_FOR_ORJSON,
    Shape,
    is_ndjson,
    load_small,
    shape_of,
    streamed_keys,
    top_level_key,
)


def read_lookups(path: Path, lookups: Lookups) -> tuple[Shape, int]:
    """Add a users or ticket_fields file to ``lookups``; returns its shape and item count."""
    shape = shape_of(path)
    key = {Shape.users: "users", Shape.ticket_fields: "ticket_fields"}.get(shape)
    if key is None:
        return shape, 0
    items = _items(path, key, Limits().max_record_chars)
    add = lookups.add_users if shape == Shape.users else lookups.add_ticket_fields
    return shape, add(item for _, item, error, _ in items if error is None)


Item = tuple[int, Any, str | None, int | None]


def _items(path: Path, key: str, max_chars: int) -> Iterator[Item]:
    """(record number, object, parse error, full length) for each item of the array ``key`` —
    or each line of a one-object-per-line file. A line that does not parse, and an item over
    ``max_chars`` characters (never built whole), come back as text (their first
    ``bounds.KEEP_CHARS`` characters) with their reason and full length."""
    if is_ndjson(path):
        yield from _lines(path, max_chars)
        return
    if path.stat().st_size <= IN_MEMORY_BYTES:
        doc = load_small(path)
        if doc is not TOO_DEEP_FOR_ORJSON:
            items = doc.get(key) if isinstance(doc, dict) else None
            if key == "ticket" and isinstance(items, dict):
                items = [items]
            for n, item in enumerate(items if isinstance(items, list) else [], start=1):
                yield n, item, None, None
            return
    with open(path, "rb") as handle:  # ijson.JSONError: the caller names the file
        for n, measured in enumerate(measured_items(handle, key, max_chars), start=1):
            if measured.complete:
                yield n, measured.value, None, None
                continue
            try:
                head = json_head(measured.value)
            except TypeError:  # its start is nested too deeply to write
                head = _stub(measured.value)
            yield n, head, record_too_large(measured.chars, max_chars), measured.chars


def _lines(path: Path, max_chars: int) -> Iterator[Item]:
    with open(path, "rb") as handle:
        for n, line in enumerate(handle, start=1):
            if not line or line.isspace():
                continue
            if len(line) > max_chars and (chars := utf8_chars(line.rstrip(b"\r\n"))) > max_chars:
                head, _ = kept_head(line.rstrip(b"\r\n"))
                yield n, head, record_too_large(chars, max_chars), chars
                continue
            try:
                item = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                if is_depth_error(exc):  # valid JSON nested past orjson's 1,024 levels
                    try:
                        yield n, loads_capped(line), None, None
                        continue
                    except JSON_ERRORS:
                        pass
                text, chars = kept_head(line.rstrip(b"\r\n"))
                yield n, text, f"malformed JSON: {exc}", chars
                continue
            del line  # a large line is not held beside its record
            yield n, item, None, None


ZendeskRecord = tuple[int, str, str | None, str | None, int | None, list[str] | None]
# Canonical field → key of a flattened record (the flattener already wrote canonical names).
_FLAT_COLUMNS: dict[str, str] = {}


def zendesk_records(
    path: Path,
    lookups: Lookups,
    stats: FlattenStats,
    columns: dict[str, str] | None = None,
    custom_fields: dict[str, str] | None = None,
    limits: Limits | None = None,
) -> Iterator[ZendeskRecord]:
    """(record number, raw JSON, canonical JSON or None, error, raw_chars, events in pieces)
    for each record.

    Tickets become canonical tickets with their events; audit and ticket-event items become
    ``{"id": ticket id, "events": [...], "events_only": true}`` records. A page's sideloaded
    ``users`` join ``lookups`` before its tickets are read. ``raw_chars`` is the record's full
    length when ``raw`` keeps only its start (a record over ``bounds.KEEP_CHARS``), else None;
    such a record is shrunk by ``bounds.bound_record`` under ``limits``.
    """
    limits = limits or Limits()
    shape = shape_of(path)
    if shape in (Shape.users, Shape.ticket_fields, Shape.unknown):
        return
    key = _array_key(path, shape)
    if key in ("tickets", "ticket") and not is_ndjson(path):
        _add_sideloads(path, lookups)
    for n, item, error, chars in _items(path, key, limits.max_record_chars):
        if error is not None:
            yield n, item, None, error, chars, None
            continue
        try:
            raw, raw_chars, large = _as_received(item)
        except (TypeError, RecursionError):  # orjson stops at 255 levels: quarantine, go on
            yield n, _stub(item), None, TOO_DEEP, None, None
            continue
        chars = raw_chars if raw_chars is not None else len(raw)
        if chars > limits.max_record_chars:  # from a document parsed whole
            yield n, raw, None, record_too_large(chars, limits.max_record_chars), raw_chars, None
            continue
        if not isinstance(item, dict):
            yield n, raw, None, "expected an object", raw_chars, None
            continue
        try:
            flat = _flatten(item, shape, lookups, stats, columns, custom_fields)
        except (TypeError, ValueError, AttributeError, KeyError) as exc:  # a shape no rule
            # foresaw: this record is quarantined with the reason, the file goes on
            yield n, raw, None, f"{UNREADABLE}: {type(exc).__name__}", raw_chars, None
            continue
        if large:
            staged = bound_record(flat, _FLAT_COLUMNS, limits, stats.cut_values)
            yield n, raw, staged.doc, staged.error, raw_chars, staged.events
            continue
        try:
            doc = orjson.dumps(flat).decode()
        except (TypeError, RecursionError):
            yield n, raw[:2000], None, TOO_DEEP, None, None
            continue
        yield n, raw, doc, None, raw_chars, None


def _as_received(item: Any) -> tuple[str, int | None, bool]:
    """(raw JSON or its first ``bounds.KEEP_CHARS`` characters, full length when cut, whether
    the record is large). A record with a huge text value is measured, not written whole (a
    second copy of a 50 MB description). Raises ``TypeError`` where orjson cannot write it."""
    if isinstance(item, dict) and has_long_text(item):
        chars = json_length(item)
        return json_head(item), (chars if chars > KEEP_CHARS else None), True
    data = orjson.dumps(item)
    raw, raw_chars = kept_head(data)
    return raw, raw_chars, is_large(len(data))


def _add_sideloads(path: Path, lookups: Lookups) -> None:
    """A tickets page's sideloaded ``users`` and ``ticket_fields`` into ``lookups`` (a page
    too large or deep to parse at once is streamed, once per key it holds)."""
    doc = load_small(path) if path.stat().st_size <= IN_MEMORY_BYTES else TOO_DEEP_FOR_ORJSON
    adders = (("users", lookups.add_users), ("ticket_fields", lookups.add_ticket_fields))
    for name, add in adders:
        if doc is not TOO_DEEP_FOR_ORJSON:
            if isinstance(doc, dict) and isinstance(doc.get(name), list):
                add(doc[name])
        elif name in streamed_keys(path):
            with open(path, "rb") as handle:
                add(item for item in document_items(handle, name) if isinstance(item, dict))


TOO_DEEP = "unexpected structure: nested too deeply"
UNREADABLE = "unexpected structure: not a ticket the reader can flatten"


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
