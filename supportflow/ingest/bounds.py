"""Bounded work on any input: how a reader shrinks a very large record before it is staged.

A record's text is copied several times on its way to the warehouse (reader, Arrow, DuckDB's
JSON functions, redaction): one 50 MB record used to take over 1 GB of memory, and DuckDB ran out
of its own on some. Records up to ``LARGE_RECORD_BYTES`` (1 MiB) are staged as they are; every
value in them is small, and validation (``validate``) applies its limits in SQL. A longer record
(``is_large``) is shrunk by its reader with ``bound_record`` first, by these rules; each one is
counted or stated, never silent (batch notes ``cut_to_limit`` {what: records}; the source file
itself is the user's and keeps everything):

1. The record as received is staged whole up to ``KEEP_CHARS`` (1 MiB); a longer one keeps its
   first ``KEEP_CHARS`` characters and its full length (``RawRecord.raw_chars``). Should it be
   quarantined, its reason says how much the quarantine row keeps
   (``staging.quarantine_reason_sql``).
2. A subject or body over ``max_body_chars`` quarantines the record with validation's reason
   (``body: 52,428,800 characters is over the limit of 200,000``), counted from the real length.
3. Any other value over ``LARGE_VALUE_CHARS`` (1 MiB of text, or of JSON for an object or array,
   or nested deeper than ``deep_json.MAX_DEPTH``) is left out: an optional field becomes NULL, an
   event's body or detail NULL, a tag is dropped, an event with such an id, time, kind, role or
   author is left out (``cut_to_limit`` ``<field>``, ``events.body``, ``events.detail``,
   ``tags.value``, ``events``). A record up to 1 MiB cannot hold such a value, so these rules
   apply to every record alike. ``id``, ``created_at`` and ``updated_at`` are cut short
   instead, so that validation rejects or coerces them with its usual reason; an object or array
   where text belongs becomes an empty one of its kind, which validation sets to NULL and counts
   as before.
4. At most ``MAX_TAGS`` + 1 tags are staged: validation keeps ``MAX_TAGS`` for every record and
   counts the cut (``validate.tags_sql``).
5. Keys that no canonical field reads are not staged; the reader counts them (``unused_fields``).
6. Events whose JSON is over ``PIECE_CHARS`` are staged apart, in pieces (``event_pieces``),
   so that validation never holds them as one value.
7. What is left to load (subject, body, tags, events…) over ``max_record_chars`` quarantines
   the record: ``record: N characters to load is over the limit of M``; so does a record over
   ``max_record_chars`` as received (``record_too_large``), which its reader measures without
   building it whole.

The memory a record takes is then bounded by ``max_record_chars`` (and ``max_body_chars``), not
by its size in the file. Errors: none raised; a record that cannot be read comes back with its
reason.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from itertools import islice
from typing import Any, NamedTuple

import orjson

from supportflow.ingest.deep_json import TOO_DEEP
from supportflow.ingest.landing_schema import CANONICAL_FIELDS

LARGE_RECORD_BYTES = 1 << 20  # records longer than this (UTF-8 bytes) are shrunk here
KEEP_CHARS = 1 << 20  # what the staged record as received keeps of a longer one
LARGE_VALUE_CHARS = 1 << 20  # a single value longer than this is left out (rule 3)
MAX_TAGS = 1_000  # tags kept per ticket (``validate.tags_sql``)
PIECE_CHARS = 1 << 20  # a large record's events are staged in JSON arrays of about this size
MAX_ID_CHARS = 200  # ``validate`` rejects longer ids
TIME_CHARS = 1_000  # what a staged over-long created_at/updated_at keeps
# Record-level keys beside the canonical fields (Zendesk reader: deleted tickets, event files).
EXTRA_KEYS = ("events", "deleted", "events_only")
EVENT_KEYS = ("id", "created_at", "kind", "author_role", "author_id", "public", "body", "detail")
_EVENT_SCALARS = ("id", "created_at", "kind", "author_role", "author_id", "public")
_CONTINUATION = bytes(range(0x80, 0xC0))


@dataclass(frozen=True, slots=True)
class Limits:
    """The per-record limits the readers apply (``Settings.max_body_chars`` and
    ``Settings.max_record_chars``; the defaults are theirs), in characters."""

    max_body_chars: int = 200_000
    max_record_chars: int = 8 << 20


def record_too_large(chars: int, limit: int) -> str:
    """The quarantine reason of a record over ``max_record_chars`` as received."""
    return f"record: {chars:,} characters is over the limit of {limit:,}"


def is_large(size: int) -> bool:
    """True when a record of ``size`` bytes (or characters) takes the bounded path."""
    return size > LARGE_RECORD_BYTES


def utf8_chars(data: bytes) -> int:
    """The characters UTF-8 ``data`` holds, counted without decoding it (the bytes that start
    a character, 1 MiB at a time); an invalid byte counts as one."""
    step = 1 << 20
    return sum(
        len(data[i : i + step].translate(None, _CONTINUATION)) for i in range(0, len(data), step)
    )


def kept_head(raw: bytes | str, keep: int = KEEP_CHARS) -> tuple[str, int | None]:
    """(text, None) for a record of at most ``keep`` characters; else (its first ``keep``
    characters, its full length in characters). Bytes that are not UTF-8 are kept as ``\\xNN``."""
    if isinstance(raw, str):
        return (raw, None) if len(raw) <= keep else (raw[:keep], len(raw))
    if len(raw) <= keep:
        return raw.decode(errors="backslashreplace"), None
    total = utf8_chars(raw)
    text = raw[: 4 * keep].decode(errors="backslashreplace")  # ≥ keep characters
    if total <= keep and len(text) <= keep:
        return text, None
    return text[:keep], max(total, len(text))


def json_head(value: Any, keep: int = KEEP_CHARS) -> str:
    """The first ``keep`` characters of ``value`` as orjson writes it, from a copy of it with
    every string, array and object cut to ``keep`` (each kept part writes at least one
    character, so the first ``keep`` characters are the same)."""
    return orjson.dumps(_cut_copy(value, keep)).decode()[:keep]


def _cut_copy(value: Any, keep: int) -> Any:
    if isinstance(value, str):
        return value[:keep]
    if isinstance(value, list):
        return [_cut_copy(v, keep) for v in value[:keep]]
    if isinstance(value, dict):
        return {k: _cut_copy(v, keep) for k, v in islice(value.items(), keep)}
    return value


def has_long_text(record: dict, limit: int = LARGE_VALUE_CHARS) -> bool:
    """True when one of ``record``'s own values is text over ``limit`` (a cheap look, made
    before writing a record whole: a huge description is measured with ``json_length``)."""
    return any(isinstance(v, str) and len(v) > limit for v in record.values())


def json_chars(value: Any) -> int:
    """Length of ``value`` as JSON; one past any limit when it cannot be written (nested past
    255 levels, a ``TOO_DEEP`` marker, an integer beyond 64 bits)."""
    try:
        return len(orjson.dumps(value))
    except (TypeError, RecursionError):
        return LARGE_VALUE_CHARS + 1


def over_limit(value: Any, limit: int = LARGE_VALUE_CHARS) -> bool:
    """True when a single value is too large to stage (rule 3)."""
    if isinstance(value, str):
        return len(value) > limit
    if value is TOO_DEEP:
        return True
    if isinstance(value, dict | list):
        return json_chars(value) > limit
    return False


def non_empty(value: Any) -> bool:
    """Whether an unused key's value counts as data (the SQL rule of ``load._unused_keys``)."""
    if value is None:
        return False
    return not isinstance(value, str) or value.strip(" ") != ""


