"""Nightly DAG benchmark: the whole `nightly` flow over 100k demo tickets (Zendesk export with
events + help center) on an empty home, then the same run again with no new data.

Each run is a fresh process (`supportflow`'s own Python, Prefect without a server). The step
times come from Prefect's own task-run records. No model holds a rollout phase in this home, so
scoring is skipped here: `make bench-scoring` measures it.

    python -m benchmarks.bench_nightly [--tickets 100000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import subprocess
import sys
import time

from benchmarks.common import DATA, write_result

CHILD = """
import sys
from pathlib import Path
from supportflow.settings import Settings
Settings().apply_environment()  # Prefect's home under SUPPORTFLOW_HOME, offline switches
from flows.ingest_tickets import IngestParams
from flows.nightly import NightlyParams, nightly
from flows.reindex_knowledge import ReindexParams
data = Path(sys.argv[1])
nightly(NightlyParams(ingest=IngestParams(paths=[data / "zendesk"]),
                      knowledge=ReindexParams(path=data / "kb")))
"""


def data_folder(tickets: int):
    from supportflow.demo.write import write_demo

    folder = DATA / f"tickets_{tickets}"
    if not (folder / "zendesk").exists():
        write_demo(folder, tickets=tickets, days=365, seed=7, workers=2)
    return folder


def run_once(folder, home) -> tuple[float, dict[str, float]]:
    env = {**os.environ, "SUPPORTFLOW_HOME": str(home), "SUPPORTFLOW_PII_SALT": "bench"}
    for inherited in ("SUPPORTFLOW_WAREHOUSE_PATH", "PREFECT_HOME", "PREFECT_API_URL"):
        env.pop(inherited, None)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(folder)], env=env, capture_output=True, text=True
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"nightly failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    return round(seconds, 1), step_seconds(home)


def step_seconds(home) -> dict[str, float]:
    """Seconds per task of the latest nightly flow run, from Prefect's database."""
    con = sqlite3.connect(home / "prefect" / "prefect.db")
    try:
        rows = con.execute(
            """
            SELECT t.name, (julianday(t.end_time) - julianday(t.start_time)) * 86400
            FROM task_run t
            WHERE t.start_time >= (SELECT max(fr.start_time) FROM flow_run fr
                                   JOIN flow f ON f.id = fr.flow_id WHERE f.name = 'nightly')
            ORDER BY t.start_time
            """
        ).fetchall()
    finally:
        con.close()
    return {name.rsplit("-", 1)[0]: round(s, 1) for name, s in rows if s is not None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    args = parser.parse_args()
    folder = data_folder(args.tickets)
    home = DATA / f"nightly_home_{args.tickets}"
    shutil.rmtree(home, ignore_errors=True)
    first, first_steps = run_once(folder, home)
    rerun, rerun_steps = run_once(folder, home)
    label = f"{args.tickets // 1000}k"
    figures = {f"nightly_{label}_s": first, "nightly_rerun_s": rerun}
    write_result(
        "nightly",
        {"tickets": args.tickets, "process": "fresh per run", "threads": 2, "scoring": "skipped"},
        {**figures, "steps_first_s": first_steps, "steps_rerun_s": rerun_steps},
        {"nightly_rerun_s": ["<=", round(first / 5, 1)]},  # a re-run only checks: ≤ a fifth
    )


if __name__ == "__main__":
    main()
