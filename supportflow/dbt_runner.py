"""Run dbt in-process against the warehouse; failures raise with the failing nodes named.

dbt must not share the DuckDB file with an open writer in another process, so callers close
their connections before building (see ARCHITECTURE §3).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from supportflow.settings import Settings


class DbtBuildError(RuntimeError):
    """dbt reported failed models or tests."""


@dataclass
class DbtRunSummary:
    command: list[str]
    passed: int
    failed: int
    skipped: int
    nodes: dict[str, str]


def dbt_args(settings: Settings, command: list[str]) -> list[str]:
    home = settings.home.resolve()
    project = str(settings.dbt_project_dir.resolve())
    return [
        *command,
        "--project-dir",
        project,
        "--profiles-dir",
        project,
        "--target-path",
        str(home / "dbt" / "target"),
        "--log-path",
        str(home / "dbt" / "logs"),
        "--quiet",
    ]


def run_dbt(command: list[str], settings: Settings | None = None) -> DbtRunSummary:
    """Invoke ``dbt <command>`` (e.g. ``["build"]``) and summarise; raise on any failure."""
    from dbt.cli.main import dbtRunner

    settings = settings or Settings()
    settings.apply_environment()
    os.environ["SUPPORTFLOW_WAREHOUSE_PATH"] = str(settings.warehouse)
    os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "False"
    args = dbt_args(settings, command)
    result = dbtRunner().invoke(args)
    nodes: dict[str, str] = {}
    for node in getattr(result.result, "results", None) or []:
        nodes[node.node.unique_id] = str(node.status)
    failed = {k: v for k, v in nodes.items() if v in {"error", "fail", "runtime error"}}
    summary = DbtRunSummary(
        command=command,
        passed=sum(v in {"success", "pass"} for v in nodes.values()),
        failed=len(failed),
        skipped=sum(v == "skipped" for v in nodes.values()),
        nodes=nodes,
    )
    if not result.success:
        detail = "; ".join(f"{k} ({v})" for k, v in failed.items()) or str(result.exception)
        raise DbtBuildError(f"dbt {' '.join(command)} failed: {detail}")
    return summary


def build(settings: Settings, select: str | None = None) -> DbtRunSummary:
    """``dbt build`` (models and data tests; ``select`` a node selection such as ``staging``)
    on a migrated warehouse; raises ``DbtBuildError`` when any model or test fails."""
    from supportflow.warehouse import connect

    with connect(settings):  # the sources must exist: a fresh warehouse gets its migrations
        pass
    return run_dbt(["build", *(["--select", select] if select else [])], settings)
