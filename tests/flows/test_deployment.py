"""The checked-in prefect.yaml, for real: a Prefect server on a free local port, a process work
pool, `prefect deploy` of the build-metrics deployment, a flow run picked up by a worker and
completed (dbt builds the metrics layer on an empty, migrated warehouse)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
PREFECT = str(Path(sys.executable).with_name("prefect"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api(url: str, path: str, body: dict | None = None):
    request = urllib.request.Request(
        url + path,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json"},
        method="POST" if body is not None else "GET",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or "null")


@pytest.fixture
def server(tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}/api"
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_API_URL": url,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_UI_ENABLED": "false",
        "SUPPORTFLOW_HOME": str(tmp_path / "home"),
        "SUPPORTFLOW_PII_SALT": "test-salt",
        "SUPPORTFLOW_REPO": str(REPO),
        "SUPPORTFLOW_EXPORTS": str(tmp_path / "exports"),
        "SUPPORTFLOW_KB": str(tmp_path / "kb"),
    }
    env.pop("SUPPORTFLOW_WAREHOUSE_PATH", None)
    log = open(tmp_path / "server.log", "w")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(
        [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if api(url, "/health"):
                    break
            except OSError:
                time.sleep(1)
        else:
            pytest.fail("Prefect server did not start: " + (tmp_path / "server.log").read_text())
        yield url, env
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def run(env, *args, timeout=300) -> str:
    done = subprocess.run(
        [PREFECT, *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"prefect {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_a_deployment_runs_through_a_worker_to_completion(server):
    url, env = server
    run(env, "work-pool", "create", "supportflow", "--type", "process")
    run(env, "work-queue", "create", "warehouse-writers", "--pool", "supportflow", "--limit", "1")
    run(env, "--no-prompt", "deploy", "--name", "build-metrics")
    deployment = api(url, "/deployments/name/build-metrics/build-metrics")
    queue = api(url, "/work_pools/supportflow/queues/warehouse-writers")
    assert deployment["work_queue_name"] == "warehouse-writers"
    assert queue["concurrency_limit"] == 1, "writers must wait for each other (one DuckDB writer)"
    flow_run = api(url, f"/deployments/{deployment['id']}/create_flow_run", {})
    run(env, "worker", "start", "--pool", "supportflow", "--run-once", timeout=600)
    state = api(url, f"/flow_runs/{flow_run['id']}")["state"]
    logs = api(url, "/logs/filter", {"logs": {"flow_run_id": {"any_": [flow_run["id"]]}}})
    assert state["type"] == "COMPLETED", "\n".join(entry["message"] for entry in logs)
