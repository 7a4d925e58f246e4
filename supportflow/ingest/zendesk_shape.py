"""What a Zendesk export file holds, from its content (``Shape``), read without loading it.

A file is recognised from its first line (one JSON object per line: the account export; a
damaged first record gives way to the next whole one) or its top-level key (``tickets``,
``ticket``, ``audits``, ``ticket_events``, ``comments``, ``users``, ``ticket_fields``). Small
documents are parsed at once with orjson; large or very deep ones are scanned for keys only
(``deep_json``), once per version of the file.
"""

from __future__ import annotations

import re
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson

from supportflow.ingest.deep_json import (
    JSON_ERRORS,
    first_value_keys,
    is_depth_error,
    top_level_keys,
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


def load_small(path: Path) -> Any:
    """A document of at most ``IN_MEMORY_BYTES`` parsed at once; ``TOO_DEEP_FOR_ORJSON`` when
    orjson refuses its depth (the caller streams it instead). Raises ``orjson.JSONDecodeError``
    for malformed JSON (the caller names the file)."""
    try:
        return orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        if is_depth_error(exc):
            return TOO_DEEP_FOR_ORJSON
        raise


TOO_DEEP_FOR_ORJSON = object()


def top_level_key(path: Path) -> str | None:
    """The top-level array key of a JSON document: ``tickets`` first, then the others in
    ``ARRAYS`` order (small files are parsed whole; large or very deep ones scanned once for
    their top-level keys, values skipped without building them)."""
    if path.stat().st_size <= IN_MEMORY_BYTES:
        doc = load_small(path)
        if doc is not TOO_DEEP_FOR_ORJSON:
            return next((k for k in ARRAYS if isinstance(doc, dict) and k in doc), None)
    keys = streamed_keys(path)
    return next((k for k in ARRAYS if k in keys), None)


def streamed_keys(path: Path) -> frozenset[str]:
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