class Staged(NamedTuple):
    """What a reader stages of one large record: its JSON (``doc``) and its events in pieces
    (``events``: JSON arrays of about ``PIECE_CHARS``, None when they stay in ``doc``), or
    the ``error`` that keeps it from loading."""

    doc: str | None
    error: str | None = None
    events: list[str] | None = None


def event_pieces(events: list) -> list[str]:
    """``events`` as consecutive JSON arrays of about ``PIECE_CHARS`` characters each (at least
    one event each), so that validation never parses one value holding them all: SQL took ~18
    times a record's size in memory to explode a 15 MB events array at once."""
    pieces: list[str] = []
    part: list[bytes] = []
    size = 0
    for event in events:
        text = orjson.dumps(event)
        if part and size + len(text) > PIECE_CHARS:
            pieces.append(b"[" + b",".join(part) + b"]")
            part, size = [], 0
        part.append(text)
        size += len(text) + 1
    if part:
        pieces.append(b"[" + b",".join(part) + b"]")
    return [p.decode() for p in pieces]


def bound_record(
    record: dict,
    columns: Mapping[str, str],
    limits: Limits,
    cut: Counter,
    unused: Callable[[str], None] | None = None,
) -> Staged:
    """The staged form of one large record, or the reason it cannot load (rules in the module
    doc). ``columns`` maps each canonical field to its key in ``record``; ``cut`` counts what was
    left out ({what: records}); ``unused`` is called with each non-empty key no field reads."""
    keys: dict[str, list[str]] = {}
    for field in (*CANONICAL_FIELDS, *EXTRA_KEYS):
        keys.setdefault(columns.get(field, field), []).append(field)
    if unused is not None:
        for key, value in record.items():
            if key not in keys and non_empty(value):
                unused(key)
    for field in ("subject", "body"):  # validation's order
        value = record.get(columns.get(field, field))
        if isinstance(value, str) and len(value) > limits.max_body_chars:
            return Staged(
                None,
                f"{field}: {len(value):,} characters is over the limit of "
                f"{limits.max_body_chars:,}",
            )
    staged: dict[str, Any] = {}
    cut_here: set[str] = set()
    for key, fields in keys.items():
        if key not in record:
            continue
        value = _bound_value(record[key], fields, cut_here)
        if value is not _LEFT_OUT:
            staged[key] = value
    for what in cut_here:
        cut[what] += 1
    pieces = None
    events = staged.get("events")
    if isinstance(events, list) and json_chars(events) > PIECE_CHARS:
        pieces = event_pieces(staged.pop("events"))
    doc = orjson.dumps(staged)
    chars = len(doc) + sum(map(len, pieces or ()))  # UTF-8 bytes: at least the characters
    if chars > limits.max_record_chars:
        chars = utf8_chars(doc) + sum(utf8_chars(p.encode()) for p in pieces or ())
        if chars > limits.max_record_chars:
            return Staged(
                None,
                f"record: {chars:,} characters to load is over the limit of "
                f"{limits.max_record_chars:,}",
            )
    return Staged(doc.decode(), None, pieces)


