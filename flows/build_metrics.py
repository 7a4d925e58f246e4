"""Flow: build the dbt project (staging → intermediate → marts) and run its tests."""

from __future__ import annotations

from prefect import flow, task

from flows.retry import IO_TASK
from supportflow.dbt_runner import DbtRunSummary, build
from supportflow.settings import Settings


@task(**IO_TASK)
def dbt_build(select: str | None = None, force: bool = False) -> DbtRunSummary:
    """``dbt build`` on the warehouse, skipped when nothing it reads changed since the last one
    (unless ``force``); a failed model or test raises ``DbtBuildError``."""
    return build(Settings(), select, force=force)


@flow(name="build-metrics")
def build_metrics(select: str | None = None, force: bool = False) -> DbtRunSummary:
    """``dbt build``; any failed model or test fails the flow (never hidden). Up-to-date marts
    are kept (``DbtRunSummary.up_to_date``) unless ``force``."""
    return dbt_build(select, force)
