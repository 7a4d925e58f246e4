"""Clean exits (issue 16): a command killed with SIGKILL leaves no Prefect server behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest


def server_children(proc: psutil.Process) -> list[psutil.Process]:
    try:
        return [c for c in proc.children(recursive=True) if "uvicorn" in " ".join(c.cmdline())]
    except psutil.NoSuchProcess:
        return []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_killed_command_leaves_no_temporary_prefect_server(tmp_path: Path):
    tickets = tmp_path / "t.jsonl"
    tickets.write_text(
        json.dumps({"id": 1, "created_at": "2026-10-01T09:00:00Z", "body": "Help please"}) + "\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API_")}
    env.update(SUPPORTFLOW_HOME=str(tmp_path / "home"), PREFECT_HOME=str(tmp_path / "prefect"),
               SUPPORTFLOW_PII_SALT="s")  # fmt: skip
    cli = subprocess.Popen(
        [sys.executable, "-m", "supportflow.cli", "ingest", str(tickets)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    parent = psutil.Process(cli.pid)
    deadline = time.monotonic() + 180
    servers: list[psutil.Process] = []
    while not servers and time.monotonic() < deadline and cli.poll() is None:
        servers = server_children(parent)
        time.sleep(0.2)
    assert servers, "the command never started a temporary Prefect server"
    os.kill(cli.pid, signal.SIGKILL)
    cli.wait()
    _gone, alive = psutil.wait_procs(servers, timeout=15)
    for proc in alive:
        proc.kill()
    assert not alive, [p.cmdline() for p in alive]
