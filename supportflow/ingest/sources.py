"""Readers for ticket exports, streaming the file in batches of records (``RawBatch``).

A reader never drops a record: a line it cannot parse comes back with ``error`` set and the
text as received, so the loader can quarantine it. A file it cannot read at all raises
``SourceError`` naming the path and the reason.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import ijson
import orjson

from supportflow.ingest.mapping import Mapping

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


class Format(StrEnum):
    csv = "csv"
    jsonl = "jsonl"
    zendesk = "zendesk"


SUFFIX_FORMATS = {
    ".csv": Format.csv,
    ".jsonl": Format.jsonl,
    ".ndjson": Format.jsonl,
    ".json": Format.zendesk,
}


class SourceError(RuntimeError):
    """The file as a whole cannot be read; nothing from it is loaded."""

    def __init__(self, path: Path, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


@dataclass(slots=True)
class RawRecord:
    """One record as received (``raw``), as JSON for validation (``doc``; None: raw is JSON),
    or with the ``error`` that kept it from being read."""

    record_no: int
    raw: str
    doc: str | None = None
    error: str | None = None


def detect_format(path: Path) -> Format:
    """Guess the format from the file suffix; unknown suffixes need ``--format``."""
    try:
        return SUFFIX_FORMATS[path.suffix.lower()]
    except KeyError:
        raise SourceError(
            path,
            f"cannot tell the format from suffix {path.suffix!r}; pass --format csv|jsonl|zendesk",
        ) from None


@dataclass(slots=True)
class RawBatch:
    """Consecutive records as columns (what the loader hands to DuckDB in one go)."""

    record_no: list[int]
    raw: list[str]
    doc: list[str | None]
    error: list[str | None]

    @classmethod
    def of(cls, records: list[RawRecord]) -> RawBatch:
        return cls(
            [r.record_no for r in records],
            [r.raw for r in records],
            [r.doc for r in records],
            [r.error for r in records],
        )

    def records(self) -> list[RawRecord]:
        return [
            RawRecord(*row)
            for row in zip(self.record_no, self.raw, self.doc, self.error, strict=True)
        ]


BLOCK_BYTES = 8 << 20


def read_jsonl_batches(path: Path) -> Iterator[RawBatch]:
    """JSONL in 8 MB blocks: one decode and one split per block (per-line Python work was a
    third of ingest time). Blank lines are not records; JSON itself is checked in SQL."""
    line_no = 0
    with open(path, "rb") as handle:
        tail = b""
        while True:
            block = handle.read(BLOCK_BYTES)
            if not block:
                break
            block = tail + block
            cut = block.rfind(b"\n") + 1
            if cut == 0:  # a single line longer than the block: keep reading
                tail = block
                continue
            tail = block[cut:]
            batch, line_no = _jsonl_block(block[:cut], line_no)
            yield batch
        if tail:
            batch, line_no = _jsonl_block(tail + b"\n", line_no)
            yield batch


def _jsonl_block(block: bytes, line_no: int) -> tuple[RawBatch, int]:
    lines = block.split(b"\n")[:-1]
    try:
        texts = block.decode().split("\n")[:-1]
    except UnicodeDecodeError:
        texts = None
    numbers, raws, errors = [], [], []
    for i, line in enumerate(lines, start=line_no + 1):
        if not line.strip():
            continue
        numbers.append(i)
        if texts is not None:
            raws.append(texts[i - line_no - 1].rstrip("\r"))
            errors.append(None)
            continue
        try:
            raws.append(line.decode().rstrip("\r"))
            errors.append(None)
        except UnicodeDecodeError as exc:
            raws.append(line.decode(errors="backslashreplace").rstrip("\r"))
            errors.append(f"not valid UTF-8 (byte {exc.start} of the line)")
    return RawBatch(numbers, raws, [None] * len(numbers), errors), line_no + len(lines)


def read_csv(path: Path, mapping: Mapping) -> Iterator[RawRecord]:
    """CSV with a header row; ``mapping.columns`` names the columns for canonical fields."""
    with open(path, encoding="utf-8", errors="surrogateescape", newline="") as handle:
        reader = csv.reader(handle)
        try:
            header = next(reader, None)
        except csv.Error as exc:
            raise SourceError(path, f"unreadable CSV header: {exc}") from exc
        if header is None:
            return
        header = [h.strip().lstrip("\ufeff") for h in header]
        needed = {mapping.column_for("body"), mapping.column_for("subject")}
        if not needed & set(header):
            raise SourceError(
                path,
                f"no text column: expected one of {sorted(needed)} in the header {header[:20]}; "
                "map yours with --mapping",
            )
        record_no = 0
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise SourceError(path, f"line {reader.line_num}: {exc}") from exc
            record_no += 1
            yield _csv_record(record_no, row, header, mapping)


def _csv_record(record_no: int, row: list[str], header: list[str], mapping: Mapping) -> RawRecord:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(row)
    raw = buffer.getvalue()
    try:
        raw.encode()
    except UnicodeEncodeError:
        return RawRecord(
            record_no,
            raw.encode(errors="surrogateescape").decode(errors="backslashreplace"),
            error="not valid UTF-8",
        )
    if len(row) != len(header):
        return RawRecord(record_no, raw, error=f"expected {len(header)} fields, got {len(row)}")
    return RawRecord(record_no, raw, orjson.dumps(dict(zip(header, row, strict=True))).decode())


# Zendesk-style export: {"tickets": [ {id, subject, description, via: {channel}, custom_fields,
# comments: [...], audits: [{events: [...]}]} ]}. Audit event types map onto event kinds.
AUDIT_KINDS = {
    "status": "status",
    "assignee_id": "assign",
    "escalation": "escalate",
    "reopen": "reopen",
    "satisfaction": "csat",
    "self_service": "self_service",
}
CLOSED = {"solved", "closed"}


def _audit_event(event: dict[str, Any]) -> dict[str, Any]:
    """Kind and detail of one audit event; a status change out of solved/closed is a reopen."""
    field = event.get("field_name") or event.get("type")
    detail = {k: v for k, v in event.items() if k not in {"type", "field_name"}}
    kind = AUDIT_KINDS.get(field, field)
    if field == "assignee_id":
        detail = {"assignee_id": event.get("value")}
    elif (
        field == "status"
        and event.get("previous_value") in CLOSED
        and event.get("value") not in CLOSED
    ):
        kind = "reopen"
    return {"kind": kind, "detail": detail}


def read_zendesk(path: Path, mapping: Mapping) -> Iterator[RawRecord]:
    """Stream ``tickets[*]`` from a Zendesk-style JSON export (bounded memory via ijson)."""
    with open(path, "rb") as handle:
        items = ijson.items(handle, "tickets.item", use_float=True)
        record_no = 0
        while True:
            try:
                ticket = next(items)
            except StopIteration:
                break
            except (ijson.JSONError, UnicodeDecodeError) as exc:
                raise SourceError(path, f"invalid JSON after ticket {record_no}: {exc}") from exc
            record_no += 1
            raw = orjson.dumps(ticket).decode()
            if not isinstance(ticket, dict):
                yield RawRecord(record_no, raw, error="expected a ticket object")
                continue
            try:
                doc = orjson.dumps(zendesk_fields(ticket)).decode()
            except (TypeError, AttributeError, KeyError) as exc:
                yield RawRecord(record_no, raw, error=f"unexpected ticket structure: {exc}")
            else:
                yield RawRecord(record_no, raw, doc)
        if record_no == 0 and path.stat().st_size > 2 and not _has_empty_tickets(path):
            raise SourceError(path, 'no "tickets" array found; is this a Zendesk-style export?')


def _has_empty_tickets(path: Path) -> bool:
    with open(path, "rb") as handle:
        try:
            return any(
                prefix == "tickets" and event == "start_array"
                for prefix, event, _ in ijson.parse(handle)
            )
        except ijson.JSONError:
            return False


def zendesk_fields(ticket: dict[str, Any]) -> dict[str, Any]:
    """Flatten one Zendesk-style ticket (custom fields, comments, audits) to canonical names."""
    custom = {str(f.get("id")): f.get("value") for f in ticket.get("custom_fields") or []}
    rating = ticket.get("satisfaction_rating") or {}
    flat = {
        "id": ticket.get("id"),
        "created_at": ticket.get("created_at"),
        "updated_at": ticket.get("updated_at"),
        "channel": (ticket.get("via") or {}).get("channel"),
        "customer_id": ticket.get("requester_id"),
        "language": ticket.get("locale"),
        "subject": ticket.get("subject"),
        "body": ticket.get("description"),
        "status": ticket.get("status"),
        "priority": ticket.get("priority"),
        "tags": ticket.get("tags"),
        "assignee_id": ticket.get("assignee_id"),
        "csat": rating.get("score") if isinstance(rating, dict) else rating,
        **{k: custom.get(k) for k in ("category", "queue", "sentiment", "customer_tier")},
    }
    events = [
        {
            "id": f"c{c.get('id')}",
            "created_at": c.get("created_at"),
            "kind": "comment",
            "author_role": c.get("author_role"),
            "public": c.get("public"),
            "body": c.get("body"),
        }
        for c in ticket.get("comments") or []
    ]
    for audit in ticket.get("audits") or []:
        for i, event in enumerate(audit.get("events") or []):
            events.append(
                {
                    "id": f"a{audit.get('id')}.{i}",
                    "created_at": audit.get("created_at"),
                    "author_role": audit.get("author_role"),
                    "public": False,
                    **_audit_event(event),
                }
            )
    flat["events"] = events
    return flat


READERS = {Format.csv: read_csv, Format.zendesk: read_zendesk}


def check_readable(path: Path) -> None:
    """Raise ``SourceError`` with the reason when ``path`` cannot be read as a file."""
    if not path.exists():
        raise SourceError(path, "no such file")
    if not path.is_file():
        raise SourceError(path, "not a regular file")
    try:
        with open(path, "rb") as handle:
            handle.read(1)
    except OSError as exc:
        raise SourceError(path, exc.strerror or str(exc)) from exc


def read_batches(path: Path, fmt: Format, mapping: Mapping, size: int) -> Iterator[RawBatch]:
    """Batches of records; a missing or unreadable file raises ``SourceError``."""
    check_readable(path)
    try:
        if fmt == Format.jsonl:
            yield from read_jsonl_batches(path)
            return
        batch: list[RawRecord] = []
        for record in READERS[fmt](path, mapping):
            batch.append(record)
            if len(batch) >= size:
                yield RawBatch.of(batch)
                batch = []
        if batch:
            yield RawBatch.of(batch)
    except PermissionError as exc:
        raise SourceError(path, f"permission denied: {exc}") from exc
