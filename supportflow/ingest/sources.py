"""Readers for ticket exports, streaming the file in batches of records (``RawBatch``).

A reader never drops a record: a line it cannot parse comes back with ``error`` set and the
text as received, so the loader can quarantine it. A file it cannot read at all raises
``SourceError`` naming the path and the reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import ijson
import orjson

from supportflow.ingest.csv_reader import canonical_header, read_csv
from supportflow.ingest.mapping import Mapping
from supportflow.ingest.raw import BATCH_BYTES, RawBatch, RawRecord, SourceError, batched
from supportflow.ingest.zendesk import FlattenStats, Lookups
from supportflow.ingest.zendesk_files import (
    Shape,
    first_object,
    is_document,
    looks_like_zendesk_ticket,
    shape_of,
    zendesk_records,
)

__all__ = [  # the readers' types live in ``raw``, the CSV reader in ``csv_reader``
    "BATCH_BYTES",
    "READERS",
    "Format",
    "RawBatch",
    "RawRecord",
    "Reader",
    "SourceError",
    "canonical_header",
    "check_readable",
    "detect_format",
    "read_batches",
    "read_csv",
    "read_jsonl_batches",
    "read_zendesk",
]


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


def detect_format(path: Path) -> Format:
    """The format from the content where the suffix is JSON-ish, else from the suffix.

    A ``.json``/``.jsonl``/``.ndjson`` file is Zendesk when it is a JSON document (a page or
    an export with a ``tickets``/``audits``/``ticket_events`` array) or when its first line is a
    Zendesk ticket object (the account export: ``tickets.json``, one ticket per line); a file
    of canonical records one per line is JSONL. Unknown suffixes need ``--format``.
    """
    suffix = path.suffix.lower()
    if suffix not in SUFFIX_FORMATS:
        raise SourceError(
            path,
            f"cannot tell the format from suffix {suffix!r}; pass --format csv|jsonl|zendesk",
        )
    if SUFFIX_FORMATS[suffix] == Format.csv:
        return Format.csv
    first = first_object(path)
    if first is None:  # a whole JSON document (or nothing readable): the Zendesk reader says
        return Format.zendesk if suffix == ".json" else Format.jsonl
    if is_document(first) or looks_like_zendesk_ticket(first) or shape_of(path) == Shape.events:
        return Format.zendesk
    return Format.jsonl


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


def read_zendesk(
    path: Path, mapping: Mapping, lookups: Lookups | None = None, stats: FlattenStats | None = None
) -> Iterator[RawRecord]:
    """Records of a Zendesk export of any shape (``zendesk_files``), flattened to canonical
    fields; ``lookups`` (users, ticket fields) resolve roles and custom fields."""
    lookups = lookups if lookups is not None else Lookups()
    stats = stats if stats is not None else FlattenStats()
    try:
        shape = shape_of(path)
        if shape in (Shape.users, Shape.ticket_fields):
            raise SourceError(
                path,
                f"a Zendesk {shape.value} file: give it together with the ticket files it "
                "describes (it is a lookup, never loaded on its own)",
            )
        if shape == Shape.unknown:
            raise SourceError(
                path,
                "not a Zendesk export: expected a JSON document with a tickets, audits or "
                "ticket_events array, or one ticket object per line",
            )
        for n, raw, doc, error in zendesk_records(
            path, lookups, stats, mapping.columns, mapping.custom_fields
        ):
            yield RawRecord(n, raw, doc, error)
    except (ijson.JSONError, orjson.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SourceError(path, f"invalid JSON: {_short(exc)}") from exc


def _short(exc: Exception) -> str:
    """An exception's first line, without the file's own text (which may hold personal data)."""
    return str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__


ReadFn = Callable[[Path, Mapping, int, Lookups, FlattenStats], Iterator[RawBatch]]


@dataclass(frozen=True, slots=True)
class Reader:
    """How one format is read: ``read(path, mapping, batch size, lookups, stats)`` yields
    batches; ``flattens``: its records already carry canonical field names (the reader applied
    the mapping's columns itself, and counts the source keys it left unused in ``stats``)."""

    read: ReadFn
    flattens: bool = False


def _csv_batches(path, mapping, size, _lookups, _stats) -> Iterator[RawBatch]:
    return batched(read_csv(path, mapping), size)


def _jsonl_batches(path, _mapping, _size, _lookups, _stats) -> Iterator[RawBatch]:
    return read_jsonl_batches(path)


def _zendesk_batches(path, mapping, size, lookups, stats) -> Iterator[RawBatch]:
    return batched(read_zendesk(path, mapping, lookups, stats), size)


# One entry per format (adding a format: a ``Format`` member, its suffixes, a reader here).
READERS: dict[Format, Reader] = {
    Format.csv: Reader(_csv_batches),
    Format.jsonl: Reader(_jsonl_batches),
    Format.zendesk: Reader(_zendesk_batches, flattens=True),
}


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


def read_batches(
    path: Path,
    fmt: Format,
    mapping: Mapping,
    size: int,
    lookups: Lookups | None = None,
    stats: FlattenStats | None = None,
) -> Iterator[RawBatch]:
    """Batches of records; a missing or unreadable file raises ``SourceError``.

    ``lookups`` and ``stats`` are for Zendesk files (users/ticket fields; what was inferred)."""
    check_readable(path)
    lookups = lookups if lookups is not None else Lookups()
    stats = stats if stats is not None else FlattenStats()
    try:
        yield from READERS[fmt].read(path, mapping, size, lookups, stats)
    except PermissionError as exc:
        raise SourceError(path, f"permission denied: {exc}") from exc
