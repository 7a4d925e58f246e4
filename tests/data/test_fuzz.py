"""Property-based fuzzing: whatever bytes a file holds, parsers never crash and counts add up."""

import csv
import io
import json

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from supportflow.ingest.load import ingest_file
from supportflow.ingest.sources import Format
from supportflow.settings import Settings
from supportflow.warehouse import apply_migrations

# Integers stay within 64 bits: the streaming JSON parser (yajl) refuses larger ones, and a file
# holding one fails as a whole with that reason (tested in test_sources).
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**62), 2**62),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
)
timestamps = st.one_of(
    st.sampled_from(
        ["2026-03-01T10:00:00Z", "2026-03-02 09:00:00+05:30", "2026-02-30T00:00:00Z", "", "soon"]
    ),
    scalars,
)
record = st.fixed_dictionaries(
    {"id": st.one_of(st.integers(0, 20), st.text(max_size=5), st.none())},
    optional={
        "created_at": timestamps,
        "updated_at": timestamps,
        "body": scalars,
        "subject": scalars,
        "priority": st.sampled_from(["low", "HIGH", "asap", 3]),
        "csat": scalars,
        "tags": st.one_of(scalars, st.lists(st.text(max_size=5))),
        "events": st.lists(
            st.dictionaries(st.sampled_from(["id", "created_at", "kind"]), timestamps), max_size=2
        ),
    },
)
lines = st.lists(
    st.one_of(record.map(lambda r: json.dumps(r).encode()), st.binary(max_size=40)), max_size=25
)
FUZZ = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _ingest(tmp_path, name: str, data: bytes, fmt: Format):
    path = tmp_path / name
    path.write_bytes(data)
    con = duckdb.connect()
    apply_migrations(con)
    report = ingest_file(con, path, fmt=fmt, settings=Settings(pii_salt="s", home=tmp_path))
    landed = con.execute("SELECT count(*) FROM landing.tickets").fetchone()[0]
    quarantined = con.execute("SELECT count(*) FROM landing.quarantine").fetchone()[0]
    con.close()
    return report, landed, quarantined


@FUZZ
@given(body=lines)
def test_jsonl_counts_always_add_up(tmp_path, body):
    data = b"\n".join(body)
    report, landed, quarantined = _ingest(tmp_path, "f.jsonl", data, Format.jsonl)
    non_blank = sum(1 for line in data.split(b"\n") if line.strip())
    assert report.balanced and report.records_in == non_blank
    assert landed == report.records_loaded and quarantined == report.records_quarantined


@FUZZ
@given(rows=st.lists(st.lists(st.text(max_size=12), min_size=1, max_size=5), max_size=20))
def test_csv_counts_always_add_up(tmp_path, rows):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["id", "created_at", "body", "priority"])
    writer.writerows(rows)
    report, landed, quarantined = _ingest(tmp_path, "f.csv", buffer.getvalue().encode(), Format.csv)
    assert report.balanced and report.records_in == len(rows)
    assert landed == report.records_loaded and quarantined == report.records_quarantined


@FUZZ
@given(tickets=st.lists(st.one_of(record, scalars), max_size=15))
def test_zendesk_counts_always_add_up(tmp_path, tickets):
    data = json.dumps({"tickets": tickets}).encode()
    report, landed, quarantined = _ingest(tmp_path, "f.json", data, Format.zendesk)
    assert report.balanced and report.records_in == len(tickets)
    assert landed == report.records_loaded and quarantined == report.records_quarantined
