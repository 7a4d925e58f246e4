"""Parsers per format: every record comes back, good or with an error; bad files raise."""

import json
from pathlib import Path

import pytest

from supportflow.ingest.mapping import Mapping, load_mapping
from supportflow.ingest.sources import Format, SourceError, detect_format, read_batches


def records(path: Path, fmt: Format, mapping: Mapping | None = None, size: int = 2):
    """All records of a file, read in small batches so batch edges are exercised."""
    return [r for b in read_batches(path, fmt, mapping or Mapping(), size) for r in b.records()]


def test_jsonl_lines_come_back_as_received(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_bytes(b'{"id": 1, "body": "a"}\r\n\n{oops\n[1]\n{"id": 2, "body": "caf\xe9"}\n')
    got = records(path, Format.jsonl)
    assert [r.record_no for r in got] == [1, 3, 4, 5]  # blank lines are not records
    assert [r.raw for r in got[:3]] == ['{"id": 1, "body": "a"}', "{oops", "[1]"]
    assert [r.error for r in got[:3]] == [None, None, None]  # JSON is checked in SQL
    assert got[3].error.startswith("not valid UTF-8") and "\\xe9" in got[3].raw


def test_csv_rows_become_json_documents(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(b'text,category\n"hello, world",card_arrival\nonly-one-field\nbad \xff,x\n')
    got = records(path, Format.csv, Mapping(columns={"body": "text"}))
    assert json.loads(got[0].doc) == {"text": "hello, world", "category": "card_arrival"}
    assert got[0].raw == '"hello, world",card_arrival'
    assert got[1].error == "expected 2 fields, got 1"
    assert got[2].error == "not valid UTF-8"


def test_csv_without_a_text_column_fails_the_file(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(SourceError, match="no text column"):
        records(path, Format.csv)


def test_truncated_zendesk_export_fails_with_path_and_reason(tmp_path):
    path = tmp_path / "z.json"
    path.write_text('{"tickets": [{"id": 1, "created_at": "2026-01-01T00:00:00Z"}, {"id": 2, ')
    with pytest.raises(SourceError) as info:
        records(path, Format.zendesk)
    assert str(path) in str(info.value) and "invalid JSON" in str(info.value)


def test_users_file_alone_is_a_lookup_not_a_ticket_export(tmp_path):
    path = tmp_path / "users.json"
    path.write_text('{"users": [{"id": 1, "role": "agent", "name": "A"}]}')
    with pytest.raises(SourceError, match="users file"):
        records(path, Format.zendesk)
    other = tmp_path / "z.json"
    other.write_text('{"groups": [1, 2, 3]}')
    with pytest.raises(SourceError, match="not a Zendesk export"):
        records(other, Format.zendesk)


def test_empty_zendesk_export_is_fine(tmp_path):
    path = tmp_path / "z.json"
    path.write_text('{"tickets": []}')
    assert records(path, Format.zendesk) == []


def test_missing_file_and_unknown_suffix(tmp_path):
    with pytest.raises(SourceError, match="no such file"):
        records(tmp_path / "nope.jsonl", Format.jsonl)
    with pytest.raises(SourceError, match="--format"):
        detect_format(tmp_path / "export.xml")


def test_builtin_mapping_and_unknown_mapping():
    assert load_mapping("banking77").columns == {"body": "text", "category": "category"}
    with pytest.raises(FileNotFoundError, match="banking77"):
        load_mapping("no-such-mapping")


def test_mapping_rejects_unknown_fields():
    with pytest.raises(ValueError, match="unknown field"):
        Mapping(columns={"bdy": "text"})


def test_jsonl_blocks_split_lines_correctly(tmp_path, monkeypatch):
    import supportflow.ingest.sources as sources

    monkeypatch.setattr(sources, "BLOCK_BYTES", 16)  # lines longer than a block, many blocks
    lines = [b'{"id": 1, "body": "' + b"x" * 40 + b'"}', b"", b'{"id": 2}', b"bad \xff", b"{}"]
    path = tmp_path / "t.jsonl"
    path.write_bytes(b"\n".join(lines))  # no newline at the end
    got = records(path, Format.jsonl)
    assert [r.record_no for r in got] == [1, 3, 4, 5]
    assert got[0].raw == lines[0].decode() and got[3].raw == "{}"
    assert got[2].error.startswith("not valid UTF-8") and got[1].error is None


@pytest.mark.parametrize(
    ("yaml_text", "why"),
    [
        ("columns:\n  subject: ''\n", "empty column name"),
        ("timezone: localtime\n", "is not a zone"),
        ("timezone: Mars/Olympus\n", "unknown time zone"),
    ],
)
def test_a_bad_mapping_is_one_line_naming_the_file(tmp_path, yaml_text, why):
    from supportflow.ingest.mapping import load_mapping

    path = tmp_path / "desk.yaml"
    path.write_text(yaml_text)
    with pytest.raises(ValueError, match=why) as caught:
        load_mapping(path)
    assert str(caught.value).startswith(f"mapping {path}: ") and "\n" not in str(caught.value)
