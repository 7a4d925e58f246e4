"""``supportflow ingest-synced PATH``: load a Zendesk schema that Fivetran or Airbyte synced."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from supportflow.cli.common import VERBOSE_HELP, _console, _fail, _setup, app
from supportflow.ingest.flavours import Flavour

HELP = (
    "Load Zendesk tickets, comments and field changes from a schema that Fivetran or Airbyte "
    "synced: a DuckDB file, or a folder of Parquet or CSV files named after the tables "
    "(Fivetran: ticket, ticket_comment, user, ticket_field_history, ticket_tag, "
    "satisfaction_rating; Airbyte: tickets, ticket_comments, users, ticket_audits, "
    "ticket_fields).\n\n"
    "Tickets are rebuilt in Zendesk's API shape and loaded exactly like `supportflow ingest` "
    "loads a Zendesk export (validation, PII redaction, idempotent merge), in batches of "
    "SUPPORTFLOW_INGEST_CHUNK_ROWS tickets. Running it again on an unchanged sync changes "
    "nothing.\n\n"
    "Example: supportflow ingest-synced exports/zendesk_fivetran/ --schema fivetran"
)


@app.command("ingest-synced", help=HELP)
def ingest_synced_command(
    path: Annotated[
        Path, typer.Argument(help="A DuckDB file, or a folder of <table>.parquet / <table>.csv.")
    ],
    schema: Annotated[
        Flavour | None,
        typer.Option(
            "--schema", help="Which connector wrote it (default: detected from the table names)."
        ),
    ] = None,
    db_schema: Annotated[
        str | None,
        typer.Option(help="The schema inside a DuckDB file that holds the tables, if several."),
    ] = None,
    chunk_size: Annotated[
        int | None,
        typer.Option(min=1, help="Tickets per batch (default: SUPPORTFLOW_INGEST_CHUNK_ROWS)."),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help=VERBOSE_HELP)] = False,
) -> None:
    """Load a synced Zendesk schema (help text: ``HELP``) and print its batches."""
    settings = _setup(verbose)
    from supportflow.cli.ingest import print_batches
    from supportflow.ingest.sources import SourceError
    from supportflow.ingest.synced import SyncedSchemaError, SyncedSource, ingest_synced
    from supportflow.warehouse import WarehouseLockedError, connect

    try:
        # The warehouse is opened only once the schema is known to be readable.
        with (
            SyncedSource(path, schema, db_schema=db_schema, settings=settings) as source,
            connect(settings) as con,
        ):
            report = ingest_synced(con, source, settings=settings, chunk_size=chunk_size)
    except (SyncedSchemaError, SourceError, WarehouseLockedError) as exc:
        _fail(str(exc))
    console = _console()
    console.print(report.summary(), markup=False, highlight=False)
    for warning in report.warnings:
        console.print(f"[yellow]{warning}[/]")
    if report.batches:
        print_batches(report.batches)
