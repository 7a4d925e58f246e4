"""PII redaction as one vectorised DuckDB expression (RE2), with checksum validation.

Python's ``re`` manages ~10k bodies/s here; DuckDB's ``regexp_replace`` over a whole batch runs an
order of magnitude faster on two cores, so redaction lives in SQL. Card numbers must pass Luhn and
IBANs mod-97 before they are replaced, so order numbers and references survive.

Order matters: e-mail first (it may hold digits), then IBAN, card, national ids, phones, streets.
Known people's names (``install_known_names``) go last, in Python: each text is searched only
for the few names that can occur in it, which no single RE2 pattern over thousands of names does.
"""

from __future__ import annotations

import collections
import contextlib
import csv
import functools
import itertools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path

import duckdb
import pyarrow as pa

EMAIL = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
IBAN = r"\b[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b"
CARD = r"\b[0-9](?:[ -]?[0-9]){12,18}\b"
US_SSN = r"\b(?:00[1-9]|0[1-9][0-9]|[1-578][0-9]{2}|6[0-57-9][0-9]|66[0-57-9])-[0-9]{2}-[0-9]{4}\b"
UK_NINO = r"\b[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?[0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[A-D]\b"
PHONE_INTL = r"\+[1-9][0-9]{0,2}[ .-]?(?:\(0\)[ .-]?)?\(?[0-9]{1,4}\)?(?:[ .-]?[0-9]{2,4}){2,4}\b"
PHONE_NANP = r"(?:\([2-9][0-9]{2}\) ?|\b[2-9][0-9]{2}[ .-])[2-9][0-9]{2}[ .-][0-9]{4}\b"
PHONE_NATIONAL = r"\b0[1-9][0-9]{1,4}(?:[ /-]?[0-9]{2,4}){2,3}\b"
STREET = (
    r"\b[0-9]{1,5}[A-Za-z]? (?:[A-Z][a-z]+ ){1,3}"
    r"(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl)\b\.?"
    r"|\b[A-Z][a-zäöü]+(?:straße|strasse|weg|allee|platz|gasse) [0-9]{1,4}[a-z]?\b"
)

MACROS = r"""
CREATE OR REPLACE TEMP MACRO sf_luhn_ok(s) AS (
    list_sum(list_transform(
        string_split(reverse(regexp_replace(s, '[^0-9]', '', 'g')), ''),
        lambda ch, i: CASE WHEN i % 2 = 0
            THEN CAST(ch AS INTEGER) * 2 - CASE WHEN CAST(ch AS INTEGER) >= 5 THEN 9 ELSE 0 END
            ELSE CAST(ch AS INTEGER) END
    )) % 10 = 0
);
CREATE OR REPLACE TEMP MACRO sf_iban_ok(s) AS (
    list_reduce(
        list_prepend(0, flatten(list_transform(
            string_split(substr(replace(s, ' ', ''), 5) || substr(replace(s, ' ', ''), 1, 4), ''),
            lambda c: CASE WHEN c BETWEEN '0' AND '9' THEN [CAST(c AS INTEGER)]
                           ELSE [(ascii(c) - 55) // 10, (ascii(c) - 55) % 10] END
        ))),
        lambda acc, d: (acc * 10 + d) % 97
    ) = 1
);
CREATE OR REPLACE TEMP MACRO sf_replace_luhn(text, pattern, token) AS (
    CASE WHEN regexp_matches(text, pattern) THEN list_reduce(
        list_prepend(text, list_filter(regexp_extract_all(text, pattern), lambda c: sf_luhn_ok(c))),
        lambda acc, c: replace(acc, c, token))
    ELSE text END
);
CREATE OR REPLACE TEMP MACRO sf_replace_iban(text, pattern, token) AS (
    CASE WHEN regexp_matches(text, pattern) THEN list_reduce(
        list_prepend(text, list_filter(regexp_extract_all(text, pattern), lambda c: sf_iban_ok(c))),
        lambda acc, c: replace(acc, c, token))
    ELSE text END
);
CREATE OR REPLACE TEMP MACRO sf_redact_names(s) AS s;
"""


def install_macros(con: duckdb.DuckDBPyConnection) -> None:
    """Define the checksum macros on this connection (temporary: nothing is stored in the file).
    ``sf_redact_names`` starts as the identity; ``install_known_names`` gives it names."""
    con.execute(MACROS)


