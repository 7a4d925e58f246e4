"""Flow: decisions of the current escalation rules version for tickets that have none (the
nightly step; ``backfill_escalations`` replays a version over history)."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task
from pydantic import BaseModel, Field

from flows.retry import IO_TASK
from supportflow.escalation.runner import EscalateSummary, apply_current
from supportflow.settings import Settings


class EscalateParams(BaseModel):
    rules: Path | None = Field(default=None, description="Rules YAML (default: settings/package).")


@task(**IO_TASK)
def escalate_new(params: EscalateParams) -> EscalateSummary:
    return apply_current(Settings(), params.rules)


@flow(name="escalate-tickets")
def escalate_tickets(params: EscalateParams) -> EscalateSummary:
    """Decisions of the current rules version for tickets that have none."""
    return escalate_new(params)
