"""Flow: reindex the help center, audit its health, and suggest articles for new tickets.

Writers one after another (DuckDB has one writer): reindex → ticket vectors → KB health audit →
suggestions. The audit and suggestions read the index as it stands after this run. A source with
no valid article leaves the index unchanged and is one warning line (``reindex.empty``); with an
empty index the audit and suggestions are skipped with their reason, never a failed run.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel, Field

from flows.retry import IO_TASK
from supportflow.knowledge import runner
from supportflow.knowledge.config import load_knowledge_config
from supportflow.knowledge.index import ReindexSummary
from supportflow.knowledge.runner import AuditSummary, KnowledgeRefresh, SuggestSummary
from supportflow.progress import step_progress
from supportflow.settings import Settings


class ReindexParams(BaseModel):
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
    if params.audit or params.suggest:
        out.embedded_tickets = embed_tickets(params.config)
    if params.audit:
        out.audit = audit_knowledge(params.config)
    if params.suggest:
        out.suggestions = suggest_for_new_tickets(params.config)
    return out
