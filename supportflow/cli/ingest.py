"""``supportflow ingest``: load export files and print one batch report per file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from supportflow.cli.common import (
    VERBOSE_HELP,
    _console,
    _fail,
    _quiet_prefect_failures,
    _setup,
    app,
)
from supportflow.ingest.sources import Format


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Export files or folders of them.")],
    format: Annotated[
        Format | None,
        typer.Option(
            "--format",
            "-f",
            help="csv, jsonl or zendesk (default: from each file's content and suffix).",
        ),
    ] = None,
    mapping: Annotated[
        str | None,
        typer.Option(
            help="Column mapping: a YAML file or a built-in name (banking77, freshdesk, helpscout, "
            "intercom, jira-sm, fivetran-zendesk)."
        ),
    ] = None,
    source: Annotated[
        str | None, typer.Option(help="Source name used as ticket_id prefix.")
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help=VERBOSE_HELP)] = False,
) -> None:
    """Validate, redact and load ticket exports; bad records go to landing.quarantine."""
    for path in paths:  # before Prefect starts: a typo is answered at once
        if not path.exists():
            _fail(f"{path}: no such file")
    _setup(verbose, api=True, warm=("flows.ingest_tickets",))
    from flows.ingest_tickets import IngestFailed, IngestParams, ingest_tickets

    try:
        with _quiet_prefect_failures():
            reports = ingest_tickets(
                IngestParams(paths=paths, format=format, mapping=mapping, source=source)
            )
    except (IngestFailed, FileNotFoundError, ValueError) as exc:
        _fail(str(exc))
    print_batches(reports)


def print_batches(batches: list) -> None:
    """One row per ``BatchReport``, then its quarantine reasons, warnings and notes."""
    from rich.table import Table

    from supportflow.ingest.runner import describe_notes

    reports = [b.as_dict() for b in batches]

    table = Table(title="Ingest batches")
    for col in ("file", "in", "loaded", "updated", "unchanged", "quarantined", "events"):
        table.add_column(col, justify="left" if col == "file" else "right")
    for r in reports:
        name = Path(r["file"]).name + (" (already ingested)" if r["skipped_as_duplicate"] else "")
        table.add_row(
            name,
            *(
                f"{r[k]:,}"
                for k in (
                    "records_in",
                    "records_loaded",
                    "records_updated",
                    "records_unchanged",
                    "records_quarantined",
                    "events_loaded",
                )
            ),
        )
    console = _console()
    console.print(table)
    for r in reports:
        if r["quarantine_reasons"]:
            reasons = ", ".join(f"{k} ×{v}" for k, v in r["quarantine_reasons"].items())
            console.print(f"[yellow]{Path(r['file']).name}: quarantined because {reasons}[/]")
        for warning in r["warnings"]:
            console.print(f"[yellow]{Path(r['file']).name}: {warning}[/]")
        for line in describe_notes(r.get("notes")):
            console.print(f"{Path(r['file']).name}: {line}", markup=False, highlight=False)
