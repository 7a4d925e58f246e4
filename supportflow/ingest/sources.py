"""Readers for ticket exports, streaming the file in batches of records (``RawBatch``).

A reader never drops a record: a line it cannot parse comes back with ``error`` set and the
text as received, so the loader can quarantine it. A file it cannot read at all raises
``SourceError`` naming the path and the reason. A record over ``bounds.LARGE_RECORD_BYTES``
(1 MiB) is shrunk by its reader under the loader's ``bounds.Limits`` before it is staged
(``bounds`` states the rules), so memory is bounded per record, not by the record's size.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import ijson
import orjson

from supportflow.ingest.bounds import Limits, bound_record, is_large, kept_head, record_too_large
from supportflow.ingest.csv_reader import canonical_header, read_csv
from supportflow.ingest.deep_json import JSON_ERRORS, is_depth_error, loads_capped
from supportflow.ingest.mapping import CANONICAL_FIELDS, Mapping
from supportflow.ingest.raw import BATCH_BYTES, RawBatch, RawRecord, SourceError, batched
from supportflow.ingest.zendesk import FlattenStats, Lookups
from supportflow.ingest.zendesk_files import zendesk_records
from supportflow.ingest.zendesk_shape import (
    Shape,
    first_object,
    is_document,
    looks_like_zendesk_ticket,
    shape_of,
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


def read_jsonl_batches(
    path: Path,
    mapping: Mapping | None = None,
    limits: Limits | None = None,
    stats: FlattenStats | None = None,
) -> Iterator[RawBatch]:
    """JSONL in 8 MB blocks: one decode and one split per block (per-line Python work was a
    third of ingest time). Blank lines are not records; JSON itself is checked in SQL, except
    on a line over ``bounds.LARGE_RECORD_BYTES``: it is parsed here and shrunk by
    ``bounds.bound_record`` under ``limits`` (``mapping`` names its fields; keys no field reads
    are counted in ``stats.unused_fields``, what was cut in ``stats.cut_values``). A line longer
    than a block is gathered in pieces and joined once."""
    bounded = _LineBounds(mapping or Mapping(), limits or Limits(), stats or FlattenStats())
    line_no = 0
    with open(path, "rb") as handle:
        pending: list[bytes] = []  # the start of a line that did not end in the blocks so far
        while block := handle.read(BLOCK_BYTES):
            cut = block.rfind(b"\n") + 1
            if cut == 0:  # a single line longer than the block: keep reading
                pending.append(block)
                continue
            head = b"".join([*pending, block[:cut]]) if pending else block[:cut]
            pending = [block[cut:]] if cut < len(block) else []
            del block
            batch, line_no = _jsonl_block(head, line_no, bounded)
            del head
            yield batch
        if pending:
            batch, line_no = _jsonl_block(b"".join([*pending, b"\n"]), line_no, bounded)
            yield batch


def _jsonl_block(block: bytes, line_no: int, bounded: _LineBounds) -> tuple[RawBatch, int]:
    lines = block.split(b"\n")[:-1]
    if any(is_large(len(line)) for line in lines):
        texts = None  # decoded line by line: a large line is never decoded whole
    else:
        try:
            texts = block.decode().split("\n")[:-1]
        except UnicodeDecodeError:
            texts = None
    del block
    numbers, raws, docs, errors, full = [], [], [], [], []
    pieces: list[list[str] | None] = []
    for i, line in enumerate(lines, start=line_no + 1):
        if not line or line.isspace():
            continue
        numbers.append(i)
        if is_large(len(line)):
            record = bounded.record(i, line)
            raws.append(record.raw)
            docs.append(record.doc)
            errors.append(record.error)
            full.append(record.raw_chars)
            pieces.append(record.events)
            lines[i - line_no - 1] = b""  # its text is not held while the block goes on
            continue
        docs.append(None)
        full.append(None)
        pieces.append(None)
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
    events = pieces if any(pieces) else None
    return RawBatch(numbers, raws, docs, errors, full, events), line_no + len(lines)


class _LineBounds:
    """How ``read_jsonl_batches`` reads one large JSONL line (``bounds`` rules)."""

    def __init__(self, mapping: Mapping, limits: Limits, stats: FlattenStats):
        self.columns = {f: mapping.column_for(f) for f in CANONICAL_FIELDS}
        self.limits = limits
        self.stats = stats

    def record(self, record_no: int, line: bytes) -> RawRecord:
        """The line as a record: its kept head and full length, the shrunk JSON or the reason
        it cannot load (validation's words: not valid UTF-8, malformed JSON, not an object)."""
        line = line.rstrip(b"\r")
        raw, raw_chars = kept_head(line)
        if raw_chars is not None and raw_chars > self.limits.max_record_chars:
            error = record_too_large(raw_chars, self.limits.max_record_chars)
            return RawRecord(record_no, raw, error=error, raw_chars=raw_chars)
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            if is_depth_error(exc):
                try:
                    value = loads_capped(line)
                except JSON_ERRORS:
                    return RawRecord(record_no, raw, error="malformed JSON", raw_chars=raw_chars)
            else:
                return RawRecord(record_no, raw, error=_json_error(line), raw_chars=raw_chars)
        del line
        if not isinstance(value, dict):
            kind = "array" if isinstance(value, list) else "scalar"
            error = f"expected a JSON object, got {kind}"
            return RawRecord(record_no, raw, error=error, raw_chars=raw_chars)
        staged = bound_record(
            value, self.columns, self.limits, self.stats.cut_values, self.stats.note_unused
        )
        return RawRecord(record_no, raw, staged.doc, staged.error, raw_chars, staged.events)


def _json_error(line: bytes) -> str:
    """Why a line orjson refused cannot load: its first byte that is not UTF-8, else bad JSON."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    for start in range(0, len(line), 1 << 20):
        try:
            decoder.decode(line[start : start + (1 << 20)])
        except UnicodeDecodeError as exc:
            return f"not valid UTF-8 (byte {start + exc.start} of the line)"
    return "malformed JSON"


def read_zendesk(
    path: Path,
    mapping: Mapping,
    lookups: Lookups | None = None,
    stats: FlattenStats | None = None,
    limits: Limits | None = None,
) -> Iterator[RawRecord]:
    """Records of a Zendesk export of any shape (``zendesk_files``), flattened to canonical
    fields; ``lookups`` (users, ticket fields) resolve roles and custom fields; a record over
    ``bounds.LARGE_RECORD_BYTES`` is shrunk under ``limits``."""
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
        for n, raw, doc, error, raw_chars, events in zendesk_records(
            path, lookups, stats, mapping.columns, mapping.custom_fields, limits
        ):
            yield RawRecord(n, raw, doc, error, raw_chars, events)
    except (ijson.JSONError, orjson.JSONDecodeError, UnicodeDecodeError, ValueError) as exc:
        raise SourceError(path, f"invalid JSON: {_short(exc)}") from exc


def _short(exc: Exception) -> str:
    """An exception's first line, without the file's own text (which may hold personal data)."""
    return str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__


ReadFn = Callable[[Path, Mapping, int, Lookups, FlattenStats, Limits], Iterator[RawBatch]]


@dataclass(frozen=True, slots=True)
class Reader:
    """How one format is read: ``read(path, mapping, batch size, lookups, stats, limits)``
    yields batches; ``flattens``: its records already carry canonical field names (the reader
    applied the mapping's columns itself, and counts the source keys it left unused in
    ``stats``). Every reader shrinks a record over ``bounds.LARGE_RECORD_BYTES`` under
    ``limits``."""

    read: ReadFn
    flattens: bool = False


def _csv_batches(path, mapping, size, _lookups, stats, limits) -> Iterator[RawBatch]:
    return batched(read_csv(path, mapping, limits, stats), size)


def _jsonl_batches(path, mapping, _size, _lookups, stats, limits) -> Iterator[RawBatch]:
    return read_jsonl_batches(path, mapping, limits, stats)


def _zendesk_batches(path, mapping, size, lookups, stats, limits) -> Iterator[RawBatch]:
    return batched(read_zendesk(path, mapping, lookups, stats, limits), size)


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
    limits: Limits | None = None,
) -> Iterator[RawBatch]:
    """Batches of records; a missing or unreadable file raises ``SourceError``.

    ``lookups`` are for Zendesk files (users/ticket fields); ``stats`` gathers what the reader
    inferred, left unused or cut; ``limits`` bound each record (``bounds``; default: the
    settings' defaults)."""
    check_readable(path)
    lookups = lookups if lookups is not None else Lookups()
    stats = stats if stats is not None else FlattenStats()
    try:
        yield from READERS[fmt].read(path, mapping, size, lookups, stats, limits or Limits())
    except PermissionError as exc:
        raise SourceError(path, f"permission denied: {exc}") from exc
