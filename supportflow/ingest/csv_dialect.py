"""How a CSV file is written: its text encoding, its delimiter, and spreadsheet cell escapes.

Help-desk exports are often opened in Excel and saved again before they reach us. Excel then
writes the file in the locale's way: ``;`` instead of ``,`` in German or French locales, and
Windows-1252 bytes instead of UTF-8 for its plain "CSV (Comma delimited)" choice. These rules
decide both per file, never per row, so a file is read one way from its first row to its last.

Encoding (``detect_encoding``):

1. A byte-order mark decides: UTF-8 (``utf-8-sig``) or UTF-16 (Excel's "Unicode Text").
2. Otherwise the whole file is checked as strict UTF-8; if it decodes, it is UTF-8.
3. Otherwise it is Windows-1252 (0x80 → €, 0x92 → ’, 0xE9 → é), or Latin-1 when it holds one
   of the five bytes Windows-1252 leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D) — provided the
   bytes read as Western European text: an accented letter next to an ASCII letter, or one of
   Windows-1252's typographic characters (€ ‚ „ … ‘ ’ “ ” • – — ™). A file that is mostly valid
   UTF-8 (more well-formed multi-byte sequences than broken bytes), or whose stray bytes read as
   neither, stays UTF-8: its damaged rows are quarantined as "not valid UTF-8", as before.

``charset-normalizer`` (installed with requests) was tried first and rejected: on the case file
(a French export with é, € and ’) it answers cp1250, which reads è as č.

Delimiter (``sniff_delimiter``), one of ``, ; TAB |``:

1. A header line holding none of them is a one-column file: ``,``.
2. ``csv.Sniffer`` over the first 64 KB (cut at a line end) picks one; it is taken when the
   header line holds it.
3. Otherwise the delimiter the header line holds most often (ties in the order ``, ; TAB |``).

Quotes are always ``"`` (doubled inside a field), so quoted fields may hold the delimiter and
line breaks (CRLF included). A mapping's ``delimiter:`` and ``encoding:`` skip detection.
"""

from __future__ import annotations

import codecs
import csv
import re
from dataclasses import dataclass
from pathlib import Path

DELIMITERS = ",;\t|"
SNIFF_CHARS = 64 * 1024
CHUNK_BYTES = 1 << 20
CP1252_UNDEFINED = frozenset(b"\x81\x8d\x8f\x90\x9d")
# Evidence that single-byte text is Western European: an accented letter touching an ASCII
# letter, or a typographic character only Windows-1252 has in 0x80–0x9F.
_WESTERN_TEXT = re.compile("[A-Za-z][À-ÖØ-öø-ÿŠšŽžŒœŸ]|[À-ÖØ-öø-ÿŠšŽžŒœŸ][A-Za-z]|[€‚„…‘’“”•–—™]")
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
ENCODING_LABELS = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8",
    "utf-16": "UTF-16",
    "cp1252": "Windows-1252",
    "latin-1": "Latin-1",
}


@dataclass(frozen=True, slots=True)
class CsvDialect:
    """What ``read_csv`` needs to open a file: the codec name and the delimiter, and where
    each came from (``"mapping"``, ``"detected"``, ``"sniffed"``, ``"header"``, ``"default"``)."""

    encoding: str
    delimiter: str
    encoding_source: str = "detected"
    delimiter_source: str = "default"

    @property
    def encoding_label(self) -> str:
        """The encoding's name for people: ``UTF-8``, ``Windows-1252``, or the codec name."""
        return ENCODING_LABELS.get(self.encoding, self.encoding)

    @property
    def is_utf8(self) -> bool:
        """True when the file is read as UTF-8 (with or without a byte-order mark)."""
        return self.encoding in ("utf-8", "utf-8-sig")


def detect_encoding(path: Path) -> str:
    """The Python codec to read ``path`` with, by the rules in the module docstring:
    ``utf-8-sig``, ``utf-16``, ``utf-8``, ``cp1252`` or ``latin-1``."""
    with open(path, "rb") as handle:
        head = handle.read(4)
        for bom, codec in _BOMS:
            if head.startswith(bom):
                return codec
        handle.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")("strict")
        try:
            while chunk := handle.read(CHUNK_BYTES):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            pass
        else:
            return "utf-8"
    return _single_byte_or_utf8(path)


