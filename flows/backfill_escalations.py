"""Flow: escalation rules — apply a rules version to new tickets, or backfill it over history.

Thin on purpose: the logic is in ``supportflow.escalation``; the flow adds orchestration,
logging and progress.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel, Field

from supportflow.escalation.backfill import apply_to_new, backfill, check_range, dry_run
from supportflow.escalation.rules import load_rules
from supportflow.settings import Settings
from supportflow.warehouse import connect


class BackfillParams(BaseModel):
    rules: Path | None = Field(default=None, description="Rules YAML (default: settings/package).")
    since: date
    until: date
    dry_run: bool = Field(default=False, description="Only count what would change; no writes.")
    against: str | None = Field(default=None, description="Version to diff against (dry run).")
    replace: bool = Field(default=False, description="Recompute days that are already current.")


class EscalateParams(BaseModel):
    rules: Path | None = Field(default=None, description="Rules YAML (default: settings/package).")


def rules_path(path: Path | None) -> Path | None:
    return path or Settings().escalation_rules


@task(cache_policy=NO_CACHE)
def run_backfill(params: BackfillParams) -> dict:
    rules = load_rules(rules_path(params.rules))  # a bad file fails here, before any write
    check_range(params.since, params.until)
    logger = get_run_logger()
    with connect(Settings()) as con:
        if params.dry_run:
            return dry_run(con, rules, params.since, params.until, params.against).__dict__
        summary = backfill(
            con,
            rules,
            params.since,
            params.until,
            on_progress=lambda done, total: logger.info("replaced day %d of %d", done, total),
            replace=params.replace,
        )
    return summary.__dict__


@flow(name="backfill-escalations")
def backfill_escalations(params: BackfillParams) -> dict:
    """Replay a rules version over tickets created since..until, one day per transaction."""
    return run_backfill(params)


@task(cache_policy=NO_CACHE)
def escalate_new(params: EscalateParams) -> dict:
    rules = load_rules(rules_path(params.rules))
    with connect(Settings()) as con:
        return {"rules_version": rules.version, "decided": apply_to_new(con, rules)}


@flow(name="escalate-tickets")
def escalate_tickets(params: EscalateParams) -> dict:
    """Decisions of the current rules version for tickets that have none (nightly step)."""
    return escalate_new(params)