_LEFT_OUT = object()


def _bound_value(value: Any, fields: list[str], cut: set[str]) -> Any:
    """The staged form of one record value read as ``fields`` (rules 3 and 4)."""
    if "events" in fields:
        if isinstance(value, list):
            return _bound_events(value, cut)
        return _empty_like(value) if over_limit(value) else value
    if "tags" in fields and isinstance(value, list):
        return _bound_tags(value, cut)
    if not over_limit(value):
        return value
    if isinstance(value, str) and ("subject" in fields or "body" in fields):
        return value  # within max_body_chars (checked first): loaded whole
    if isinstance(value, dict | list) or value is TOO_DEEP:
        # where text belongs: validation sets it to NULL and counts it by its type
        return _empty_like(value)
    if "id" in fields:
        stripped = value.strip(" ")
        return stripped if len(stripped) <= MAX_ID_CHARS else stripped[: MAX_ID_CHARS + 1]
    if "created_at" in fields or "updated_at" in fields:
        return value[:TIME_CHARS]
    cut.update(fields)
    return _LEFT_OUT


def _empty_like(value: Any) -> Any:
    return [] if isinstance(value, list) else {}


def _bound_tags(tags: list, cut: set[str]) -> list:
    kept = []
    for tag in tags:
        if over_limit(tag):
            cut.add("tags.value")
            continue
        kept.append(tag)
        if len(kept) > MAX_TAGS:  # validation keeps MAX_TAGS and counts the cut
            break
    return kept


def _bound_events(events: list, cut: set[str]) -> list:
    kept: list[Any] = []
    for event in events:
        if not isinstance(event, dict):  # validation skips it ("not an object") either way
            kept.append(None if over_limit(event) else event)
            continue
        if any(over_limit(event.get(k)) for k in _EVENT_SCALARS):
            cut.add("events")
            continue
        staged = {k: event[k] for k in EVENT_KEYS if k in event}
        for k in ("body", "detail"):
            if over_limit(staged.get(k)):
                staged[k] = None
                cut.add(f"events.{k}")
        kept.append(staged)
    return kept