def _single_byte_or_utf8(path: Path) -> str:
    """Not valid UTF-8: Windows-1252 (or Latin-1) when the bytes read as Western European
    text and are not mostly well-formed UTF-8; UTF-8 (damaged rows quarantined) otherwise."""
    utf8 = codecs.getincrementaldecoder("utf-8")("replace")
    broken = well_formed = 0
    undefined = evidence = False
    tail = ""
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            text = utf8.decode(chunk)
            replaced = text.count("\ufffd")
            broken += replaced
            well_formed += len(text) - len(text.encode("ascii", "ignore")) - replaced
            undefined = undefined or not CP1252_UNDEFINED.isdisjoint(chunk)
            single = tail + chunk.decode("latin-1" if undefined else "cp1252", errors="replace")
            evidence = evidence or _WESTERN_TEXT.search(single) is not None
            tail = single[-1:]
    if well_formed >= broken or not evidence:
        return "utf-8"
    return "latin-1" if undefined else "cp1252"


def sniff_delimiter(sample: str) -> tuple[str, str]:
    """(delimiter, how it was found) for CSV text whose first line is the header; see the
    module docstring for the rules. ``sample`` is the start of the file, BOM removed."""
    header = sample.split("\n", 1)[0].rstrip("\r")
    counts = {d: header.count(d) for d in DELIMITERS}
    if not any(counts.values()):
        return ",", "default"
    cut = sample.rfind("\n")
    try:
        sniffed = csv.Sniffer().sniff(sample[: cut + 1] if cut > 0 else sample, DELIMITERS)
    except csv.Error:
        sniffed = None
    if sniffed is not None and counts.get(sniffed.delimiter, 0) > 0:
        return sniffed.delimiter, "sniffed"
    return max(DELIMITERS, key=lambda d: (counts[d], -DELIMITERS.index(d))), "header"


def detect_dialect(
    path: Path, *, encoding: str | None = None, delimiter: str | None = None
) -> CsvDialect:
    """Encoding and delimiter of the CSV file at ``path``; a given ``encoding`` or
    ``delimiter`` (from the mapping) is used as it is and not detected."""
    codec = encoding or detect_encoding(path)
    if delimiter is not None:
        return CsvDialect(codec, delimiter, "mapping" if encoding else "detected", "mapping")
    with open(path, encoding=codec, errors="replace", newline="") as handle:
        sample = handle.read(SNIFF_CHARS).lstrip("\ufeff")
    found, how = sniff_delimiter(sample)
    return CsvDialect(codec, found, "mapping" if encoding else "detected", how)


def wrong_delimiter_hint(header: list[str], delimiter: str) -> str | None:
    """Why a header has no usable column when it was split on the wrong delimiter: a single
    header cell that holds another of ``, ; TAB |``. None when that is not the case."""
    if len(header) != 1:
        return None
    cell = header[0]
    others = [d for d in DELIMITERS if d != delimiter and d in cell]
    if not others:
        return None
    likely = max(others, key=cell.count)
    shown = cell if len(cell) <= 60 else cell[:59] + "…"
    written = "\\t" if likely == "\t" else likely
    return (
        f"the header is one column {shown!r}: the file looks {written!r}-delimited; "
        f'set `delimiter: "{written}"` in the mapping'
    )


def unescape_cell(value: str) -> str:
    """The plain value of a cell that a spreadsheet tool escaped against formula injection.

    Rule: ``="…"`` (a formula whose whole body is one string literal, with ``""`` for a quote
    inside, as Excel writes text it must keep verbatim such as ``="00123"``) becomes the text
    inside; a leading ``'`` before ``=``, ``+``, ``-`` or ``@`` (the OWASP CSV-injection escape)
    is dropped. Any other value comes back unchanged.
    """
    if len(value) >= 3 and value[0] == "=" and value[1] == '"' and value[-1] == '"':
        inner = value[2:-1]
        if '"' not in inner.replace('""', ""):
            return inner.replace('""', '"')
        return value
    if len(value) >= 2 and value[0] == "'" and value[1] in "=+-@":
        return value[1:]
    return value


def unescape_row(row: list[str]) -> list[str]:
    """``row`` with ``unescape_cell`` applied; the same list when no cell needs it."""
    for value in row:
        if value[:1] in ("=", "'"):
            return [unescape_cell(v) for v in row]
    return row
