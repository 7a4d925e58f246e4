"""Flow: cited article suggestions for tickets that have none yet (nothing indexed: skipped)."""

from __future__ import annotations

from pathlib import Path

from prefect import flow
from pydantic import BaseModel, Field

from flows.reindex_knowledge import suggest_for_new_tickets
from supportflow.knowledge.runner import KnowledgeRefresh


class SuggestParams(BaseModel):
    config: Path | None = Field(default=None, description="Overlay on default knowledge.yaml.")


@flow(name="suggest-articles")
def suggest_articles(params: SuggestParams) -> KnowledgeRefresh:
    """Suggestions only (the nightly step when no help-center source is given); the result's
    ``suggestions.skipped`` says why there were none while the index is empty."""
    return KnowledgeRefresh(suggestions=suggest_for_new_tickets(params.config))