def install_known_names(con: duckdb.DuckDBPyConnection, names: Iterable[str]) -> None:
    """Make ``sf_redact_names`` (the last step of ``redaction_sql``) replace each of ``names`` —
    the people a Zendesk ``users`` sideload or users file names — by ``[NAME]`` wherever it
    stands as a whole word (letters and digits of any script delimit it; ``KnownNames`` says
    what matches: any case for a name of two words or more, anywhere in unspaced scripts).

    Names are known only for the file being loaded and never stored; free-text names of people
    no export lists are not found (no regex finds names reliably). ``KnownNames`` does the
    replacing (a Python UDF over Arrow chunks): an account export's users file names tens of
    thousands of people, and one RE2 alternation pass per thousand names over every text cost
    7.6 s per 10k tickets at 27k names, growing with both.
    """
    known = KnownNames(names)
    with contextlib.suppress(duckdb.InvalidInputException, duckdb.CatalogException):
        con.remove_function("sf_names_udf")
    if not known:
        con.execute("CREATE OR REPLACE TEMP MACRO sf_redact_names(s) AS s")
        return
    con.create_function(
        "sf_names_udf", known.redact_arrow, [duckdb.sqltype("VARCHAR")],
        duckdb.sqltype("VARCHAR"), type="arrow",
    )  # fmt: skip
    con.execute("CREATE OR REPLACE TEMP MACRO sf_redact_names(s) AS sf_names_udf(s)")


WORD_RUN = re.compile(r"[^\W_]+")  # a maximal run of letters and digits (str.isalnum)
# Scripts written without spaces between words (Thai, Lao, Myanmar, Khmer, kana, CJK ideographs)
# and Hangul, where particles and honorifics attach to a name ("김민수님"): a name in them is
# found anywhere, not only as a whole word.
UNSPACED = re.compile(
    "[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff"
    "\uac00-\ud7af\uf900-\ufaff]"
)


class KnownNames:
    """Replaces known names by ``[NAME]``; the longest name wins where several start at one
    place. A name stands as a whole word (not preceded or followed by a letter or digit),
    except in scripts written without spaces (``UNSPACED``), where it is found anywhere. A name
    of two or more words matches in any case ("JOSÉ NÚÑEZ"); a one-word name only as written
    (so "Grace" the customer does not take "grace period"). Texts are compared in Unicode NFC
    (a decomposed "José" is the same name).

    A value is only searched for the names that can occur in it: a whole-word occurrence of a
    name makes each of the name's letter-and-digit runs a whole run of the value, so each name
    is filed under its rarest run (lower case) and a value's runs pick its candidates (usually
    none); an unspaced-script name is filed under its first two characters. The result is the
    same as one alternation of every name; the cost is a run split per value."""

    def __init__(self, names: Iterable[str]) -> None:
        names = {unicodedata.normalize("NFC", n) for n in names if n and n.strip()}
        runs = {n: frozenset(r.lower() for r in WORD_RUN.findall(n)) for n in names}
        frequency = collections.Counter(r for rs in runs.values() for r in rs)
        self.by_run: dict[str, list[tuple[str, frozenset]]] = {}
        self.by_pair: dict[str, list[str]] = {}  # unspaced-script names by first two characters
        self.always: list[str] = []  # names without letters or digits: searched everywhere
        for name, rs in runs.items():
            if UNSPACED.search(name):
                if len(name) >= 2:  # one character is no name to find inside words
                    self.by_pair.setdefault(name[:2], []).append(name)
            elif not rs:
                self.always.append(name)
            else:
                key = min(rs, key=lambda r: (frequency[r], r))
                self.by_run.setdefault(key, []).append((name, rs))
        self.size = len(names)

    def __len__(self) -> int:
        return self.size

    def candidates(self, text: str) -> tuple[str, ...]:
        """The names that may stand in ``text`` (NFC), longest first."""
        present = {r.lower() for r in WORD_RUN.findall(text)}
        found = [n for r in present for n, rs in self.by_run.get(r, ()) if rs <= present]
        if self.by_pair and UNSPACED.search(text):
            pairs = {text[i : i + 2] for i in range(len(text) - 1)}
            found += [n for p in pairs for n in self.by_pair.get(p, ()) if n in text]
        return tuple(sorted(found + self.always, key=lambda n: (-len(n), n)))

    def redact(self, text: str) -> str:
        """``text`` with every known name replaced (in NFC where one was found, else as is)."""
        normal = (
            text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)
        )
        names = self.candidates(normal)
        return name_pattern(names).sub("[NAME]", normal) if names else text

    def redact_arrow(self, values: pa.Array) -> pa.Array:
        return pa.array(
            [None if v is None else self.redact(v) for v in values.to_pylist()], pa.string()
        )


