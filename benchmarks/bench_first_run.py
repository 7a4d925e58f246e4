"""The first ten minutes: the demo end to end, and a small ingest's overhead, as a new user runs
them (the installed ``supportflow`` command in a fresh ``SUPPORTFLOW_HOME``, no Prefect server
configured, output to a pipe as in a log).

demo           ``supportflow demo run`` with its defaults (venv present; what ``make demo`` runs
               after setup): ``demo_s``, and the step times it prints
small_ingest   200 demo tickets (Zendesk export) ingested by ``supportflow ingest``, end to
               end (process start and the temporary Prefect API included):
               ``small_ingest_s`` in a new home on a machine that ran supportflow before,
               ``small_ingest_first_home_s`` the first home on a machine (Prefect migrates
               its database), ``small_ingest_configured_api_s`` with a running Prefect
               server configured (``PREFECT_API_URL``)

Both also count the output lines that look like a library's warning or progress bar
(``noise_lines``: "Warning", "Loading weights", "Downloading artifacts", "it/s]").

  python -m benchmarks.bench_first_run [--only demo,small_ingest]

Writes benchmarks/results/first_run.json (figures of the parts run; a part not run keeps its
previous figures).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import RESULTS, write_result

PARTS = ("demo", "small_ingest")
NOISE = re.compile(r"Warning|Loading weights|Downloading artifacts|Writing model shards|it/s\]")
CLI = [sys.executable, "-m", "supportflow"]


def run(args: list[str], home: Path, **env_extra: str) -> tuple[float, str]:
    """(seconds, stdout + stderr) of one command in a fresh home; raises on a non-zero exit."""
    env = {**os.environ, "SUPPORTFLOW_HOME": str(home)}
    env.pop("PREFECT_API_URL", None)
    env.update(env_extra)
    started = time.perf_counter()
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    output = done.stdout + done.stderr
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args[2:])} exited {done.returncode}:\n{output[-2000:]}")
    return round(seconds, 1), output


def noise(output: str) -> int:
    return sum(bool(NOISE.search(line)) for line in output.splitlines())


def small_ingest(tmp: Path) -> dict:
    """Three ways a 200-ticket ingest meets Prefect: the first home on a machine (empty cache:
    Prefect's migrations run), a new home on a machine that ran supportflow before (the
    migrated database template is copied), and a configured running server (``PREFECT_API_URL``,
    nothing to start)."""
    from supportflow.prefect_api import launch, wait_healthy

    data = tmp / "data"
    run([*CLI, "demo", "generate", "--out", str(data), "--tickets", "200", "--days", "14",
         "--formats", "zendesk", "--workers", "1"], tmp / "gen-home")  # fmt: skip
    cache = str(tmp / "cache")  # an empty cache: no template yet
    cold, output = run([*CLI, "ingest", str(data / "zendesk")], tmp / "home1", XDG_CACHE_HOME=cache)
    warm, output = run([*CLI, "ingest", str(data / "zendesk")], tmp / "home2", XDG_CACHE_HOME=cache)
    os.environ["PREFECT_HOME"] = str(tmp / "server-home")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")  # offline: no heartbeat
    server = launch()
    try:
        url = wait_healthy(server, 120)
        configured, _ = run([*CLI, "ingest", str(data / "zendesk")], tmp / "home3",
                            PREFECT_API_URL=url)  # fmt: skip
    finally:
        server.proc.terminate()
    return {
        "small_ingest_s": warm,
        "small_ingest_first_home_s": cold,
        "small_ingest_configured_api_s": configured,
        "small_ingest_noise_lines": noise(output),
    }


def demo(tmp: Path) -> dict:
    seconds, output = run([*CLI, "demo", "run"], tmp / "demo-home")
    (RESULTS / "first_run_demo_output.txt").write_text(output)
    return {"demo_s": seconds, "demo_noise_lines": noise(output)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(PARTS), help=f"comma-separated: {PARTS}")
    args = parser.parse_args()
    only = set(args.only.split(","))
    if only - set(PARTS):
        parser.error(f"unknown part(s) {sorted(only - set(PARTS))}; known: {', '.join(PARTS)}")
    previous = RESULTS / "first_run.json"
    figures = json.loads(previous.read_text())["figures"] if previous.exists() else {}
    tmp = Path(tempfile.mkdtemp(prefix="bench-first-run-"))
    try:
        if "small_ingest" in only:
            figures |= small_ingest(tmp)
        if "demo" in only:
            figures |= demo(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    targets = {}
    if "demo_s" in figures:
        targets["demo_s"] = ["<=", 300]
    if "small_ingest_s" in figures:
        targets["small_ingest_s"] = ["<=", 15]
    write_result("first_run", {"parts_run": sorted(only), "threads": 2}, figures, targets)


if __name__ == "__main__":
    main()
