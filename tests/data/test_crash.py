"""Kill an ingest mid-file, run it again: no duplicates, nothing lost, one batch row."""

import os
import signal
import subprocess
import sys
import time

import pytest

from supportflow.demo.write import write_demo
from supportflow.settings import Settings
from supportflow.warehouse import connect

SCRIPT = """
import logging, sys
from pathlib import Path
from supportflow.ingest.runner import ingest_paths
logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(message)s", force=True)
ingest_paths([Path(sys.argv[1])])
print("DONE", flush=True)
"""


def run_ingest(path, env, kill_after_progress: bool) -> str:
    proc = subprocess.Popen(
        [sys.executable, "-u", "-c", SCRIPT, str(path)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    seen = []
    deadline = time.monotonic() + 240
    for line in proc.stdout:
        seen.append(line)
        if kill_after_progress and "records read" in line:
            os.kill(proc.pid, signal.SIGKILL)
            break
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("ingest did not finish in time:\n" + "".join(seen[-20:]))
    proc.wait(timeout=60)
    return "".join(seen)


def test_killed_ingest_reruns_to_the_same_state(tmp_path, home):
    data = tmp_path / "data"
    write_demo(data, tickets=30_000, days=30, seed=5, formats=frozenset({"jsonl"}), workers=1)
    env = {**os.environ, "SUPPORTFLOW_INGEST_CHUNK_ROWS": "2000"}

    killed = run_ingest(data / "tickets.jsonl", env, kill_after_progress=True)
    assert "DONE" not in killed, "the ingest finished before it could be killed"

    finished = run_ingest(data / "tickets.jsonl", env, kill_after_progress=False)
    assert "DONE" in finished, finished[-2000:]

    with connect(Settings()) as con:
        tickets, distinct = con.execute(
            "SELECT count(*), count(DISTINCT ticket_id) FROM landing.tickets"
        ).fetchone()
        batches = con.execute(
            "SELECT records_in, records_loaded FROM landing.ingest_batches"
        ).fetchall()
    assert tickets == distinct == 30_000
    assert batches == [(30_000, 30_000)]
