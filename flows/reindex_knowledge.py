"""Flow: reindex the help center, audit its health, and suggest articles for new tickets.

Writers one after another (DuckDB has one writer): reindex → ticket vectors → KB health audit →
suggestions. The audit and suggestions read the index as it stands after this run.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel, Field

from supportflow.knowledge import ticket_vectors
from supportflow.knowledge.audit import run_audit
from supportflow.knowledge.config import load_knowledge_config
from supportflow.knowledge.index import reindex
from supportflow.knowledge.search import KnowledgeIndex
from supportflow.knowledge.suggest import suggest_new_tickets
from supportflow.settings import Settings
from supportflow.warehouse import connect


class ReindexParams(BaseModel):
    path: Path = Field(description="Folder of Markdown articles, or a Zendesk Help Center .json.")
    config: Path | None = Field(default=None, description="Default: experiments/knowledge.yaml.")
    audit: bool = Field(default=True, description="Run the KB health audit after reindexing.")
    suggest: bool = Field(default=True, description="Suggest articles for new tickets.")


class SuggestParams(BaseModel):
    config: Path | None = Field(default=None, description="Default: experiments/knowledge.yaml.")


def _progress(verb: str):
    logger = get_run_logger()
    return lambda done, total: logger.info("%s %d of %d", verb, done, total)


@task(cache_policy=NO_CACHE)
def reindex_source(params: ReindexParams) -> dict:
    config = load_knowledge_config(params.config)
    with connect(Settings()) as con:
        summary = reindex(con, params.path, config.index, _progress("embedded passages"))
    for problem in summary.problems:
        get_run_logger().warning(
            "skipped %s: %s", problem.article_id or problem.source_file, problem.reason
        )
    out = dict(summary.__dict__)
    out["problems"] = [p.__dict__ for p in summary.problems]
    return out


@task(cache_policy=NO_CACHE)
def embed_tickets(config_path: Path | None) -> int:
    """Vectors for new or edited tickets, shared by the audit, suggestions and agent assist."""
    config = load_knowledge_config(config_path)
    with connect(Settings()) as con:
        return ticket_vectors.refresh(
            con, config.index.encoder, on_progress=_progress("embedded tickets")
        )


@task(cache_policy=NO_CACHE)
def audit_knowledge(config_path: Path | None) -> dict:
    config = load_knowledge_config(config_path)
    with connect(Settings()) as con:
        index = KnowledgeIndex.load(con, config.index.encoder)
        result = run_audit(con, index, config.audit)
    kinds: dict[str, int] = {}
    for finding in result.findings:
        kinds[finding.kind] = kinds.get(finding.kind, 0) + 1
    return {
        "audit_id": result.audit_id,
        "findings": kinds,
        "coverage_gaps": [g.__dict__ for g in result.gaps],
    }


@task(cache_policy=NO_CACHE)
def suggest_articles(config_path: Path | None) -> int:
    config = load_knowledge_config(config_path)
    with connect(Settings()) as con:
        index = KnowledgeIndex.load(con, config.index.encoder)
        return suggest_new_tickets(
            con, index, config.search, on_progress=_progress("suggested articles for")
        )


@flow(name="reindex-knowledge")
def reindex_knowledge(params: ReindexParams) -> dict:
    """Reindex → embed new tickets → audit → suggestions for new tickets."""
    out = {"reindex": reindex_source(params)}
    if params.audit or params.suggest:
        out["embedded_tickets"] = embed_tickets(params.config)
    if params.audit:
        out["audit"] = audit_knowledge(params.config)
    if params.suggest:
        out["suggested"] = suggest_articles(params.config)
    return out


@flow(name="suggest-articles")
def suggest_articles_flow(params: SuggestParams) -> int:
    """Cited article suggestions for tickets that have none yet."""
    return suggest_articles(params.config)
