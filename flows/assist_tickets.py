"""Flow: agent assist for new and updated tickets (summary, grounded draft + guardrail findings,
missing fields, duplicates, related open tickets) and incident bursts over all tickets.

One writer; it reads the help-center index and the shared ticket vectors, so in the nightly DAG it
runs after the knowledge step.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel, Field

from supportflow.assist.batch import AssistResult
from supportflow.assist.runner import assist_pending, sample_for_qa
from supportflow.progress import step_progress
from supportflow.settings import Settings


class AssistParams(BaseModel):
    config: Path | None = Field(default=None, description="Overlay on the default assist.yaml.")
    knowledge_config: Path | None = Field(
        default=None, description="Overlay on default knowledge.yaml."
    )
    ticket_ids: list[str] | None = Field(default=None, description="Only these tickets.")


@task(cache_policy=NO_CACHE)
def assist(params: AssistParams) -> AssistResult:
    return assist_pending(
        Settings(), params.config, params.knowledge_config, ticket_ids=params.ticket_ids,
        on_progress=step_progress("assisting tickets"),
    )  # fmt: skip


@task(cache_policy=NO_CACHE)
def top_up_qa_sample(params: AssistParams) -> dict[str, int]:
    return sample_for_qa(Settings(), params.config, params.knowledge_config)


@flow(name="assist-tickets")
def assist_tickets(params: AssistParams) -> AssistResult:
    """Assist outputs for tickets that need them; incidents recomputed; QA sample topped up
    (when assisting all tickets: ``qa_samples`` per kind)."""
    result = assist(params)
    if params.ticket_ids is None:
        result.qa_samples = top_up_qa_sample(params)
    return result
