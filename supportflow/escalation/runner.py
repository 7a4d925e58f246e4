"""The escalation steps as library entry points: each takes ``Settings``, loads the rules (a
bad file fails before any write), opens the warehouse itself and returns a typed summary."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from supportflow.escalation.backfill import (
    BackfillSummary,
    DryRunDiff,
    apply_to_new,
    backfill,
    check_range,
    dry_run,
)
from supportflow.escalation.rules import load_rules
from supportflow.settings import Settings
from supportflow.warehouse import connect


@dataclass
class EscalateSummary:
    """Decisions written for tickets that had none under ``rules_version``."""

    rules_version: str
    decided: int


def rules_path(settings: Settings, path: Path | None) -> Path | None:
    """The rules file to use: ``path``, else ``Settings.escalation_rules``, else the package's."""
    return path or settings.escalation_rules


def apply_current(settings: Settings, rules: Path | None = None) -> EscalateSummary:
    """Decisions of the current rules version for tickets that have none (the nightly step)."""
    ruleset = load_rules(rules_path(settings, rules))
    with connect(settings) as con:
        return EscalateSummary(ruleset.version, apply_to_new(con, ruleset))


def replay(
    settings: Settings,
    since: date,
    until: date,
    *,
    rules: Path | None = None,
    preview: bool = False,
    against: str | None = None,
    replace: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
) -> BackfillSummary | DryRunDiff:
    """Backfill a rules version over tickets created ``since``..``until`` (inclusive), one day
    per transaction; with ``preview`` only count what would change (``DryRunDiff``). Raises
    ``RuleError`` / ``BackfillError`` before any write."""
    ruleset = load_rules(rules_path(settings, rules))
    check_range(since, until)
    with connect(settings) as con:
        if preview:
            return dry_run(con, ruleset, since, until, against)
        return backfill(con, ruleset, since, until, on_progress=on_progress, replace=replace)
