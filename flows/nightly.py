"""Flow: the nightly job — ingest new exports, then rebuild the metrics layer.

Writers to the DuckDB file run one after another; later issues add scoring, knowledge reindexing
and escalation backfills between ingestion and the dbt build.
"""

from __future__ import annotations

from prefect import flow

from flows.build_metrics import build_metrics
from flows.ingest_tickets import IngestParams, ingest_tickets


@flow(name="nightly")
def nightly(ingest: IngestParams) -> dict:
    batches = ingest_tickets(ingest)
    dbt = build_metrics()
    return {"batches": batches, "dbt": dbt}
