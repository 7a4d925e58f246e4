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


def test_zendesk_comments_and_audits_become_events(tmp_path):
    ticket = {
        "id": 7,
        "created_at": "2026-01-01T10:00:00Z",
        "subject": "Help",
        "description": "x",
        "via": {"channel": "email"},
        "requester_id": "cus_1",
        "custom_fields": [{"id": "category", "value": "refund"}],
        "satisfaction_rating": {"score": 4},
        "comments": [
            {
                "id": 1,
                "created_at": "2026-01-01T10:00:00Z",
                "author_role": "customer",
                "public": True,
                "body": "x",
            }
        ],
        "audits": [
            {
                "id": 9,
                "created_at": "2026-01-02T10:00:00Z",
                "author_role": "agent",
                "events": [
                    {
                        "type": "Change",
                        "field_name": "status",
                        "value": "open",
                        "previous_value": "solved",
                    },
                    {"type": "Change", "field_name": "assignee_id", "value": "ag_1"},
                ],
            }
        ],
    }
    path = tmp_path / "z.json"
    path.write_text(json.dumps({"tickets": [ticket], "count": 1}))
    (got,) = records(path, Format.zendesk)
    fields = json.loads(got.doc)
    assert (fields["channel"], fields["category"], fields["csat"]) == ("email", "refund", 4)
    kinds = [(e["id"], e["kind"]) for e in fields["events"]]
    assert kinds == [("c1", "comment"), ("a9.0", "reopen"), ("a9.1", "assign")]
    assert fields["events"][2]["detail"] == {"assignee_id": "ag_1"}


def test_truncated_zendesk_export_fails_with_path_and_reason(tmp_path):
    path = tmp_path / "z.json"
    path.write_text('{"tickets": [{"id": 1, "created_at": "2026-01-01T00:00:00Z"}, {"id": 2, ')
    with pytest.raises(SourceError) as info:
        records(path, Format.zendesk)
    assert str(path) in str(info.value) and "invalid JSON after ticket 1" in str(info.value)


def test_json_without_tickets_array_is_refused(tmp_path):
    path = tmp_path / "z.json"
    path.write_text('{"users": [1, 2, 3]}')
    with pytest.raises(SourceError, match='no "tickets" array'):
        records(path, Format.zendesk)


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


def test_integer_beyond_64_bits_fails_the_zendesk_file_with_a_reason(tmp_path):
    path = tmp_path / "z.json"
    path.write_text('{"tickets": [{"id": 99999999999999999999}]}')
    with pytest.raises(SourceError, match="integer overflow"):
        records(path, Format.zendesk)


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
