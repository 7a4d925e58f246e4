"""``supportflow pull …``: pull tickets live from a helpdesk API into the warehouse (resumable)."""

from __future__ import annotations

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

pull_app = typer.Typer(
    help="Pull tickets live from a helpdesk API into the warehouse (resumes from stored cursors).",
    no_args_is_help=True,
)
app.add_typer(pull_app, name="pull")


ZENDESK_HELP = (
    "Pull tickets (with their users) and ticket events (with comments) changed since the last "
    "pull, from Zendesk's Incremental Export API, into the warehouse.\n\n"
    "Credentials come from the environment only: ZENDESK_API_TOKEN with ZENDESK_EMAIL (or "
    "--email), or ZENDESK_OAUTH_TOKEN.\n\n"
    "Each page is validated, redacted and loaded like `supportflow ingest`, then deleted; its "
    "cursor is stored in landing.pull_state, so a run stopped at any point resumes there. The "
    "first pull needs --start.\n\n"
    "Example: supportflow pull zendesk --subdomain acme --start 2026-01-01"
)


@pull_app.command("zendesk", help=ZENDESK_HELP)
def pull_zendesk_command(
    subdomain: Annotated[
        str,
        typer.Option(
            envvar="ZENDESK_SUBDOMAIN",
            help="Your Zendesk subdomain: acme for https://acme.zendesk.com.",
        ),
    ],
    start: Annotated[
        str | None,
        typer.Option(
            help="Where to begin when nothing was pulled before: YYYY-MM-DD, an ISO-8601 time "
            "(UTC) or Unix seconds. Ignored once a cursor is stored (see --restart)."
        ),
    ] = None,
    email: Annotated[
        str | None,
        typer.Option(envvar="ZENDESK_EMAIL", help="Agent email that goes with ZENDESK_API_TOKEN."),
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option(help="API root instead of https://<subdomain>.zendesk.com (a proxy, tests)."),
    ] = None,
    events: Annotated[
        bool, typer.Option(help="Also pull ticket events (comments and field changes).")
    ] = True,
    restart: Annotated[
        bool, typer.Option("--restart", help="Ignore the stored cursors and begin at --start.")
    ] = False,
    retries: Annotated[
        int,
        typer.Option(min=0, help="Whole-pull re-runs after a transient failure (each resumes)."),
    ] = 0,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help=VERBOSE_HELP)] = False,
) -> None:
    """Pull from Zendesk (help text: ``ZENDESK_HELP``) and print one line per stream."""
    _setup(verbose, api=True)
    from pydantic import ValidationError

    from flows.pull_zendesk import PullZendeskParams, pull_zendesk
    from supportflow.ingest.pull import PullError, describe
    from supportflow.warehouse import WarehouseLockedError

    try:
        params = PullZendeskParams(
            subdomain=subdomain, start=start or None, email=email, base_url=base_url,
            events=events, restart=restart, retries=retries,
        )  # fmt: skip
    except ValidationError as exc:
        _fail("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))
    try:
        with _quiet_prefect_failures():
            result = pull_zendesk(params)
    except (PullError, WarehouseLockedError) as exc:
        _fail(str(exc))
    console = _console()
    for stream in result.streams:
        console.print(describe(stream), highlight=False)
