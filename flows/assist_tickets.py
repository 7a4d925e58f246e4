"""Flow: agent assist for new and updated tickets (summary, grounded draft + guardrail findings,
missing fields, duplicates, related open tickets) and incident bursts over all tickets.

One writer; it reads the help-center index and the shared ticket vectors, so in the nightly DAG it
runs after the knowledge step.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel, Field

from supportflow.assist.batch import run_assist
from supportflow.assist.config import load_assist_config
from supportflow.assist.macros import MacroLibrary, load_macros
from supportflow.knowledge.config import load_knowledge_config
from supportflow.knowledge.search import KnowledgeIndex
from supportflow.settings import Settings
from supportflow.warehouse import connect


class AssistParams(BaseModel):
    config: Path | None = Field(default=None, description="Overlay on the default assist.yaml.")
    knowledge_config: Path | None = Field(
        default=None, description="Overlay on default knowledge.yaml."
    )
    ticket_ids: list[str] | None = Field(default=None, description="Only these tickets.")


def macro_library(path: Path | None) -> MacroLibrary:
    library = load_macros(path) if path else MacroLibrary([])
    for problem in library.problems:
        get_run_logger().warning("macro skipped: %s", problem)
    return library


@task(cache_policy=NO_CACHE)
def assist(params: AssistParams) -> dict:
    config = load_assist_config(params.config)
    knowledge = load_knowledge_config(params.knowledge_config)
    library = macro_library(config.macros)
    logger = get_run_logger()
    with connect(Settings()) as con:
        index = KnowledgeIndex.load(con, knowledge.index.encoder)
        result = run_assist(
            con, config, knowledge, index, library, ticket_ids=params.ticket_ids,
            on_progress=lambda done, total: logger.info("assisted %d of %d", done, total),
        )  # fmt: skip
    return dict(result.__dict__)


@task(cache_policy=NO_CACHE)
def sample_for_qa(params: AssistParams) -> dict[str, int]:
    """The stratified QA sample for days not sampled yet (and the last sampled day again, which
    adds only outputs that did not exist then)."""
    from datetime import timedelta

    from supportflow.assist.qa import days_with_tickets, sample_day

    per_stratum = load_assist_config(params.config).qa.per_stratum
    threshold = load_knowledge_config(params.knowledge_config).answer.min_similarity
    totals: dict[str, int] = {}
    with connect(Settings()) as con:
        last = con.execute("SELECT max(sample_day) FROM ops.qa_samples").fetchall()[0][0]
        for day in days_with_tickets(con, last - timedelta(days=1) if last else None):
            for kind, n in sample_day(con, day, per_stratum, threshold).items():
                totals[kind] = totals.get(kind, 0) + n
    return totals


@flow(name="assist-tickets")
def assist_tickets(params: AssistParams) -> dict:
    """Assist outputs for tickets that need them; incidents recomputed; QA sample topped up
    (when assisting all tickets)."""
    out = assist(params)
    if params.ticket_ids is None:
        out["qa_samples"] = sample_for_qa(params)
    return out
