"""Property: bounded work on any input. Every reader (Zendesk API page, Zendesk account export
NDJSON, generic JSONL, CSV) gets files mixing good records with records nested past orjson's
limits (300 to 3,000 levels), oversized strings and arrays, wrong types in optional fields and
bytes that are not UTF-8. The run never crashes; a bad record is quarantined with its reason and
its id; a bad optional field never rejects its record; the good records of the same file and of
the other files of the batch load; every count adds up.

Sizes are real (records over ``bounds.LARGE_RECORD_BYTES`` take the bounded path), so examples
stay few (``max_examples`` 25) and the limits small where a setting allows it.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from supportflow.ingest.bounds import KEEP_CHARS, MAX_TAGS
from supportflow.ingest.runner import ingest_paths
from supportflow.settings import Settings
from supportflow.warehouse import connect

AT = "2026-10-20T10:00:00Z"
MAX_BODY = 200_000
MAX_RECORD = 2 << 20  # the smallest limits the settings allow that keep the examples cheap
BOUNDS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# One bad thing in a record: (kind, field, parameter).
DEPTHS = st.sampled_from([300, 1_100, 3_000])
LONG = st.sampled_from([MAX_BODY + 1, 1_100_000])  # over max_body_chars; over 1 MiB
WRONG_VALUES = ({}, [], {"a": [1, {"b": None}]}, 12.5, True, [1, "a", None])
WRONG = st.sampled_from(WRONG_VALUES)


@dataclass(frozen=True)
class Bad:
    kind: str  # deep | long | many | wrong | bytes | huge
    field: str
    param: object = None


def bads(fields_for: dict[str, list[str]]) -> st.SearchStrategy[Bad]:
    """Bad things for a format: ``fields_for`` names the fields each kind may hit."""
    return st.one_of(
        st.builds(Bad, st.just("deep"), st.sampled_from(fields_for["deep"]), DEPTHS),
        st.builds(Bad, st.just("long"), st.sampled_from(fields_for["long"]), LONG),
        st.builds(Bad, st.just("many"), st.just("tags"), st.sampled_from([1_500, 20_000])),
        st.builds(Bad, st.just("wrong"), st.sampled_from(fields_for["wrong"]), WRONG),
        st.builds(Bad, st.just("bytes"), st.just("subject")),
        st.builds(Bad, st.just("huge"), st.just("blob")),
    )


def deep_json(depth: int) -> str:
    """A value nested ``depth`` levels (json.dumps itself stops near 1,000)."""
    return (
        '{"a":' * (depth // 2)
        + "[" * (depth - depth // 2)
        + '"x"'
        + "]" * (depth - depth // 2)
        + "}" * (depth // 2)
    )


def long_text(n: int) -> str:
    return ("Bitte helfen Sie mir mit der Bestellung, é€ ok. " * (n // 48 + 1))[:n]


# ---------------------------------------------------------------------------- records as text


def zendesk_ticket(i: int) -> dict:
    return {
        "id": i,
        "created_at": AT,
        "updated_at": AT,
        "subject": f"Ticket {i}",
        "description": f"Please help with order {i}",
        "status": "open",
        "priority": "normal",
        "requester_id": 500 + i,
        "tags": ["billing"],
        "via": {"channel": "email"},
        "custom_fields": [{"id": 7, "value": "x"}],
        "comments": [{"id": i * 10, "author_id": 500 + i, "body": "hello", "created_at": AT}],
    }


def canonical_record(i: int) -> dict:
    return {
        "id": f"r{i}",
        "created_at": AT,
        "subject": f"Ticket {i}",
        "body": f"Please help with order {i}",
        "customer_id": f"c{i}",
        "tags": ["billing"],
        "events": [{"id": "e1", "created_at": AT, "kind": "comment", "body": "hello"}],
    }


def json_text(record: dict, bad: Bad | None) -> bytes:
    """``record`` as JSON with ``bad`` applied (deep values and bad bytes written as text)."""
    record = dict(record)
    if bad is not None:
        if bad.kind == "deep":
            record[bad.field] = "__DEEP__"
        elif bad.kind == "long":
            record[bad.field] = long_text(bad.param)
        elif bad.kind == "many":
            record["tags"] = [f"t{n}" for n in range(bad.param)]
        elif bad.kind == "wrong":
            record[bad.field] = bad.param
        elif bad.kind == "huge":
            record["blob"] = long_text(MAX_RECORD + 100_000)
    text = json.dumps(record, ensure_ascii=False).encode()
    if bad is not None and bad.kind == "deep":
        text = text.replace(b'"__DEEP__"', deep_json(bad.param).encode())
    if bad is not None and bad.kind == "bytes":
        text = text.replace(b'"Ticket ', b'"Ticket \xff\xfe', 1)
    return text


CSV_COLUMNS = ("id", "created_at", "subject", "body", "status", "tags", "blob")


def csv_text(rows: list[tuple[int, Bad | None]]) -> bytes:
    """A CSV file of ``rows`` (record number, bad thing or None); bad bytes written raw."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for i, bad in rows:
        row = {"id": f"r{i}", "created_at": AT, "subject": f"Ticket {i}", "status": "open"}
        row |= {"body": f"Please help with order {i}", "tags": "billing", "blob": ""}
        if bad is not None and bad.kind == "long":
            row[bad.field] = long_text(bad.param)
        elif bad is not None and bad.kind == "many":
            row["tags"] = ",".join(f"t{n}" for n in range(bad.param))
        elif bad is not None and bad.kind == "wrong":
            row[bad.field] = json.dumps(bad.param)
        elif bad is not None and bad.kind == "huge":
            row["blob"] = long_text(MAX_RECORD + 100_000)
        elif bad is not None and bad.kind == "bytes":
            row["subject"] = f"Ticket {i} \udcff\udcfe"  # written back as the bytes ff fe
        writer.writerow([row[k] for k in CSV_COLUMNS])
    return buffer.getvalue().encode(errors="surrogateescape")


