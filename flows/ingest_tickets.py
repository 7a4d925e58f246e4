"""Flow: ingest ticket exports (CSV, JSONL, Zendesk JSON) into landing tables."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task
from pydantic import BaseModel, Field

from flows.retry import IO_TASK
from supportflow.ingest.load import BatchReport
from supportflow.ingest.runner import ingest_paths
from supportflow.ingest.sources import Format
from supportflow.settings import Settings


class IngestParams(BaseModel):
    paths: list[Path] = Field(description="Export files, or folders of them.")
    format: Format | None = Field(default=None, description="Default: from content and suffix.")
    mapping: str | None = Field(default=None, description="Mapping YAML path or built-in name.")
    source: str | None = Field(default=None, description="Source name (ticket_id prefix).")


class IngestFailed(RuntimeError):
    """At least one file could not be read; the others were loaded."""


@task(**IO_TASK)
def load_files(params: IngestParams) -> list[BatchReport]:
    """One batch report per file (``ingest.runner.ingest_paths``); re-loading is idempotent,
    so a retry after an interruption is safe."""
    outcome = ingest_paths(
        params.paths,
        fmt=params.format,
        mapping=params.mapping,
        source=params.source,
        settings=Settings(),
    )
    if outcome.failures:
        raise IngestFailed("; ".join(str(f) for f in outcome.failures))
    return outcome.reports


@flow(name="ingest-tickets")
def ingest_tickets(params: IngestParams) -> list[BatchReport]:
    """Validate, redact and load each file idempotently; one batch report per file."""
    return load_files(params)
