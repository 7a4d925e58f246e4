"""CSV dialects: encodings and delimiters decided per file, spreadsheet escapes, desk mappings.

Case 07 (an export opened in Excel and saved again: ``;`` + BOM, or Windows-1252) lives in
``tests/data/cases/07``; one small export per built-in desk mapping in ``tests/data/desks``,
written from each vendor's documented columns.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from supportflow.ingest.csv_dialect import (
    detect_dialect,
    detect_encoding,
    sniff_delimiter,
    unescape_cell,
    wrong_delimiter_hint,
)
from supportflow.ingest.load import ingest_file
from supportflow.ingest.mapping import Mapping, load_mapping
from supportflow.ingest.sources import Format, SourceError, read_batches

DATA = Path(__file__).resolve().parents[1] / "data"
CASE = DATA / "cases" / "07"
DESKS = DATA / "desks"
MULTILINE_BODY = "Beim Export fehlt der rechte Rand.\nTritt nur bei großen Boards auf."


def records(path: Path, mapping: Mapping | None = None):
    """Every record of a CSV file, read in batches of two so batch edges are crossed."""
    return [r for b in read_batches(path, Format.csv, mapping or Mapping(), 2) for r in b.records()]


def docs(path: Path, mapping: Mapping | None = None) -> list[dict]:
    got = records(path, mapping)
    assert [r.error for r in got] == [None] * len(got)
    return [json.loads(r.doc) for r in got]


def canonical(doc: dict, mapping: Mapping) -> dict:
    """The canonical fields a mapping picks out of one CSV row."""
    return {f: doc.get(c) for f, c in mapping.columns.items()}


def landed(con, source: str) -> dict[str, tuple]:
    rows = con.execute(
        "SELECT external_id, subject, body, status, created_at FROM landing.tickets "
        "WHERE source = ? ORDER BY external_id",
        [source],
    ).fetchall()
    return {r[0]: r[1:] for r in rows}


# --- encoding -----------------------------------------------------------------------------


def test_encoding_is_decided_per_file(tmp_path):
    assert detect_encoding(CASE / "tickets_excel_de.csv") == "utf-8-sig"
    assert detect_encoding(CASE / "control_same_rows_comma.csv") == "utf-8-sig"
    assert detect_encoding(CASE / "tickets_cp1252.csv") == "cp1252"
    plain = tmp_path / "plain.csv"
    plain.write_text("id,subject\n1,Größe\n", encoding="utf-8")
    assert detect_encoding(plain) == "utf-8"
    utf16 = tmp_path / "unicode.txt"
    utf16.write_text("id\tsubject\n1\tGröße\n", encoding="utf-16")  # Excel "Unicode Text"
    assert detect_encoding(utf16) == "utf-16"


def test_single_row_with_e_acute_is_windows_1252(tmp_path):
    path = tmp_path / "one.csv"
    path.write_bytes(b"id,subject\r\n1,Facture erron\xe9e\r\n")  # the case's smallest input
    assert detect_encoding(path) == "cp1252"


def test_bytes_windows_1252_leaves_undefined_make_it_latin_1(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes(b"id,subject\n1,Caf\xe9 \x81\n")
    assert detect_encoding(path) == "latin-1"


def test_damaged_utf8_stays_utf8_and_its_bad_rows_are_quarantined(tmp_path):
    # Mostly well-formed UTF-8 with one Windows-1252 word pasted in (more good multi-byte
    # sequences than bad bytes), and a lone byte that reads as no word: both stay UTF-8, and
    # only the bad row is refused.
    mixed = tmp_path / "mixed.csv"
    mixed.write_bytes("subject\nGröße\nÄrger über Müll\n".encode() + b"Caf\xe9s\n")
    assert detect_encoding(mixed) == "utf-8"
    assert [r.error for r in records(mixed, Mapping(columns={"body": "subject"}))] == [
        None,
        None,
        "not valid UTF-8",
    ]
    lone = tmp_path / "lone.csv"
    lone.write_bytes(b"text,category\nbad \xff,x\n")
    assert detect_encoding(lone) == "utf-8"


def test_windows_1252_file_is_read_whole_and_logged(caplog):
    with caplog.at_level(logging.WARNING, logger="supportflow.ingest"):
        got = docs(CASE / "tickets_cp1252.csv")
    assert [d["subject"] for d in got] == [
        "Facture erronée",
        "Can’t share board",
        "Password reset",
        "Größe der Datei",
    ]
    assert "49 € au lieu de 39 €" in got[0]["body"] and "fails – the dialog" in got[1]["body"]
    assert "read as Windows-1252" in caplog.text and "tickets_cp1252.csv" in caplog.text


def test_mapping_encoding_overrides_detection(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes("id,subject\n1,Größe\n".encode("cp1252"))
    (doc,) = docs(path, Mapping(encoding="latin-1"))
    assert doc["subject"] == "Größe"
    assert detect_dialect(path, encoding="latin-1").encoding_source == "mapping"


# --- delimiter ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sample", "expected"),
    [
        ('a;b;c\n1;"x; y";3\n2;z;4\n', (";", "sniffed")),
        ("a,b,c\n1,2,3\n", (",", "sniffed")),
        ("a\tb\tc\n1\t2\t3\n", ("\t", "sniffed")),
        ("a|b|c\n1|2|3\n", ("|", "sniffed")),
        ("text\nhello, world; again\n", (",", "default")),  # one column: nothing to split
        ("Ticket ID;Subject;Body", (";", "sniffed")),  # the header alone
        # Rows that contradict the header (Sniffer picks |, which the header lacks): the header
        ("id;text\nfoo|bar|baz\nqux|quux|x\n", (";", "header")),
    ],
)
def test_sniff_delimiter(sample, expected):
    assert sniff_delimiter(sample) == expected


def test_semicolon_file_loads_with_its_multiline_body():
    mapping = load_mapping(CASE / "mapping.yaml")
    assert detect_dialect(CASE / "tickets_excel_de.csv").delimiter == ";"
    got = docs(CASE / "tickets_excel_de.csv", mapping)
    assert [d["Ticket ID"] for d in got] == ["HD-2001", "HD-2002", "HD-2003"]
    assert got[1]["Description"] == MULTILINE_BODY
    assert got[0]["Description"].endswith("belastet; bitte eine Abbuchung erstatten.")
    assert docs(CASE / "control_same_rows_comma.csv", mapping) == got


def test_crlf_inside_quotes_is_kept(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(b'id;body\r\n1;"first line\r\nsecond line"\r\n2;plain\r\n')
    assert [d["body"] for d in docs(path)] == ["first line\r\nsecond line", "plain"]


def test_wrong_delimiter_names_the_cause(tmp_path):
    with pytest.raises(SourceError) as info:
        records(CASE / "tickets_excel_de.csv", Mapping(delimiter=","))
    message = str(info.value)
    assert "the header is one column 'Ticket ID;Subject;" in message
    assert "looks ';'-delimited" in message and 'set `delimiter: ";"` in the mapping' in message
    assert "--mapping" not in message
    assert wrong_delimiter_hint(["a", "b"], ",") is None
    assert 'set `delimiter: "\\t"`' in (wrong_delimiter_hint(["a\tb"], ",") or "")


def test_mapping_delimiter_options_are_checked():
    assert Mapping(delimiter="\\t").delimiter == "\t"
    assert Mapping(delimiter="tab").delimiter == "\t"
    assert Mapping(delimiter=";").delimiter == ";"
    with pytest.raises(ValueError, match="one character"):
        Mapping(delimiter=";;")
    with pytest.raises(ValueError, match="unknown encoding"):
        Mapping(encoding="klingon-8")
    assert Mapping(encoding="windows-1252").encoding == "windows-1252"
    with pytest.raises(ValueError, match="%-directive"):
        Mapping(datetime_format="dd/MM/yyyy")
    fmts = ["%m/%d/%Y %I:%M %p", "%d/%b/%y %I:%M %p"]
    assert Mapping(datetime_format=fmts).datetime_format == fmts


# --- spreadsheet escapes and repeated columns ---------------------------------------------


@pytest.mark.parametrize(
    ("cell", "plain"),
    [
        ('="00123"', "00123"),
        ('="say ""hi"""', 'say "hi"'),
        ("'=SUM(A1:A2)", "=SUM(A1:A2)"),
        ("'+49 30 1234", "+49 30 1234"),
        ("'-5", "-5"),
        ("'@channel", "@channel"),
        ("=SUM(A1:A2)", "=SUM(A1:A2)"),  # a real formula is not ours to evaluate
        ('="a"&"b"', '="a"&"b"'),  # more than one literal: left alone
        ("'quoted'", "'quoted'"),
        ("it's fine", "it's fine"),
        ("", ""),
    ],
)
def test_unescape_cell(cell, plain):
    assert unescape_cell(cell) == plain