# ------------------------------------------------------------------------------- expectations


def expected_reason(fmt: str, bad: Bad | None) -> str | None:
    """The start of the quarantine reason ``bad`` must give, or None: the record loads."""
    if bad is None:
        return None
    if bad.kind == "huge":
        return "record: "
    if bad.kind == "long" and bad.field in ("subject", "body", "description"):
        field = "body" if bad.field == "description" else bad.field
        return f"{field}: {bad.param:,} characters is over the limit of {MAX_BODY:,}"
    if bad.kind == "deep" and fmt in ("page", "export"):  # orjson cannot write it back
        return "unexpected structure: nested too deeply"
    if bad.kind == "bytes":
        return {"export": "malformed JSON", "jsonl": "not valid UTF-8", "csv": "not valid"}[fmt]
    return None  # nested values, long or wrong optional fields, many tags: the record loads


FORMATS = {
    # format: (file name, record builder, fields the bad kinds hit, external id)
    "page": (
        "page.json",
        zendesk_ticket,
        {
            "deep": ["via", "custom_fields", "tags", "comments", "satisfaction_rating", "extra"],
            "long": ["description", "subject", "status", "priority", "extra"],
            "wrong": [
                "status", "priority", "tags", "via", "custom_fields", "satisfaction_rating",
                "comments", "audits", "requester_id", "assignee_id", "updated_at",
            ],
        },
        str,
    ),
    "jsonl": (
        "records.jsonl",
        canonical_record,
        {
            "deep": ["body", "tags", "events", "status", "extra"],
            "long": ["body", "subject", "status", "category", "extra"],
            "wrong": [
                "status", "priority", "tags", "channel", "csat", "events", "customer_id",
                "category", "updated_at",
            ],
        },
        lambda i: f"r{i}",
    ),
    "csv": (
        "records.csv",
        None,
        {
            "deep": ["status"],
            "long": ["body", "subject", "status", "blob"],
            "wrong": ["status", "tags"],
        },
        lambda i: f"r{i}",
    ),
}  # fmt: skip
FORMATS["export"] = ("tickets.json", *FORMATS["page"][1:])


