"""Flow: the nightly job — ingest new exports, refresh knowledge, score, rebuild metrics.

Writers to the DuckDB file run one after another (DuckDB has one writer per file): ingest →
knowledge (reindex, ticket vectors, audit, suggestions) → score → escalation rules → agent
assist (drafts, related tickets, incidents, QA sample) → dbt build → scorecard. Scoring follows
the ticket vectors so a model whose frozen encoder is the index encoder reuses them instead of
embedding every ticket again (``Predictor.ticket_vector_encoder``); escalation follows both
because its rules read the model outputs and suggestions. Each step is a subflow that decides
for itself when it has nothing to do (no deployed model, nothing indexed).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from prefect import flow
from pydantic import BaseModel, Field

from flows.assist_tickets import AssistParams, run_assist_tickets
from flows.build_metrics import build_metrics
from flows.escalate_tickets import EscalateParams, escalate_tickets
from flows.ingest_tickets import IngestParams, ingest_tickets
from flows.publish_scorecard import Scorecard, publish_scorecard
from flows.reindex_knowledge import ReindexParams, run_reindex
from flows.score_tickets import ScoreParams, run_scoring
from flows.suggest_articles import SuggestParams, suggest_articles
from supportflow.assist.batch import AssistResult
from supportflow.dbt_runner import DbtRunSummary
from supportflow.escalation.runner import EscalateSummary
from supportflow.ingest.load import BatchReport
from supportflow.knowledge.runner import KnowledgeRefresh
from supportflow.progress import timed
from supportflow.scoring import RunSummary


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


@dataclass
class NightlyResult:
    batches: list[BatchReport]
    scored: list[RunSummary]
    knowledge: KnowledgeRefresh
    escalation: EscalateSummary
    assist: AssistResult | None
    dbt: DbtRunSummary
    scorecard: Scorecard
    seconds: dict[str, float] = field(default_factory=dict)  # step → wall-clock seconds


@flow(name="nightly")
def nightly(params: NightlyParams) -> NightlyResult:
    """Ingest → knowledge → score → escalation → assist → dbt build → scorecard."""
    seconds: dict[str, float] = {}
    with timed(seconds, "ingest"):
        batches = ingest_tickets(params.ingest)
    with timed(seconds, "knowledge"):
        if params.knowledge is not None:
            knowledge = run_reindex(params.knowledge)
        else:
            knowledge = suggest_articles(params.suggest)
    with timed(seconds, "score"):
        scored = run_scoring(params.score)
    with timed(seconds, "escalation"):
        escalation = escalate_tickets(params.escalate)
    with timed(seconds, "assist"):
        assisted = run_assist_tickets(params.assist) if params.assist is not None else None
    with timed(seconds, "dbt build"):
        dbt = build_metrics()
    with timed(seconds, "scorecard"):
        scorecard = publish_scorecard()
    return NightlyResult(batches, scored, knowledge, escalation, assisted, dbt, scorecard,
                         seconds)  # fmt: skip
