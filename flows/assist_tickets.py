"""Flow: agent assist for new and updated tickets (summary, grounded draft + guardrail findings,
missing fields, duplicates, related open tickets) and incident bursts over all tickets.

One writer; it reads the help-center index and the shared ticket vectors, so in the nightly DAG it
runs after the knowledge step. With ``dask_workers`` or ``dask_address`` (``flows/cluster.py``)
each batch's drafts, guardrail checks and summaries are computed on Dask workers in chunks
(``supportflow.assist.batch.assist_items``, pure); this process reads the batch and writes it.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task, unmapped
from prefect.cache_policies import NO_CACHE
from pydantic import Field

from flows.cluster import DaskOptions, dask_runner
from supportflow.assist.batch import AssistResult, Item, Shared, assist_items
from supportflow.assist.runner import assist_pending, sample_for_qa
from supportflow.progress import step_progress
from supportflow.settings import Settings


class AssistParams(DaskOptions):
    config: Path | None = Field(default=None, description="Overlay on the default assist.yaml.")
    knowledge_config: Path | None = Field(
        default=None, description="Overlay on default knowledge.yaml."
    )
    ticket_ids: list[str] | None = Field(default=None, description="Only these tickets.")


@task(cache_policy=NO_CACHE)
def assist(params: AssistParams) -> AssistResult:
    return assist_pending(
        Settings(), params.config, params.knowledge_config, ticket_ids=params.ticket_ids,
        on_progress=step_progress("assisting tickets"),
    )  # fmt: skip


@task(cache_policy=NO_CACHE)
def assist_chunk(items: list[Item], shared: Shared) -> object:
    """One chunk of a batch on a Dask worker: ``assist_items`` (rows, fallbacks, first error)."""
    return assist_items(items, shared)


def on_workers(chunks: list[list[Item]], shared: Shared) -> list:
    """``batch.Compute`` on the flow's task runner (Dask), results in the chunks' order."""
    return [f.result() for f in assist_chunk.map(chunks, unmapped(shared))]


def assist_on_workers(params: AssistParams) -> AssistResult:
    """The assist step in the flow's body, so its chunks go to the flow's Dask runner."""
    where = params.dask_address or f"{params.dask_workers} local Dask worker processes"
    get_run_logger().info("assist chunks run on %s, %d chunks per batch", where, params.window)
    return assist_pending(
        Settings(), params.config, params.knowledge_config, ticket_ids=params.ticket_ids,
        on_progress=step_progress("assisting tickets"), compute=on_workers,
        chunks=params.window,
    )  # fmt: skip


@task(cache_policy=NO_CACHE)
def top_up_qa_sample(params: AssistParams) -> dict[str, int]:
    return sample_for_qa(Settings(), params.config, params.knowledge_config)


@flow(name="assist-tickets")
def assist_tickets(params: AssistParams) -> AssistResult:
    """Assist outputs for tickets that need them; incidents recomputed; QA sample topped up
    (when assisting all tickets: ``qa_samples`` per kind)."""
    result = assist_on_workers(params) if params.distributed else assist(params)
    if params.ticket_ids is None:
        result.qa_samples = top_up_qa_sample(params)
    return result


def run_assist_tickets(params: AssistParams) -> AssistResult:
    """Entry point for the CLI and the nightly DAG: the flow, on a Dask cluster when
    ``dask_workers`` > 0 or ``dask_address`` is set (``flows/cluster.py``)."""
    if not params.distributed:
        return assist_tickets(params)
    return assist_tickets.with_options(task_runner=dask_runner(params))(params)
