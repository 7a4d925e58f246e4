"""Flow: build the dbt project (staging → intermediate → marts) and run its tests."""

from __future__ import annotations

from prefect import flow, task

from flows.retry import IO_TASK
from supportflow.dbt_runner import DbtRunSummary, build
from supportflow.settings import Settings


@task(**IO_TASK)
def dbt_build(select: str | None = None) -> DbtRunSummary:
    """``dbt build`` on the warehouse; a failed model or test raises ``DbtBuildError``."""
    return build(Settings(), select)


@flow(name="build-metrics")
def build_metrics(select: str | None = None) -> DbtRunSummary:
    """``dbt build``; any failed model or test fails the flow (never hidden)."""
    return dbt_build(select)
