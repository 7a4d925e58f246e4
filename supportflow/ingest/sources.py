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

import ijson
import orjson

from supportflow.ingest.mapping import CANONICAL_FIELDS, Mapping, suggest_builtin
from supportflow.ingest.zendesk import FlattenStats, Lookups
from supportflow.ingest.zendesk_files import (
    Shape,
    first_object,
    is_document,
    looks_like_zendesk_ticket,
    shape_of,
    zendesk_records,
)

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
# A batch is also cut at this many characters: Zendesk tickets with their comments and audits
# are ~10× the size of a flat row, and Python holds a batch three times (records, columns, Arrow).
BATCH_BYTES = 64 << 20


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


def canonical_header(header: list[str], mapping: Mapping) -> list[str]:
    """Header cells that name a canonical field in another case (``Subject``) become that
    field, unless the mapping names a column for it or the header has it already."""
    fields = {f for f in CANONICAL_FIELDS if f not in mapping.columns} - set(header)
    return [h.lower() if h.lower() in fields else h for h in header]


def read_csv(path: Path, mapping: Mapping) -> Iterator[RawRecord]:
    """CSV with a header row; ``mapping.columns`` names the columns for canonical fields.

    Encoding and delimiter are decided once per file (``supportflow.ingest.csv_dialect``:
    UTF-8 with or without BOM, else Windows-1252/Latin-1; ``,`` ``;`` TAB or ``|``) unless the
    mapping sets ``encoding:`` / ``delimiter:``. A file read as anything but UTF-8 is logged as a
    warning on ``supportflow.ingest`` naming the encoding. Cells escaped by spreadsheet tools
    (``="00123"``, ``'=…``) reach validation unescaped; ``raw`` keeps them as received. A column
    name that repeats (Jira's ``Labels``, ``Labels``) keeps its first place and joins the
    non-empty values with ``", "``.
    """
    import logging

    from supportflow.ingest.csv_dialect import detect_dialect, wrong_delimiter_hint

    dialect = detect_dialect(path, encoding=mapping.encoding, delimiter=mapping.delimiter)
    log = logging.getLogger("supportflow.ingest")
    if not dialect.is_utf8:
        how = "as the mapping says" if dialect.encoding_source == "mapping" else "detected"
        log.warning(
            "%s: not UTF-8; read as %s (%s, for the whole file; set `encoding:` in the mapping "
            "to choose another)",
            path,
            dialect.encoding_label,
            how,
        )
    if dialect.delimiter != ",":
        log.info("%s: %r-delimited (%s)", path, dialect.delimiter, dialect.delimiter_source)
    with open(path, encoding=dialect.encoding, errors="surrogateescape", newline="") as handle:
        reader = csv.reader(handle, delimiter=dialect.delimiter)
        try:
            header = next(reader, None)
        except csv.Error as exc:
            raise SourceError(path, f"unreadable CSV header: {exc}") from exc
        if header is None:
            return
        header = [h.strip().lstrip("\ufeff") for h in header]
        builtin = None if mapping.columns else suggest_builtin(header)
        header = canonical_header(header, mapping)
        needed = {mapping.column_for("body"), mapping.column_for("subject")}
        if builtin:
            log.warning("%s looks like a %s export: use --mapping %s", path.name, builtin, builtin)
        if not needed & set(header):
            hint = wrong_delimiter_hint(header, dialect.delimiter)
            shown = header[:20] + (["…"] if len(header) > 20 else [])
            raise SourceError(
                path,
                f"no text column: {hint}"
                if hint
                else f"no text column: expected one of {sorted(needed)} in the header {shown}; "
                + (
                    f"it looks like a {builtin} export: use --mapping {builtin}"
                    if builtin
                    else "map yours with --mapping (see the README's mapping section)"
                ),
            )
        repeats = len(set(header)) != len(header)
        label = dialect.encoding_label
        record_no = 0
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise SourceError(path, f"line {reader.line_num}: {exc}") from exc
            record_no += 1
            yield _csv_record(record_no, row, header, mapping, encoding=label, repeats=repeats)


def _csv_record(
    record_no: int,
    row: list[str],
    header: list[str],
    mapping: Mapping,
    *,
    encoding: str = "UTF-8",
    repeats: bool = False,
) -> RawRecord:
    """One CSV row as a record: ``raw`` as received (re-joined with commas), ``doc`` the JSON
    object of header → cell (spreadsheet escapes undone, ``csv_dialect.unescape_cell``), or
    ``error`` for bytes ``encoding`` cannot decode or a row of the wrong width."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(row)
    raw = buffer.getvalue()
    try:
        raw.encode()
    except UnicodeEncodeError:
        return RawRecord(
            record_no,
            raw.encode(errors="surrogateescape").decode(errors="backslashreplace"),
            error=f"not valid {encoding}",
        )
    if len(row) != len(header):
        return RawRecord(record_no, raw, error=f"expected {len(header)} fields, got {len(row)}")
    cells = row
    if "=" in raw or "'" in raw:  # the only rows that can hold an escaped cell
        from supportflow.ingest.csv_dialect import unescape_row

        cells = unescape_row(row)
    if not repeats:
        doc = orjson.dumps(dict(zip(header, cells, strict=True))).decode()
        return RawRecord(record_no, raw, doc)
    joined: dict[str, str] = {}
    for name, value in zip(header, cells, strict=True):
        if name not in joined:
            joined[name] = value
        elif value:
            joined[name] = f"{joined[name]}, {value}" if joined[name] else value
    return RawRecord(record_no, raw, orjson.dumps(joined).decode())


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
    try:
        if fmt == Format.jsonl:
            yield from read_jsonl_batches(path)
            return
        records = (
            read_zendesk(path, mapping, lookups, stats)
            if fmt == Format.zendesk
            else READERS[fmt](path, mapping)
        )
        batch: list[RawRecord] = []
        held = 0
        for record in records:
            batch.append(record)
            held += len(record.raw) + len(record.doc or "")
            if len(batch) >= size or held >= BATCH_BYTES:
                yield RawBatch.of(batch)
                batch, held = [], 0
        if batch:
            yield RawBatch.of(batch)
    except PermissionError as exc:
        raise SourceError(path, f"permission denied: {exc}") from exc