def write_file(folder: Path, fmt: str, rows: list[tuple[int, Bad | None]], name: str) -> Path:
    path = folder / name
    if fmt == "csv":
        path.write_bytes(csv_text(rows))
        return path
    build = FORMATS[fmt][1]
    texts = [json_text(build(i), bad) for i, bad in rows]
    if fmt == "page":
        path.write_bytes(b'{"tickets": [' + b",".join(texts) + b'], "end_of_stream": true}')
    else:
        path.write_bytes(b"\n".join(texts) + b"\n")
    return path


@st.composite
def batch(draw, fmt: str) -> list[tuple[int, Bad | None]]:
    """Records of one file: two good ones and up to six others in any order, ids 1…n."""
    kinds = bads(FORMATS[fmt][2])
    if fmt == "csv":  # a CSV cell is text: nothing nests
        kinds = kinds.filter(lambda b: b.kind != "deep")
    if fmt == "page":  # one bad byte makes a whole JSON document unreadable (tested apart)
        kinds = kinds.filter(lambda b: b.kind != "bytes")
    items = draw(st.lists(st.one_of(st.none(), kinds), min_size=1, max_size=6))
    items = draw(st.permutations([None, *items, None]))  # a bad record may come first
    return [(n, bad) for n, bad in enumerate(items, start=1)]


def run(files: list[Path], home: Path):
    """Ingest ``files`` as one batch; returns the outcome, the external ids that landed and the
    quarantine rows by (file, record number)."""
    s = Settings(home=home, pii_salt="s", max_body_chars=MAX_BODY, max_record_chars=MAX_RECORD)
    outcome = ingest_paths(files, settings=s)
    with connect(s) as con:
        tickets = {r[0] for r in con.execute("SELECT external_id FROM landing.tickets").fetchall()}
        rows = con.execute("SELECT file, record_no, record, reason FROM landing.quarantine")
        quarantine = {(f, n): (record, reason) for f, n, record, reason in rows.fetchall()}
    return outcome, tickets, quarantine


def check(fmt: str, rows: list[tuple[int, Bad | None]]) -> None:
    """Ingest ``rows`` beside a file of good records only; assert the properties above."""
    name, _, _, external = FORMATS[fmt]
    with tempfile.TemporaryDirectory(prefix="bounds-") as tmp:
        folder = Path(tmp)
        (folder / "a").mkdir()
        (folder / "b").mkdir()
        mixed = write_file(folder / "a", fmt, rows, name)
        good_ids = range(100, 103)
        good = write_file(folder / "b", fmt, [(i, None) for i in good_ids], name)
        outcome, tickets, quarantine = run([mixed, good], folder / "home")
    assert not outcome.failures, outcome.failures
    first, second = outcome.reports
    assert first.balanced and second.balanced
    assert first.records_in == len(rows)
    assert second.records_loaded == len(good_ids)  # the other file of the batch loads whole
    assert {external(i) for i in good_ids} <= tickets
    loaded = quarantined = 0
    for i, bad in rows:
        reason = expected_reason(fmt, bad)
        row = quarantine.get((str(mixed.resolve()), i))
        if fmt == "csv" and bad is not None and bad.kind == "bytes" and row is None:
            reason = None  # the file was read as Windows-1252: the row loads
        if reason is None:
            assert external(i) in tickets and row is None, (i, bad, row)
            loaded += 1
            continue
        assert row is not None and external(i) not in tickets, (i, bad)
        record, why = row
        assert why.startswith(reason), (bad, why)
        assert str(external(i)) in record[:KEEP_CHARS], (bad, record[:200])  # its id
        quarantined += 1
    assert (first.records_loaded, first.records_quarantined) == (loaded, quarantined)
    assert len(tickets) == loaded + len(good_ids)
    assert len(quarantine) == quarantined


