"""Flow: move a registered version into a rollout phase through the measured gates.

The CLI's ``supportflow promote`` runs the same library call; this flow is the deployable form
for teams that promote from Prefect (the decision is recorded either way, forced or not).
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task
from pydantic import BaseModel, Field

from flows.retry import IO_TASK
from supportflow.rollout.decisions import Decision
from supportflow.rollout.promote import promote_in
from supportflow.settings import Settings


class PromoteParams(BaseModel):
    model_name: str = "triage-classifier"
    version: int = Field(ge=1)
    to_phase: str = Field(description="shadow · assist · auto_route")
    force: bool = Field(default=False, description="Move even if gates fail (needs a reason).")
    reason: str | None = Field(default=None, description="Why; recorded with the decision.")
    rollout_config: Path | None = Field(default=None, description="Rollout YAML with the gates.")


@task(**IO_TASK)
def promote_version(params: PromoteParams) -> Decision:
    return promote_in(
        Settings(), params.model_name, params.version, params.to_phase, params.rollout_config,
        force=params.force, reason=params.reason, actor="promote-model",
    )  # fmt: skip


@flow(name="promote-model")
def promote_model(params: PromoteParams) -> Decision:
    """Evaluate the gates for the move and make it if they pass (or it is forced with a reason)."""
    return promote_version(params)
