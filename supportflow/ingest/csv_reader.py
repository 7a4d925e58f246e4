"""The CSV reader: a header row names the fields; each row becomes a JSON object record.

Encoding and delimiter come from ``csv_dialect`` (or the mapping); cells escaped by spreadsheet
tools are unescaped there too. A row that cannot be read comes back with ``error`` set.
"""

from __future__ import annotations

import csv
import io
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson

from supportflow.ingest.bounds import (
    KEEP_CHARS,
    Limits,
    bound_record,
    is_large,
    record_too_large,
)
from supportflow.ingest.mapping import CANONICAL_FIELDS, Mapping, suggest_builtin
from supportflow.ingest.raw import RawRecord, SourceError
from supportflow.ingest.zendesk import FlattenStats

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


def canonical_header(header: list[str], mapping: Mapping) -> list[str]:
    """Header cells that name a canonical field in another case (``Subject``) become that
    field, unless the mapping names a column for it or the header has it already."""
    fields = {f for f in CANONICAL_FIELDS if f not in mapping.columns} - set(header)
    return [h.lower() if h.lower() in fields else h for h in header]


RUN_MARK, RUN_END = "\ue000", "\ue001"  # private-use characters: a hidden run's placeholder
MIN_RUN_CHARS = 64  # shorter runs stay in place (a placeholder is up to ~10 characters)


class _LargeRuns:
    """The file's lines for ``csv.reader``, hiding the bulk of a very large record from it.

    Python's csv parser holds the field it reads as 4-byte characters and keeps that buffer at
    its largest: 256 MB for one 50 MB cell. Once the lines of the record being read exceed
    ``bounds.LARGE_RECORD_BYTES`` characters, each run of ``MIN_RUN_CHARS`` or more characters
    that are neither the delimiter, a quote nor a line break is handed to csv as a placeholder
    and kept here; ``restore`` puts the runs back into the row csv returns. Such runs carry no
    CSV structure (csv appends them to the field as they are), so the row is the one csv would
    have read. A line holding a placeholder character itself is passed as it is."""

    def __init__(self, lines: Iterator[str], delimiter: str):
        self.lines = lines
        self.runs: dict[str, str] = {}
        self.record_chars = 0  # characters of the record being read, so far
        plain = re.escape(delimiter) + '"\r\n'
        self.plain = re.compile(f"[^{plain}]{{{MIN_RUN_CHARS},}}")

    def __iter__(self) -> _LargeRuns:
        return self

    def __next__(self) -> str:
        line = next(self.lines)
        self.record_chars += len(line)
        if not is_large(self.record_chars) or RUN_MARK in line:
            return line
        return self.plain.sub(self._hide, line)

    def _hide(self, match: re.Match) -> str:
        token = f"{RUN_MARK}{len(self.runs)}{RUN_END}"
        self.runs[token] = match.group()
        return token

    def restore(self, row: list[str] | None) -> list[str] | None:
        """``row`` (just read by csv) with its hidden runs back in place; the next record
        starts counting from here."""
        self.record_chars = 0
        if not self.runs or row is None:
            return row
        token = re.compile(f"{RUN_MARK}[0-9]+{RUN_END}")
        restored = [
            token.sub(lambda m: self.runs[m.group()], cell) if RUN_MARK in cell else cell
            for cell in row
        ]
        self.runs.clear()
        return restored


class _Bounds:
    """What a large row needs (``bounds``): the limits, and where cuts and unused cells count."""

    def __init__(self, mapping: Mapping, limits: Limits, cut: Counter, unused: Callable):
        self.columns = {f: mapping.column_for(f) for f in CANONICAL_FIELDS}
        self.limits, self.cut, self.unused = limits, cut, unused