def every_bad(fmt: str) -> list[list[tuple[int, Bad | None]]]:
    """Explicit examples: each wrong value in each field, each depth in each field, each long
    field at both sizes with many tags, bad bytes and a huge record (one file per group, good
    records around), and a file whose first record is the bad one (bytes, else the huge one)."""
    fields = FORMATS[fmt][2]
    wrong = [Bad("wrong", f, v) for f in fields["wrong"] for v in WRONG_VALUES]
    deep = [Bad("deep", f, d) for f in fields["deep"] for d in (300, 1_100, 3_000)]
    rest = [Bad("long", f, n) for f in fields["long"] for n in (MAX_BODY + 1, 1_100_000)]
    rest += [Bad("many", "tags", 1_500), Bad("huge", "blob")]
    if fmt != "page":
        rest.append(Bad("bytes", "subject"))
    groups = [[None, *g, None] for g in ([wrong, rest] if fmt == "csv" else [wrong, deep, rest])]
    groups.append([rest[-1], None, None])
    return [list(enumerate(g, start=1)) for g in groups]


@pytest.mark.parametrize("fmt", ["page", "export", "jsonl", "csv"])
def test_every_reader_survives_bad_records_and_counts_add_up(fmt):
    @BOUNDS
    @given(rows=batch(fmt))
    def prop(rows):
        check(fmt, rows)

    for rows in every_bad(fmt):
        prop = example(rows=rows)(prop)
    prop()


# ------------------------------------------------------------------- what the report says


def ingest_one(tmp_path: Path, name: str, data: bytes, **limits):
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / name
    path.write_bytes(data)
    s = Settings(home=tmp_path / "home", pii_salt="s", **limits)
    outcome = ingest_paths([path], settings=s)
    assert not outcome.failures, outcome.failures
    return outcome.reports[0], s


def test_tags_past_the_cap_are_cut_and_the_cut_is_counted(tmp_path):
    record = canonical_record(1) | {"tags": [f"t{n}" for n in range(MAX_TAGS + 500)]}
    report, s = ingest_one(tmp_path, "t.jsonl", json.dumps(record).encode() + b"\n")
    assert report.records_loaded == 1 and report.notes["cut_to_limit"] == {"tags": 1}
    with connect(s) as con:
        (tags,) = con.execute("SELECT tags FROM landing.tickets").fetchone()
    assert tags == [f"t{n}" for n in range(MAX_TAGS)]


def test_a_huge_value_in_an_optional_field_is_left_out_and_counted(tmp_path):
    record = canonical_record(1) | {"status": "x" * 1_100_000, "tags": ["a", "y" * 1_100_000]}
    report, s = ingest_one(tmp_path, "t.jsonl", json.dumps(record).encode() + b"\n")
    assert report.records_loaded == 1
    assert report.notes["cut_to_limit"] == {"status": 1, "tags.value": 1}
    with connect(s) as con:
        assert con.execute("SELECT status, tags FROM landing.tickets").fetchone() == (None, ["a"])


def test_a_quarantined_large_record_keeps_its_start_and_says_how_much(tmp_path):
    ticket = zendesk_ticket(7) | {"description": long_text(3_000_000)}
    page = json.dumps({"tickets": [ticket, zendesk_ticket(8)]}).encode()
    report, s = ingest_one(tmp_path, "page.json", page)
    assert (report.records_loaded, report.records_quarantined) == (1, 1)
    assert report.notes["cut_to_limit"] == {"quarantined_record": 1}
    with connect(s) as con:
        record, reason = con.execute("SELECT record, reason FROM landing.quarantine").fetchone()
    full = len(json.dumps(ticket, ensure_ascii=False, separators=(",", ":")))
    assert reason == (
        "body: 3,000,000 characters is over the limit of 200,000 "
        f"(the quarantine row keeps the first {KEEP_CHARS:,} of {full:,} characters)"
    )
    assert len(record) == KEEP_CHARS and record.startswith('{"id":7,')


