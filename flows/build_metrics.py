"""Flow: build the dbt project (staging → intermediate → marts) and run its tests."""

from __future__ import annotations

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from supportflow.dbt_runner import run_dbt
from supportflow.settings import Settings
from supportflow.warehouse import connect


@task(cache_policy=NO_CACHE)
def dbt_build(select: str | None = None) -> dict:
    settings = Settings()
    with connect(settings):  # the sources must exist: a fresh warehouse gets its migrations
        pass
    command = ["build", *(["--select", select] if select else [])]
    summary = run_dbt(command, settings)
    return {"passed": summary.passed, "failed": summary.failed, "skipped": summary.skipped}


@flow(name="build-metrics")
def build_metrics(select: str | None = None) -> dict:
    """``dbt build``; any failed model or test fails the flow (never hidden)."""
    return dbt_build(select)
