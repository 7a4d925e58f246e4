"""Flow: ingest ticket exports (CSV, JSONL, Zendesk-style JSON) into landing tables."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel, Field

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


@task(cache_policy=NO_CACHE)
def load_files(params: IngestParams) -> list[dict]:
    outcome = ingest_paths(
        params.paths,
        fmt=params.format,
        mapping=params.mapping,
        source=params.source,
        settings=Settings(),
    )
    if outcome.failures:
        raise IngestFailed("; ".join(str(f) for f in outcome.failures))
    return [r.as_dict() for r in outcome.reports]


@flow(name="ingest-tickets")
def ingest_tickets(params: IngestParams) -> list[dict]:
    """Validate, redact and load each file idempotently; one batch report per file."""
    return load_files(params)
