"""Flow: the nightly job — ingest new exports, score them, then rebuild the metrics layer.

Writers to the DuckDB file run one after another (DuckDB has one writer per file); later issues
add knowledge reindexing and escalation rules between scoring and the dbt build.
"""

from __future__ import annotations

from prefect import flow, get_run_logger
from pydantic import BaseModel, Field

from flows.build_metrics import build_metrics
from flows.ingest_tickets import IngestParams, ingest_tickets
from flows.score_tickets import ScoreParams, run_scoring
from supportflow import promote
from supportflow.settings import Settings


class NightlyParams(BaseModel):
    ingest: IngestParams
    score: ScoreParams = Field(default_factory=ScoreParams)


@flow(name="nightly")
def nightly(params: NightlyParams) -> dict:
    """Ingest → score (when a model version holds a rollout phase) → dbt build."""
    batches = ingest_tickets(params.ingest)
    scored = []
    mlc = promote.client(Settings().mlflow_tracking_uri)
    if promote.deployed(mlc, params.score.model_name):
        scored = run_scoring(params.score)
    else:
        get_run_logger().info(
            "scoring skipped: no version of %s holds a rollout phase", params.score.model_name
        )
    dbt = build_metrics()
    return {"batches": batches, "scored": scored, "dbt": dbt}
