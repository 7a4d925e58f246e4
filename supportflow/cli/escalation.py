"""Commands for escalation rules: check a rules file, apply it, backfill it over history."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer

from supportflow.cli.common import _console, _fail, _quiet_prefect_failures, _setup, app

RulesOption = Annotated[
    Path | None,
    typer.Option(
        "--rules",
        help="Rules YAML (default: SUPPORTFLOW_ESCALATION_RULES, else escalation_rules.yaml in "
        "SUPPORTFLOW_CONFIG_DIR, else the packaged rules).",
    ),
]


def _day(value: str, option: str) -> date:
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        _fail(f"{option} {value!r} is not a date (YYYY-MM-DD)")


@app.command("escalate")
def escalate(rules: RulesOption = None) -> None:
    """Apply the current rules version to tickets that have no decision under it yet."""
    _setup(api=True)
    from flows.escalate_tickets import EscalateParams, escalate_tickets
    from supportflow.escalation.rules import RuleError

    try:
        with _quiet_prefect_failures():
            out = escalate_tickets(EscalateParams(rules=rules))
    except RuleError as exc:
        _fail(str(exc))
    _console().print(f"rules {out.rules_version}: decided {out.decided:,} new tickets")


@app.command("backfill-escalations")
def backfill_escalations_command(
    since: Annotated[str, typer.Option(help="First day (YYYY-MM-DD), by ticket creation.")],
    until: Annotated[str, typer.Option(help="Last day, inclusive.")],
    rules: RulesOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count decisions that would change; write nothing.")
    ] = False,
    against: Annotated[
        str | None, typer.Option(help="Version to compare with (default: last one backfilled).")
    ] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Recompute days already current (else resume).")
    ] = False,
) -> None:
    """Replay a rules version over history, one day per transaction (resumable, idempotent)."""
    _setup(api=True)
    from flows.backfill_escalations import BackfillParams, backfill_escalations
    from supportflow.escalation.backfill import BackfillError
    from supportflow.escalation.rules import RuleError

    params = BackfillParams(
        rules=rules, since=_day(since, "--since"), until=_day(until, "--until"),
        dry_run=dry_run, against=against, replace=replace,
    )  # fmt: skip
    try:
        with _quiet_prefect_failures():
            out = backfill_escalations(params)
    except (RuleError, BackfillError) as exc:
        _fail(str(exc))
    console = _console()
    if dry_run:
        console.print(
            f"[bold]dry run[/] {out.rules_version} vs {out.against or '(nothing yet)'} over "
            f"{out.tickets:,} tickets: +{out.newly_escalated:,} escalated, "
            f"-{out.no_longer_escalated:,} no longer escalated"
        )
        for rule, (added, removed) in out.by_rule.items():
            console.print(f"  {rule}: fires on {added:,} more, {removed:,} fewer tickets")
        return
    console.print(
        f"[bold]{out.rules_version}[/]: {out.days_done} day(s) replaced, "
        f"{out.days_skipped} already current; {out.tickets:,} tickets, "
        f"{out.escalated:,} escalated"
    )
    for rule, n in out.by_rule.items():
        console.print(f"  {rule}: {n:,}")
