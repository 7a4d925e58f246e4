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

from supportflow.knowledge import ticket_vectors
from supportflow.knowledge.audit import run_audit
from supportflow.knowledge.config import load_knowledge_config
from supportflow.knowledge.index import reindex
from supportflow.knowledge.search import EmptyIndexError, KnowledgeIndex
from supportflow.knowledge.suggest import suggest_new_tickets
from supportflow.settings import Settings
from supportflow.warehouse import connect


class ReindexParams(BaseModel):
    path: Path = Field(description="Folder of Markdown articles, or a Zendesk Help Center .json.")
    config: Path | None = Field(default=None, description="Overlay on default knowledge.yaml.")
    audit: bool = Field(default=True, description="Run the KB health audit after reindexing.")
    suggest: bool = Field(default=True, description="Suggest articles for new tickets.")


class SuggestParams(BaseModel):
    config: Path | None = Field(default=None, description="Overlay on default knowledge.yaml.")


def _progress(verb: str):
    logger = get_run_logger()
    return lambda done, total: logger.info("%s %d of %d", verb, done, total)


@task(cache_policy=NO_CACHE)
def reindex_source(params: ReindexParams) -> dict:
    """``ReindexSummary`` as a dict (problems as dicts); ``empty`` is set when the source gave no
    article (the index is then unchanged)."""
    config = load_knowledge_config(params.config)
    with connect(Settings()) as con:
        summary = reindex(con, params.path, config.index, _progress("embedded passages"))
    logger = get_run_logger()
    for problem in summary.problems:
        logger.warning("skipped %s: %s", problem.article_id or problem.source_file, problem.reason)
    if summary.empty:
        logger.warning(summary.empty)
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
    """Findings counted by kind and the coverage gaps; with an empty index the audit is
    skipped: ``audit_id`` None and ``skipped`` says why."""
    config = load_knowledge_config(config_path)
    with connect(Settings()) as con:
        try:
            index = KnowledgeIndex.load(con, config.index.encoder)
        except EmptyIndexError as exc:
            get_run_logger().warning("KB audit skipped: %s", exc)
            return {"audit_id": None, "findings": {}, "coverage_gaps": [], "skipped": str(exc)}
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
    """Reindex → embed new tickets → audit → suggestions for new tickets (skipped, with a
    warning, while the index is empty)."""
    out = {"reindex": reindex_source(params)}
    if params.audit or params.suggest:
        out["embedded_tickets"] = embed_tickets(params.config)
    if params.audit:
        out["audit"] = audit_knowledge(params.config)
    if params.suggest:
        if out["reindex"]["chunks_total"]:
            out["suggested"] = suggest_articles(params.config)
        else:
            get_run_logger().warning("suggestions skipped: the knowledge index is empty")
            out["suggested"] = 0
    return out


@flow(name="suggest-articles")
def suggest_articles_flow(params: SuggestParams) -> int:
    """Cited article suggestions for tickets that have none yet."""
    return suggest_articles(params.config)