def read_csv(
    path: Path, mapping: Mapping, limits: Limits | None = None, stats: FlattenStats | None = None
) -> Iterator[RawRecord]:
    """CSV with a header row; ``mapping.columns`` names the columns for canonical fields.

    Encoding and delimiter are decided once per file (``supportflow.ingest.csv_dialect``:
    UTF-8 with or without BOM, else Windows-1252/Latin-1; ``,`` ``;`` TAB or ``|``) unless the
    mapping sets ``encoding:`` / ``delimiter:``. A file read as anything but UTF-8 is logged as a
    warning on ``supportflow.ingest`` naming the encoding. Cells escaped by spreadsheet tools
    (``="00123"``, ``'=…``) reach validation unescaped; ``raw`` keeps them as received. A column
    name that repeats (Jira's ``Labels``, ``Labels``) keeps its first place and joins the
    non-empty values with ``", "``. A row of more than ``bounds.LARGE_RECORD_BYTES`` characters
    is shrunk under ``limits`` (``bounds``): cuts count in ``stats.cut_values`` (a
    ``zendesk.FlattenStats``), cells no field reads in ``stats.unused_fields``.
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
        lines = _LargeRuns(handle, dialect.delimiter)
        reader = csv.reader(lines, delimiter=dialect.delimiter)
        try:
            header = lines.restore(next(reader, None))
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
        stats = stats if stats is not None else FlattenStats()
        bounds = _Bounds(mapping, limits or Limits(), stats.cut_values, stats.note_unused)
        record_no = 0
        while True:
            try:
                row = lines.restore(next(reader))
            except StopIteration:
                return
            except csv.Error as exc:
                raise SourceError(path, f"line {reader.line_num}: {exc}") from exc
            record_no += 1
            yield _csv_record(
                record_no, row, header, mapping, encoding=label, repeats=repeats, bounds=bounds
            )


def _csv_record(
    record_no: int,
    row: list[str],
    header: list[str],
    mapping: Mapping,
    *,
    encoding: str = "UTF-8",
    repeats: bool = False,
    bounds: _Bounds | None = None,
) -> RawRecord:
    """One CSV row as a record: ``raw`` as received (re-joined with commas), ``doc`` the JSON
    object of header → cell (spreadsheet escapes undone, ``csv_dialect.unescape_cell``), or
    ``error`` for bytes ``encoding`` cannot decode or a row of the wrong width. A row over
    ``bounds.LARGE_RECORD_BYTES`` characters goes to ``_large_record``."""
    if bounds is not None and is_large(sum(map(len, row))):
        return _large_record(record_no, row, header, encoding, repeats, bounds)
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
        # Kept as header → cell (cells past the header under "_extra_fields"), so quarantine
        # can mask the id columns; the error decides the record's fate, not this doc.
        kept: dict[str, object] = dict(zip(header, row, strict=False))
        if len(row) > len(header):
            kept["_extra_fields"] = row[len(header) :]
        error = f"expected {len(header)} fields, got {len(row)}"
        return RawRecord(record_no, raw, orjson.dumps(kept).decode(), error=error)
    cells = row
    if "=" in raw or "'" in raw:  # the only rows that can hold an escaped cell
        from supportflow.ingest.csv_dialect import unescape_row

        cells = unescape_row(row)
    if not repeats:
        doc = orjson.dumps(dict(zip(header, cells, strict=True))).decode()
        return RawRecord(record_no, raw, doc)
    return RawRecord(record_no, raw, orjson.dumps(_joined(header, cells)).decode())


def _joined(header: list[str], cells: list[str]) -> dict[str, str]:
    """Header → cell, a repeated column's non-empty values joined with ``", "``."""
    joined: dict[str, str] = {}
    for name, value in zip(header, cells, strict=True):
        if name not in joined:
            joined[name] = value
        elif value:
            joined[name] = f"{joined[name]}, {value}" if joined[name] else value
    return joined


def _joined_length(row: list[str]) -> int:
    """Length of ``row`` as ``csv.writer(lineterminator="")`` joins it, without joining it (the
    C writer holds a row as 4-byte characters: 200 MB for a 50 MB cell): a cell holding a comma
    or a quote is quoted, its quotes doubled; a row of one empty cell is ``""``."""
    if row == [""]:
        return 2
    quoted = sum(2 + cell.count('"') for cell in row if "," in cell or '"' in cell)
    return sum(map(len, row)) + quoted + len(row) - 1


def _row_head(row: list[str]) -> str:
    """The first ``bounds.KEEP_CHARS`` characters of ``row`` joined as ``_csv_record`` joins it
    (from its cells' starts: a cell is quoted here when its start needs it)."""
    taken, size = [], 0
    for cell in row:
        taken.append(cell[:KEEP_CHARS])
        size += len(taken[-1]) + 1
        if size > KEEP_CHARS:
            break
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(taken)
    return buffer.getvalue()[:KEEP_CHARS]


_SURROGATE = re.compile("[\udc80-\udcff]")  # a byte the file's encoding could not decode


def _large_record(
    record_no: int, row: list[str], header: list[str], encoding: str, repeats: bool, bounds
) -> RawRecord:
    """``_csv_record`` for a row over ``bounds.LARGE_RECORD_BYTES``: the same checks without a
    whole copy of the row; ``raw`` keeps its start (``bounds.kept_head``) and the JSON is
    shrunk by ``bounds.bound_record``."""
    raw, raw_chars = _row_head(row), _joined_length(row)
    if raw_chars <= len(raw):
        raw_chars = None
    elif raw_chars > bounds.limits.max_record_chars:
        error = record_too_large(raw_chars, bounds.limits.max_record_chars)
        return RawRecord(record_no, raw, error=error, raw_chars=raw_chars)
    if any(_SURROGATE.search(cell) for cell in row):
        raw = raw.encode(errors="surrogateescape").decode(errors="backslashreplace")
        return RawRecord(record_no, raw, error=f"not valid {encoding}", raw_chars=raw_chars)
    if len(row) != len(header):
        error = f"expected {len(header)} fields, got {len(row)}"
        return RawRecord(record_no, raw, error=error, raw_chars=raw_chars)
    from supportflow.ingest.csv_dialect import unescape_row

    cells = unescape_row(row)
    record = _joined(header, cells) if repeats else dict(zip(header, cells, strict=True))
    staged = bound_record(record, bounds.columns, bounds.limits, bounds.cut, bounds.unused)
    return RawRecord(record_no, raw, staged.doc, staged.error, raw_chars, staged.events)
