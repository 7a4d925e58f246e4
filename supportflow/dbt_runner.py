"""Run dbt in-process against the warehouse; failures raise with the failing nodes named.

dbt must not share the DuckDB file with an open writer in another process, so callers close
their connections before building (see ARCHITECTURE §3).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

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
    up_to_date: bool = False  # nothing a build reads changed since ``built_at``: not rebuilt
    built_at: str | None = None  # UTC, ISO 8601, of the build these marts come from


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


def describe(summary: DbtRunSummary) -> str:
    """One line for a person: what the build did, or that the marts were already current."""
    if summary.up_to_date:
        return (
            f"dbt build: up to date (nothing it reads changed since {summary.built_at}; "
            f"{summary.passed} passed then); --force rebuilds"
        )
    return f"dbt build: {summary.passed} passed, {summary.failed} failed, {summary.skipped} skipped"


def project_vars(knowledge_config: Path | None = None) -> dict:
    """The dbt vars that restate a Python fact, from its one definition: the label fields
    (``models.triage.config.LABEL_FIELDS``) and the KB staleness threshold (knowledge config
    ``audit.stale_after_days``). ``dbt_project.yml`` holds the same values as the fallback for a
    hand-run dbt; a unit test pins them together."""
    from models.triage.config import LABEL_FIELDS
    from supportflow.knowledge.config import load_knowledge_config

    audit = load_knowledge_config(knowledge_config).audit
    return {"label_fields": list(LABEL_FIELDS), "stale_after_days": audit.stale_after_days}


def build(
    settings: Settings,
    select: str | None = None,
    knowledge_config: Path | None = None,
    *,
    force: bool = False,
) -> DbtRunSummary:
    """``dbt build`` (models and data tests; ``select`` a node selection such as ``staging``)
    on a migrated warehouse, with ``project_vars``; raises ``DbtBuildError`` when any model or
    test fails.

    When nothing the build reads changed since the last successful build of the same command
    (same ``select``; ``dbt_state.fingerprint``: source rows, project files, vars, UTC date,
    built relations), the build is skipped and the summary says ``up_to_date`` with the last
    build's results; ``force`` builds regardless."""
    from datetime import UTC, datetime

    from supportflow import dbt_state
    from supportflow.warehouse import connect

    with connect(settings):  # the sources must exist: a fresh warehouse gets its migrations
        pass
    selection = ["--select", select] if select else []
    dbt_vars = json.dumps(project_vars(knowledge_config))
    command = ["build", *selection, "--vars", dbt_vars]
    last = dbt_state.read_last_build(settings, command)
    before = dbt_state.fingerprint(settings, command)
    unchanged = last is not None and (last.inputs, last.outputs) == (before.inputs, before.outputs)
    if unchanged and not force:
        return DbtRunSummary(command, last.passed, 0, last.skipped, last.nodes, True, last.built_at)
    dbt_state.forget_build(settings, command)  # an interrupted build leaves no record
    try:
        summary = run_dbt(command, settings)
    except BaseException:
        dbt_state.forget_build(settings)  # a failed build may leave any relation half-built
        raise
    summary.built_at = datetime.now(UTC).isoformat(timespec="seconds")
    after = dbt_state.fingerprint(settings, command)
    dbt_state.record_build(
        settings,
        command,
        dbt_state.LastBuild(
            before.inputs, after.outputs, summary.built_at, summary.passed, summary.skipped,
            summary.nodes,
        ),
    )  # fmt: skip
    return summary