def test_formula_escaped_cells_reach_validation_unescaped(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("id,subject,customer\n=\"00123\",'=cmd|calc,'+4930\n", encoding="utf-8")
    (record,) = records(path)
    assert json.loads(record.doc) == {"id": "00123", "subject": "=cmd|calc", "customer": "+4930"}
    assert record.raw.startswith('"=""00123"""')  # as received


def test_repeated_columns_join_their_values(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("Summary,Labels,Labels,Labels\nA,vpn,,network\nB,,,\n", encoding="utf-8")
    assert [d["Labels"] for d in docs(path, Mapping(columns={"subject": "Summary"}))] == [
        "vpn, network",
        "",
    ]


# --- through the loader -------------------------------------------------------------------


def test_case_07_files_load_whole(con, settings):
    mapping = load_mapping(CASE / "mapping.yaml")
    semicolon = ingest_file(con, CASE / "tickets_excel_de.csv", mapping=mapping, settings=settings)
    assert (semicolon.records_in, semicolon.records_loaded) == (3, 3)
    rows = landed(con, "helpdesk")
    assert rows["HD-2002"][1] == MULTILINE_BODY

    cp1252 = ingest_file(con, CASE / "tickets_cp1252.csv", settings=settings, source="fr")
    assert (cp1252.records_in, cp1252.records_loaded, cp1252.records_quarantined) == (4, 4, 0)
    rows = landed(con, "fr")
    assert rows["FR-301"][0] == "Facture erronée"
    assert "49 € au lieu de 39 €" in rows["FR-301"][1]
    assert rows["FR-302"][0] == "Can’t share board" and "fails – the dialog" in rows["FR-302"][1]
    assert rows["FR-304"][0] == "Größe der Datei" and "über 20 MB" in rows["FR-304"][1]

    control = ingest_file(
        con, CASE / "control_same_rows_comma.csv", mapping=mapping, settings=settings, source="ctl"
    )
    assert (control.records_in, control.records_loaded) == (3, 3)


# --- built-in desk mappings ---------------------------------------------------------------


DESK_EXPECTED = {
    "freshdesk": {"id": "1042", "subject": "Refund not received", "status": "Open",
                  "created_at": "2026-03-11 14:05:00", "tags": "refund,billing",
                  "channel": "Email"},
    "jira-sm": {"id": "HELP-12", "subject": "VPN drops every hour",
                "body": "Since Monday the VPN disconnects every hour.\r\n"
                        "Restarting the client helps for a while.",
                "status": "Waiting for support", "created_at": "22/Aug/26 5:18 PM",
                "tags": "vpn, network"},
    "fivetran-zendesk": {"id": "35436", "subject": "Charged twice",
                         "body": "My card was charged twice for the March invoice.",
                         "status": "open", "created_at": "2026-03-02 08:15:00+00:00",
                         "channel": "email"},
    "helpscout": {"id": "2391938111", "subject": "Where is the export button?",
                  "body": "Hello, I tried to export my data but cannot find the button.",
                  "status": "closed", "created_at": "2026-03-15T22:46:22Z", "channel": "email",
                  "assignee_id": "99"},
    "intercom": {"id": "1295", "body": "<p>Hi, my invoice shows the wrong VAT number.</p>",
                 "status": "open", "created_at": "1788220800", "channel": "conversation",
                 "priority": "high"},
}  # fmt: skip


@pytest.mark.parametrize("desk", sorted(DESK_EXPECTED))
def test_desk_export_parses_into_canonical_fields(desk):
    mapping = load_mapping(desk)
    assert mapping.source == desk
    got = [canonical(d, mapping) for d in docs(DESKS / f"{desk}.csv", mapping)]
    assert len(got) == 2
    first = got[0]
    assert {k: first[k] for k in DESK_EXPECTED[desk]} == DESK_EXPECTED[desk]
    for row in got:
        assert row["id"] and row["status"] and row["created_at"]
        assert row.get("subject") or row.get("body")


@pytest.mark.parametrize("desk", ["fivetran-zendesk", "freshdesk", "helpscout"])
def test_desk_export_with_iso_times_loads(con, settings, desk):
    report = ingest_file(con, DESKS / f"{desk}.csv", mapping=load_mapping(desk), settings=settings)
    assert (report.records_in, report.records_loaded, report.records_quarantined) == (2, 2, 0)
    assert len(landed(con, desk)) == 2


def test_jira_export_loads_with_its_datetime_format(con, settings):
    report = ingest_file(
        con, DESKS / "jira-sm.csv", mapping=load_mapping("jira-sm"), settings=settings
    )
    assert (report.records_in, report.records_loaded) == (2, 2)
    created = landed(con, "jira-sm")["HELP-12"][3]
    assert (created.year, created.month, created.day, created.hour, created.minute) == (
        2026, 8, 22, 17, 18,
    )  # fmt: skip


def test_intercom_export_loads_with_epoch_times(con, settings):
    report = ingest_file(
        con, DESKS / "intercom.csv", mapping=load_mapping("intercom"), settings=settings
    )
    assert (report.records_in, report.records_loaded) == (2, 2)
