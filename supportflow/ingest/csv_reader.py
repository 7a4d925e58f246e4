"""The CSV reader: a header row names the fields; each row becomes a JSON object record.

Encoding and delimiter come from ``csv_dialect`` (or the mapping); cells escaped by spreadsheet
tools are unescaped there too. A row that cannot be read comes back with ``error`` set.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterator
from pathlib import Path

import orjson

from supportflow.ingest.mapping import CANONICAL_FIELDS, Mapping, suggest_builtin
from supportflow.ingest.raw import RawRecord, SourceError

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


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