@functools.lru_cache(maxsize=4096)
def name_pattern(names: tuple[str, ...]) -> re.Pattern:
    """One alternation of ``names`` in the given order, each as ``KnownNames`` matches it."""
    return re.compile("|".join(_as_matched(n) for n in names))


def _as_matched(name: str) -> str:
    if UNSPACED.search(name):
        return re.escape(name)
    words = re.escape(name) if len(WORD_RUN.findall(name)) < 2 else f"(?i:{re.escape(name)})"
    return rf"(?<![^\W_]){words}(?![^\W_])"


def _quote(pattern: str) -> str:
    return "'" + pattern.replace("'", "''") + "'"


NATIONAL_ID = f"{US_SSN}|{UK_NINO}"
PHONE = f"{PHONE_INTL}|{PHONE_NANP}|{PHONE_NATIONAL}"
# Cheap gate: a text with none of these cannot hold any of the PII above, so it skips the chain.
CANDIDATE = (
    r"@|[0-9][0-9 ().-]{5,}[0-9]|\b[A-Z]{2}[0-9]{2}|\b[0-9]{1,5}[A-Za-z]? [A-Z]"
    r"|(?:straße|strasse|weg|allee|platz|gasse) [0-9]"
)


def redaction_sql(expr: str) -> str:
    """A SQL expression that returns ``expr`` with PII replaced by ``[EMAIL]``, ``[CARD]``…"""
    sql = f"regexp_replace({expr}, {_quote(EMAIL)}, '[EMAIL]', 'g')"
    sql = f"sf_replace_iban({sql}, {_quote(IBAN)}, '[IBAN]')"
    sql = f"sf_replace_luhn({sql}, {_quote(CARD)}, '[CARD]')"
    sql = f"regexp_replace({sql}, {_quote(NATIONAL_ID)}, '[NATIONAL_ID]', 'g')"
    sql = f"regexp_replace({sql}, {_quote(PHONE)}, '[PHONE]', 'g')"
    sql = f"regexp_replace({sql}, {_quote(STREET)}, '[ADDRESS]', 'g')"
    gated = f"CASE WHEN regexp_matches({expr}, {_quote(CANDIDATE)}) THEN {sql} ELSE {expr} END"
    return f"sf_redact_names({gated})"


def redact_texts(texts: Sequence[str | None], con: duckdb.DuckDBPyConnection | None = None) -> list:
    """Redact a batch of texts (for tests and one-off use; ingest runs the SQL in place)."""
    own = con is None
    con = con or duckdb.connect()
    try:
        install_macros(con)
        con.execute("CREATE OR REPLACE TEMP TABLE sf_redact_in (i INTEGER, t VARCHAR)")
        con.executemany("INSERT INTO sf_redact_in VALUES (?, ?)", list(enumerate(texts)))
        rows = con.execute(f"SELECT {redaction_sql('t')} FROM sf_redact_in ORDER BY i").fetchall()
        con.execute("DROP TABLE sf_redact_in")
        return [r[0] for r in rows]
    finally:
        if own:
            con.close()


def redact_csv(src: Path, dst: Path, batch: int = 50_000) -> int:
    """Copy the UTF-8 CSV ``src`` to ``dst`` with every cell redacted (``redaction_sql``), so a
    model trained on a team's own file never fits names, e-mails or numbers into its artifacts;
    returns the rows copied. The header is kept as it is."""
    with (
        open(src, encoding="utf-8", newline="") as inp,
        open(dst, "w", encoding="utf-8", newline="") as out,
        duckdb.connect() as con,
    ):
        reader = csv.reader(inp)
        writer = csv.writer(out)
        header = next(reader, None)
        if header is None:
            return 0
        writer.writerow(header)
        rows = 0
        while chunk := list(itertools.islice(reader, batch)):
            cells = redact_texts([c for row in chunk for c in row], con)
            it = iter(cells)
            writer.writerows([[next(it) for _ in row] for row in chunk])
            rows += len(chunk)
    return rows
