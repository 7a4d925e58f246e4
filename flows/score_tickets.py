"""Flow: score new tickets with every model version that holds a rollout phase.

Workers compute, the flow process writes (DuckDB has one writer): with ``dask_workers`` or
``dask_address`` the partitions run on a Dask cluster through Prefect's DaskTaskRunner
(``flows/cluster.py``; ``run_scoring`` picks the runner). With no version in any phase there is
nothing to score: an empty list.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task, unmapped
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from pydantic import Field

from flows.cluster import DaskOptions, dask_runner
from supportflow import scoring
from supportflow.progress import step_progress
from supportflow.rollout.config import ScoringConfig, load_rollout_config
from supportflow.scoring import RunSummary
from supportflow.settings import Settings


class ScoreParams(DaskOptions):
    model_name: str = "triage-classifier"
    config: Path | None = Field(default=None, description="Overlay on the default rollout.yaml.")


@task(cache_policy=NO_CACHE)
def compute_partition(partition: scoring.Partition, config: ScoringConfig) -> object:
    """One partition on a Dask worker; one torch thread, so the workers together use the cores."""
    target, ids, texts, vectors = partition
    return scoring.score_partition(target, ids, texts, config, threads=1, vectors=vectors)


@flow(name="score-tickets")
def score_tickets(params: ScoreParams) -> list[RunSummary]:
    """One ``RunSummary`` per version holding a phase; partitions in this process, or on the
    flow's Dask workers (``dask_workers`` > 0 or a ``dask_address``)."""
    config = load_rollout_config(params.config).scoring
    logger = get_run_logger()

    def compute(parts, on_rows=None):
        if not params.distributed:
            return scoring.compute_in_process(parts, config, on_rows)
        return [f.result() for f in compute_partition.map(parts, config=unmapped(config))]

    summaries = scoring.score_deployed(
        Settings(),
        params.model_name,
        config,
        str(flow_run.id or "local"),
        compute,
        window=params.window if params.distributed else 1,
        on_progress=step_progress(f"scoring with {params.model_name}"),
    )
    if not summaries:
        logger.info("scoring skipped: no version of %s holds a rollout phase", params.model_name)
    return summaries


def run_scoring(params: ScoreParams) -> list[RunSummary]:
    """Entry point for the CLI and the nightly DAG: the flow, on a Dask cluster when
    ``dask_workers`` > 0 or ``dask_address`` is set (``flows/cluster.py``)."""
    if not params.distributed:
        return score_tickets(params)
    return score_tickets.with_options(task_runner=dask_runner(params))(params)
