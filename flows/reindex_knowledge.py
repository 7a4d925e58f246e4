"""Flow: reindex the help center, audit its health, and suggest articles for new tickets.

Writers one after another (DuckDB has one writer): reindex → ticket vectors → KB health audit →
suggestions. The audit and suggestions read the index as it stands after this run. A source with
no valid article leaves the index unchanged and is one warning line (``reindex.empty``); with an
empty index the audit and suggestions are skipped with their reason, never a failed run.

With ``dask_workers`` or ``dask_address`` (``flows/cluster.py``, ``run_reindex``) the ticket
vectors are computed on Dask workers, each batch cut into slices mapped onto them; the flow
process reads the tickets and writes the vectors.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from prefect import flow, get_run_logger, task, unmapped
from prefect.cache_policies import NO_CACHE
from pydantic import Field

from flows.cluster import DaskOptions, dask_runner
from flows.retry import IO_TASK
from supportflow.knowledge import runner
from supportflow.knowledge.config import load_knowledge_config
from supportflow.knowledge.index import ReindexSummary
from supportflow.knowledge.runner import AuditSummary, KnowledgeRefresh, SuggestSummary
from supportflow.progress import step_progress
from supportflow.settings import Settings


class ReindexParams(DaskOptions):
    path: Path = Field(description="Folder of Markdown articles, or a Zendesk Help Center .json.")
    config: Path | None = Field(default=None, description="Overlay on default knowledge.yaml.")
    audit: bool = Field(default=True, description="Run the KB health audit after reindexing.")
    suggest: bool = Field(default=True, description="Suggest articles for new tickets.")


@task(**IO_TASK)
def reindex_source(params: ReindexParams) -> ReindexSummary:
    config = load_knowledge_config(params.config)
    embedded = step_progress("embedding passages")
    summary = runner.reindex_articles(Settings(), params.path, config, embedded)
    logger = get_run_logger()
    for problem in summary.problems:
        logger.warning("skipped %s: %s", problem.article_id or problem.source_file, problem.reason)
    if summary.empty:
        logger.warning(summary.empty)
    return summary


@task(cache_policy=NO_CACHE)
def embed_tickets(config_path: Path | None) -> int:
    config = load_knowledge_config(config_path)
    return runner.embed_tickets(Settings(), config, step_progress("embedding tickets"))


@task(cache_policy=NO_CACHE)
def embed_slice(encoder: str, texts: list[str], kind: str) -> np.ndarray:
    """One slice of a batch on a Dask worker: (len(texts), d) float32 unit vectors. One intra-op
    thread, so the workers together use the cores; the worker keeps its encoder loaded."""
    from supportflow.knowledge import encoder as enc

    return enc.embed(encoder, texts, kind=kind, threads=1)


def on_workers(slices: int):
    """An ``embed`` for ``ticket_vectors.refresh`` that maps each batch, cut into at most
    ``slices`` slices, onto the flow's task runner (Dask) and puts the vectors back in order.
    Slices are whole multiples of ``encoder.SLICE`` from the batch's start, as in-process
    embedding cuts them, so every text is batched with the same texts and gets the same vector
    (the int8 graph's activation scales depend on the batch)."""
    from supportflow.knowledge import encoder as enc

    def embed(encoder: str, texts: list[str], on_progress=None, kind: str = "query"):
        size = -(-len(texts) // slices)
        size = -(-size // enc.SLICE) * enc.SLICE
        parts = [texts[i : i + size] for i in range(0, len(texts), size)]
        futures = embed_slice.map(unmapped(encoder), parts, unmapped(kind))
        out, done = [], 0
        for future, part in zip(futures, parts, strict=True):
            out.append(future.result())
            done += len(part)
            if on_progress:
                on_progress(done, len(texts))
        return np.concatenate(out)

    return embed


def embed_tickets_on_workers(params: ReindexParams) -> int:
    """The ticket-vector step in the flow's body (so its slices go to the flow's Dask runner)."""
    config = load_knowledge_config(params.config)
    progress = step_progress("embedding tickets")
    return runner.embed_tickets(Settings(), config, progress, embed=on_workers(params.window))


@task(cache_policy=NO_CACHE)
def audit_knowledge(config_path: Path | None) -> AuditSummary:
    audit = runner.audit_knowledge(Settings(), load_knowledge_config(config_path))
    if audit.skipped:
        get_run_logger().warning("KB audit skipped: %s", audit.skipped)
    return audit


@task(cache_policy=NO_CACHE)
def suggest_for_new_tickets(config_path: Path | None) -> SuggestSummary:
    config = load_knowledge_config(config_path)
    done = runner.refresh_suggestions(Settings(), config, step_progress("suggesting articles"))
    if done.skipped:
        get_run_logger().info("suggestions skipped: %s", done.skipped)
    return done


@flow(name="reindex-knowledge")
def reindex_knowledge(params: ReindexParams) -> KnowledgeRefresh:
    """Reindex → embed new tickets → audit → suggestions for new tickets (audit and suggestions
    are skipped, with their reason, while the index is empty)."""
    out = KnowledgeRefresh(reindex=reindex_source(params))
    if (params.audit or params.suggest) and params.distributed:
        out.embedded_tickets = embed_tickets_on_workers(params)
    elif params.audit or params.suggest:
        out.embedded_tickets = embed_tickets(params.config)
    if params.audit:
        out.audit = audit_knowledge(params.config)
    if params.suggest:
        out.suggestions = suggest_for_new_tickets(params.config)
    return out


def run_reindex(params: ReindexParams) -> KnowledgeRefresh:
    """Entry point for the CLI and the nightly DAG: the flow, with its ticket vectors on a Dask
    cluster when ``dask_workers`` > 0 or ``dask_address`` is set (``flows/cluster.py``)."""
    if not params.distributed:
        return reindex_knowledge(params)
    return reindex_knowledge.with_options(task_runner=dask_runner(params))(params)
