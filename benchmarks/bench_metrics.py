"""Metrics benchmark: `dbt build` (every model, data test and unit test) over 100k and 1M
demo tickets with their events, each in a fresh process, and the growth between the two.

It reuses the warehouses the escalation benchmark builds under benchmarks/data/ (building them
first when missing, which takes minutes); their ingest is not timed here.

    python -m benchmarks.bench_metrics
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

from benchmarks.common import DATA, write_result

CHILD = """
import sys
from pathlib import Path
from supportflow.dbt_runner import run_dbt
from supportflow.settings import Settings
s = run_dbt(["build"], Settings(warehouse_path=Path(sys.argv[1]), home=Path(sys.argv[2])))
print(s.passed, s.failed)
"""


def build_seconds(tickets: int) -> float:
    from benchmarks.bench_escalation import warehouse

    path = DATA / f"escalation_{tickets}.duckdb"
    warehouse(tickets).close()  # built once, then reused
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), str(DATA / "escalation_home")],
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"dbt build over {tickets} tickets failed:\n{done.stderr[-3000:]}")
    return round(seconds, 1)


def main() -> None:
    small, large = 100_000, 1_000_000
    figures = {"dbt_build_100k_s": build_seconds(small), "dbt_build_1m_s": build_seconds(large)}
    figures["dbt_build_growth_1m_over_100k"] = round(
        figures["dbt_build_1m_s"] / figures["dbt_build_100k_s"], 2
    )
    result = write_result(
        "metrics",
        {"tickets": [small, large], "process": "fresh per build", "threads": 2},
        figures,
        {"dbt_build_growth_1m_over_100k": ["<=", 12.0]},  # near linear: 10× data, ≤ 12× time
    )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
