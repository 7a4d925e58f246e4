"""Read Zendesk export files of any shape into ``RawRecord``s (see ``zendesk`` for the shapes).

A file is recognised from its content: its first line (one JSON object per line: the account
export) or its top-level key (``tickets``, ``ticket``, ``audits``, ``ticket_events``, ``users``,
``ticket_fields``). Documents up to ``IN_MEMORY_BYTES`` are parsed at once with orjson (fast);
larger ones, and any that orjson refuses for their depth (over 1,024 levels), are streamed with
``deep_json`` (ijson events, depth-capped), so memory stays bounded by one ticket. A record
nested deeper than ``deep_json.MAX_DEPTH`` is quarantined ("unexpected structure: nested too
deeply"), the others load. A record over ``bounds.LARGE_RECORD_BYTES`` is shrunk by
``bounds.bound_record`` before it is staged.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from enum import StrEnum
from functools import lru_cache
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
    first_value_keys,
    is_depth_error,
    json_length,
    loads_capped,
    measured_items,
    top_level_keys,
)
from supportflow.ingest.zendesk import (
    FlattenStats,
    Lookups,
    audit_events,
    comment_event,
    flatten_ticket,
    ticket_event_records,
)

# Documents up to this size are parsed at once (orjson); larger ones are streamed, which is as
# fast and holds one item at a time.
IN_MEMORY_BYTES = 8 << 20
SNIFF_BYTES = 1 << 20
# Top-level arrays we read, in the order we look for them.
ARRAYS = ("tickets", "ticket", "audits", "ticket_events", "comments", "users", "ticket_fields")


class Shape(StrEnum):
    tickets = "tickets"  # a page or export of tickets (document or one per line)
    events = "events"  # audits or ticket events of tickets loaded elsewhere
    users = "users"
    ticket_fields = "ticket_fields"
    unknown = "unknown"


def _first_lines(path: Path) -> tuple[list[bytes], bool]:
    """The whole lines within ``SNIFF_BYTES`` (at least the first, cut there when longer) and
    whether the first is whole."""
    with open(path, "rb") as handle:
        head = handle.read(SNIFF_BYTES)
        complete = len(head) < SNIFF_BYTES
    head = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    lines = head.split(b"\n")
    first_whole = complete or len(lines) > 1
    if not complete and len(lines) > 1:
        lines.pop()  # cut at SNIFF_BYTES
    return [line.strip() for line in lines], first_whole


# A first line that opens a JSON document (``{"tickets": [``, ``{"next_page": null, "tickets":
# [``), as opposed to a damaged record: an array key first, or a key only documents have.
_DOCUMENT_START = re.compile(
    rb'\{\s*"(?:' + b"|".join(k.encode() for k in ARRAYS) + rb')"\s*:'
    rb'|"(?:tickets|ticket|ticket_events|users|ticket_fields)"\s*:\s*[\[{]'
)


def is_ndjson(path: Path) -> bool:
    """True when the first line is a whole JSON object with an ``id`` (one record per line);
    a whole document written on one line is not."""
    doc = first_object(path)
    return doc is not None and "id" in doc


def first_object(path: Path) -> dict | None:
    """The first line's object when the first line is a whole JSON object (None otherwise).
    A first line that is a damaged record (``{"…`` that does not parse and does not open a
    document) gives the next whole record line's instead, so one bad first record does not make
    a whole export unreadable.

    A first line longer than ``SNIFF_BYTES`` (a huge first record) or deeper than orjson reads
    is scanned instead: the object's keys, with ``[]``/``{}`` for array/object values and None
    for the others (what the shape rules look at), without building it."""
    lines, whole = _first_lines(path)
    line = lines[0]
    if not line.startswith(b"{"):
        return None
    if whole:
        try:
            doc = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            if not is_depth_error(exc):
                damaged_record = line.startswith(b'{"') and not _DOCUMENT_START.search(line)
                return _next_record(path) if damaged_record else None
        else:
            return doc if isinstance(doc, dict) else None
    stat = path.stat()
    return _scan_first_object(str(path.resolve()), stat.st_size, stat.st_mtime_ns)


def _next_record(path: Path, lines: int = 4) -> dict | None:
    """After a first line that is a damaged record (bad bytes, cut JSON), the first whole record
    with an ``id`` among the next ``lines`` lines (its keys, streamed as in ``first_object``),
    passing over further damaged record lines only: the file is one record per line, and a few
    bad first records do not make it unreadable. Any other line (``"tickets": [``, ``]}``) ends
    the search: the file is a document."""
    stat = path.stat()
    for n in range(1, lines + 1):
        doc = _scan_line(str(path.resolve()), stat.st_size, stat.st_mtime_ns, n)
        if doc is None:
            return None
        if "id" in doc:
            return doc
    return None


_DAMAGED: dict = {}  # _scan_line: a line that looks like a record (``{"…``) but does not read


@lru_cache(maxsize=32)
def _scan_line(path: str, _size: int, _mtime_ns: int, n: int) -> dict | None:
    """Line ``n`` (0 is the first) as a record: ``first_value_keys`` when the line is one JSON
    object on its own (it starts with ``{"`` and ends with ``}``: not an element of a document's
    array, not the start of an object spread over lines), ``_DAMAGED`` when it starts like one
    but does not read, None for any other line; read in chunks, never whole."""
    with open(path, "rb") as handle:
        start, breaks, offset = None, 0, 0
        head, last = b"", b""
        while chunk := handle.read(SNIFF_BYTES):
            at = 0
            while start is None:
                if breaks == n:
                    start = offset + at
                    break
                cut = chunk.find(b"\n", at)
                if cut < 0:
                    break
                breaks, at = breaks + 1, cut + 1
            if start is not None:
                line = chunk[max(start - offset, 0) :]
                end = line.find(b"\n")
                part = line if end < 0 else line[:end]
                head = (head + part.lstrip())[:2] if len(head) < 2 else head
                last = part.rstrip()[-1:] or last
                if end >= 0:
                    break
            offset += len(chunk)
        if start is None or head != b'{"' or last == b",":  # a document's array item
            return None
        if last != b"}":
            return _DAMAGED
        handle.seek(start)
        try:
            doc = first_value_keys(handle)
        except JSON_ERRORS:
            return _DAMAGED
        return doc if doc is not None else _DAMAGED


@lru_cache(maxsize=32)
def _scan_first_object(path: str, _size: int, _mtime_ns: int) -> dict | None:
    with open(path, "rb") as handle:
        try:
            return first_value_keys(handle)
        except JSON_ERRORS:  # not a JSON object
            return None


def is_document(doc: dict) -> bool:
    """A whole Zendesk document on one line: no ``id``, one of ``ARRAYS`` holding a list."""
    return "id" not in doc and any(isinstance(doc.get(k), list | dict) for k in ARRAYS)


def looks_like_zendesk_ticket(doc: dict) -> bool:
    """A Zendesk ticket object (not a canonical supportflow record): Zendesk's own keys, none
    of the canonical record's."""
    zendesk_keys = {"requester_id", "description", "via", "satisfaction_rating", "custom_fields"}
    return bool(zendesk_keys & doc.keys()) and "events" not in doc and "body" not in doc


def _load_small(path: Path) -> Any:
    """A document of at most ``IN_MEMORY_BYTES`` parsed at once; ``_TOO_DEEP_FOR_ORJSON`` when
    orjson refuses its depth (the caller streams it instead). Raises ``orjson.JSONDecodeError``
    for malformed JSON (the caller names the file)."""
    try:
        return orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        if is_depth_error(exc):
            return _TOO_DEEP_FOR_ORJSON
        raise


_TOO_DEEP_FOR_ORJSON = object()


def top_level_key(path: Path) -> str | None:
    """The top-level array key of a JSON document: ``tickets`` first, then the others in
    ``ARRAYS`` order (small files are parsed whole; large or very deep ones scanned once for
    their top-level keys, values skipped without building them)."""
    if path.stat().st_size <= IN_MEMORY_BYTES:
        doc = _load_small(path)
        if doc is not _TOO_DEEP_FOR_ORJSON:
            return next((k for k in ARRAYS if isinstance(doc, dict) and k in doc), None)
    keys = _streamed_keys(path)
    return next((k for k in ARRAYS if k in keys), None)


def _streamed_keys(path: Path) -> frozenset[str]:
    """The top-level keys of a document too large or deep to parse at once (one scan per
    version of the file: the readers ask several times)."""
    stat = path.stat()
    return _scan_keys(str(path.resolve()), stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=32)
def _scan_keys(path: str, _size: int, _mtime_ns: int) -> frozenset[str]:
    with open(path, "rb") as handle:
        try:
            return frozenset(top_level_keys(handle))
        except JSON_ERRORS:  # the reader names the file when it reads it
            return frozenset()


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
        doc = _load_small(path)
        if doc is not _TOO_DEEP_FOR_ORJSON:
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
    doc = _load_small(path) if path.stat().st_size <= IN_MEMORY_BYTES else _TOO_DEEP_FOR_ORJSON
    adders = (("users", lookups.add_users), ("ticket_fields", lookups.add_ticket_fields))
    for name, add in adders:
        if doc is not _TOO_DEEP_FOR_ORJSON:
            if isinstance(doc, dict) and isinstance(doc.get(name), list):
                add(doc[name])
        elif name in _streamed_keys(path):
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
