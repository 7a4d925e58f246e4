"""Flow: score new tickets with every model version that holds a rollout phase.

Workers compute, the flow process writes (DuckDB has one writer): with ``dask_workers`` the
partitions run on a local Dask cluster through Prefect's DaskTaskRunner.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task, unmapped
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from pydantic import BaseModel, Field

from supportflow import promote, scoring
from supportflow.rollout import load_rollout_config
from supportflow.settings import Settings
from supportflow.warehouse import connect


class ScoreParams(BaseModel):
    model_name: str = "triage-classifier"
    config: Path | None = Field(default=None, description="Overlay on the default rollout.yaml.")
    dask_workers: int = Field(default=0, ge=0, description="0: score in this process.")


@task(cache_policy=NO_CACHE)
def compute_partition(partition: scoring.Partition, config) -> object:
    target, ids, texts = partition
    # one torch thread per worker process: the workers together use the cores
    return scoring.score_partition(target, ids, texts, config, threads=1)


def _score(params: ScoreParams, window: int, compute) -> list[dict]:
    settings = Settings()
    config = load_rollout_config(params.config).scoring
    logger = get_run_logger()
    mlc = promote.client(settings.mlflow_tracking_uri)
    targets = promote.scoring_targets(mlc, params.model_name)
    run_id = str(flow_run.id or "local")
    summaries = []
    with connect(settings) as con:
        for target in targets:
            summary = scoring.score_target(
                con,
                target,
                config,
                run_id,
                lambda parts: compute(parts, config),
                window=window,
                on_progress=lambda done, total: logger.info("scored %d of %d", done, total),
            )
            summaries.append(summary.__dict__)
    return summaries


@flow(name="score-tickets")
def score_tickets(params: ScoreParams) -> list[dict]:
    """In-process scoring (the default)."""
    return _score(params, 1, scoring.compute_in_process)


@flow(name="score-tickets-dask")
def score_tickets_dask(params: ScoreParams) -> list[dict]:
    """Partitions on Dask workers (run with ``.with_options(task_runner=DaskTaskRunner(…))``)."""

    def on_workers(parts, config):
        return [f.result() for f in compute_partition.map(parts, config=unmapped(config))]

    return _score(params, max(params.dask_workers, 1) * 2, on_workers)


def run_scoring(params: ScoreParams) -> list[dict]:
    """Entry point for the CLI and the nightly DAG: picks the task runner from the params."""
    if params.dask_workers == 0:
        return score_tickets(params)
    from prefect_dask import DaskTaskRunner

    runner = DaskTaskRunner(
        cluster_kwargs={
            "n_workers": params.dask_workers,
            "threads_per_worker": 1,
            "processes": True,
            "dashboard_address": None,
        }
    )
    return score_tickets_dask.with_options(task_runner=runner)(params)
