"""Flow: replay an escalation rules version over history, one day per transaction.

Thin on purpose: the logic is in ``supportflow.escalation``; the flow adds orchestration,
logging and progress.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from prefect import flow, task
from pydantic import BaseModel, Field

from flows.retry import IO_TASK
from supportflow.escalation.backfill import BackfillSummary, DryRunDiff
from supportflow.escalation.runner import replay
from supportflow.progress import step_progress
from supportflow.settings import Settings


class BackfillParams(BaseModel):
    rules: Path | None = Field(default=None, description="Rules YAML (default: settings/package).")
    since: date
    until: date
    dry_run: bool = Field(default=False, description="Only count what would change; no writes.")
    against: str | None = Field(default=None, description="Version to diff against (dry run).")
    replace: bool = Field(default=False, description="Recompute days that are already current.")


@task(**IO_TASK)
def run_backfill(params: BackfillParams) -> BackfillSummary | DryRunDiff:
    """Resumable: days already current under the version are skipped, so a retry continues."""
    return replay(
        Settings(),
        params.since,
        params.until,
        rules=params.rules,
        preview=params.dry_run,
        against=params.against,
        replace=params.replace,
        on_progress=step_progress("escalation backfill (days)"),
    )


@flow(name="backfill-escalations")
def backfill_escalations(params: BackfillParams) -> BackfillSummary | DryRunDiff:
    """Replay a rules version over tickets created since..until, one day per transaction."""
    return run_backfill(params)
