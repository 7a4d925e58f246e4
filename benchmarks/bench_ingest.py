"""Ingest benchmark: generated tickets in Zendesk's account JSON export shape (one ticket per
line, comments and audits embedded, plus users.json and ticket_fields.json) end to end vs
DuckDB's raw ``read_json`` of the same file.

Each ingest runs in a fresh process so its peak RSS is its own. Usage:
    python -m benchmarks.bench_ingest [--tickets 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from benchmarks.common import DATA, write_result
from supportflow.demo.write import write_demo

CHILD = """
import json, resource, sys, time
from pathlib import Path
from supportflow.ingest.runner import ingest_paths
started = time.perf_counter()
outcome = ingest_paths([Path(sys.argv[1])])
seconds = time.perf_counter() - started
report = outcome.reports[0]
rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "rss_mb": rss_mb, "events": report.events_loaded,
                  "records_in": report.records_in, "loaded": report.records_loaded,
                  "skipped": report.skipped_as_duplicate, "balanced": report.balanced}))
"""


def demo_data(tickets: int) -> tuple[Path, float | None]:
    """The generated data set, reused when already there; returns (folder, seconds to make it)."""
    out = DATA / f"zendesk_{tickets}"
    manifest = out / "manifest.json"
    if manifest.exists() and json.loads(manifest.read_text())["params"]["tickets"] == tickets:
        return out, json.loads(manifest.read_text()).get("seconds")
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    write_demo(out, tickets=tickets, days=365, seed=1, workers=2, formats=frozenset({"zendesk"}))
    return out, time.perf_counter() - started


def ingest_in_child(path: Path, home: Path) -> dict:
    env = {**os.environ, "SUPPORTFLOW_HOME": str(home)}
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(path)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def duckdb_raw_seconds(path: Path, workdir: Path) -> float:
    con = duckdb.connect(str(workdir / "raw.duckdb"))
    con.execute("SET threads = 2")
    started = time.perf_counter()
    con.execute(
        f"CREATE TABLE raw AS SELECT * FROM read_json('{path}', format = 'newline_delimited')"
    )
    seconds = time.perf_counter() - started
    con.close()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=1_000_000)
    args = parser.parse_args()
    data, generate_s = demo_data(args.tickets)
    folder = data / "zendesk"
    path = folder / "tickets.json"
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        work = Path(tmp)
        first = ingest_in_child(folder, work / "home")
        again = ingest_in_child(folder, work / "home")
        raw_s = duckdb_raw_seconds(path, work)
    assert first["balanced"] and first["loaded"] == args.tickets, first
    assert again["skipped"], again
    figures = {
        "ingest_tickets_per_s": round(args.tickets / first["seconds"], 1),
        "ingest_events_per_s": round(first["events"] / first["seconds"], 1),
        "events_loaded": first["events"],
        "ingest_vs_duckdb_raw_ratio": round(first["seconds"] / raw_s, 2),
        "ingest_peak_rss_mb": round(first["rss_mb"], 1),
        "reingest_fraction": round(again["seconds"] / first["seconds"], 4),
        "ingest_s": round(first["seconds"], 2),
        "duckdb_raw_read_json_s": round(raw_s, 2),
        "generate_zendesk_export_s": round(generate_s, 1) if generate_s else None,
    }
    targets = {
        "ingest_tickets_per_s": (">=", 20_000),
        "ingest_vs_duckdb_raw_ratio": ("<=", 5),
        "ingest_peak_rss_mb": ("<=", 2048),
        "reingest_fraction": ("<=", 0.05),
    }
    write_result(
        "ingest",
        {
            "tickets": args.tickets,
            "format": "zendesk account export (NDJSON) + users + ticket_fields",
            "file_mb": round(path.stat().st_size / 2**20, 1),
        },
        figures,
        targets,
    )


if __name__ == "__main__":
    main()