def test_a_record_over_max_record_chars_is_quarantined_unread(tmp_path):
    line = json.dumps(canonical_record(1) | {"notes": "n" * 1_500_000}).encode()
    data = line + b"\n" + json.dumps(canonical_record(2)).encode() + b"\n"
    report, _ = ingest_one(tmp_path, "t.jsonl", data, max_record_chars=1 << 20)
    assert (report.records_loaded, report.records_quarantined) == (1, 1)
    assert report.quarantine_reasons == {"record": 1}


def test_a_large_ticket_loads_with_every_event(tmp_path):
    """3 MB of comments: staged in pieces (``bounds.event_pieces``), every one loads."""
    comments = [
        {"id": n, "author_id": 501, "body": long_text(5_000) + str(n), "created_at": AT}
        for n in range(600)
    ]
    ticket = zendesk_ticket(1) | {"comments": comments}
    page = json.dumps({"tickets": [ticket, zendesk_ticket(2)]}).encode()
    report, s = ingest_one(tmp_path, "page.json", page)
    assert (report.records_loaded, report.records_quarantined) == (2, 0)
    assert report.events_loaded == 601  # and ticket 2's one comment
    with connect(s) as con:
        (n,) = con.execute(
            "SELECT count(*) FROM landing.ticket_events WHERE ticket_id = 'zendesk:1'"
        ).fetchone()
    assert n == 600


def test_a_file_that_cannot_be_read_fails_alone_and_the_batch_goes_on(tmp_path):
    broken = tmp_path / "page.json"
    broken.write_bytes(json_text({"tickets": [zendesk_ticket(1)]}, Bad("bytes", "subject")))
    good = write_file(tmp_path, "jsonl", [(1, None), (2, None)], "records.jsonl")
    outcome, tickets, _ = run([broken, good], tmp_path / "home")
    assert [f.path for f in outcome.failures] == [broken]
    assert tickets == {"r1", "r2"} and outcome.reports[0].balanced


def test_an_export_whose_first_ticket_is_huge_or_too_deep_is_still_read(tmp_path):
    """The shape of a file comes from its first line; a first line over the 1 MB sniff or past
    orjson's depth is scanned, not refused."""
    huge = zendesk_ticket(1) | {"description": long_text(3_000_000)}
    lines = [json.dumps(huge).encode(), json.dumps(zendesk_ticket(2)).encode()]
    report, _ = ingest_one(tmp_path / "a", "tickets.json", b"\n".join(lines) + b"\n")
    assert (report.records_loaded, report.records_quarantined) == (1, 1)
    assert report.quarantine_reasons == {"body": 1}
    deep = json_text(zendesk_ticket(3), Bad("deep", "via", 3_000))
    report, _ = ingest_one(tmp_path / "b", "tickets.json", deep + b"\n" + lines[1] + b"\n")
    assert (report.records_loaded, report.records_quarantined) == (1, 1)
    assert report.quarantine_reasons == {"unexpected structure": 1}


def test_documents_over_several_lines_are_not_taken_for_one_record_per_line(tmp_path):
    """Only a damaged compact first record (``{"…``) sends the reader to the next line."""
    tickets = [zendesk_ticket(1), zendesk_ticket(2)]
    layouts = {
        "pretty.json": json.dumps({"tickets": tickets}, indent=2),
        "meta_first.json": '{"next_page": null,\n"tickets": [\n'
        + ",\n".join(json.dumps(t) for t in tickets)
        + "\n]}\n",
    }
    for name, text in layouts.items():
        report, _ = ingest_one(tmp_path / name, name, text.encode())
        assert (report.records_in, report.records_loaded) == (2, 2), name
