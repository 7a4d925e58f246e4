"""Flow: the nightly job — ingest new exports, score them, refresh knowledge, rebuild metrics.

Writers to the DuckDB file run one after another (DuckDB has one writer per file): ingest →
score → knowledge (reindex, ticket vectors, audit, suggestions) → escalation rules → agent assist
(drafts, related tickets, incidents, QA sample) → dbt build → scorecard. Escalation follows the
knowledge step because its rules read the model outputs and suggestions.
"""

from __future__ import annotations

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel, Field

from flows.assist_tickets import AssistParams, assist_tickets
from flows.backfill_escalations import EscalateParams, escalate_new
from flows.build_metrics import build_metrics
from flows.ingest_tickets import IngestParams, ingest_tickets
from flows.reindex_knowledge import ReindexParams, SuggestParams, reindex_knowledge
from flows.reindex_knowledge import suggest_articles as suggest_task
from flows.score_tickets import ScoreParams, run_scoring
from supportflow.rollout.registry import client, deployed
from supportflow.settings import Settings
from supportflow.warehouse import connect


class NightlyParams(BaseModel):
    ingest: IngestParams
    score: ScoreParams = Field(default_factory=ScoreParams)
    knowledge: ReindexParams | None = Field(
        default=None, description="Reindex this help-center source; without it, suggest only."
    )
    suggest: SuggestParams = Field(default_factory=SuggestParams)
    escalate: EscalateParams = Field(default_factory=EscalateParams)
    assist: AssistParams | None = Field(
        default_factory=AssistParams, description="Agent assist; null to skip."
    )


def _has_index() -> bool:
    with connect(Settings()) as con:
        return con.execute("SELECT count(*) FROM landing.kb_chunks").fetchall()[0][0] > 0


@flow(name="nightly")
def nightly(params: NightlyParams) -> dict:
    """Ingest → score (when a version holds a phase) → knowledge → escalation → assist → dbt
    build → scorecard. Each step is its own flow or task, so a failure names the step."""
    logger = get_run_logger()
    batches = ingest_tickets(params.ingest)
    scored = []
    if deployed(client(Settings().mlflow_tracking_uri), params.score.model_name):
        scored = run_scoring(params.score)
    else:
        logger.info(
            "scoring skipped: no version of %s holds a rollout phase", params.score.model_name
        )
    knowledge: dict = {}
    if params.knowledge is not None:
        knowledge = reindex_knowledge(params.knowledge)
    elif _has_index():
        knowledge = {"suggested": suggest_task(params.suggest.config)}
    else:
        logger.info("knowledge skipped: nothing indexed (run `supportflow reindex PATH`)")
    escalation = escalate_new(params.escalate)
    assisted = assist_tickets(params.assist) if params.assist is not None else {}
    dbt = build_metrics()
    scorecard = write_report()
    return {
        "batches": batches,
        "scored": scored,
        "knowledge": knowledge,
        "escalation": escalation,
        "assist": assisted,
        "dbt": dbt,
        "scorecard": scorecard,
    }


@task(cache_policy=NO_CACHE)
def write_report() -> str:
    from supportflow.report.scorecard import write_scorecard

    return str(write_scorecard(Settings()))
