"""``supportflow build-metrics``, ``status`` and ``report``: marts, warehouse, scorecard."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from supportflow.cli.common import _console, _fail, _quiet_prefect_failures, _setup, app, one_line


@app.command("build-metrics")
def build_metrics_command(
    select: Annotated[str | None, typer.Option(help="dbt node selection, e.g. 'staging'.")] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Build even when nothing it reads changed (no source row, dbt file, var or "
            "UTC date since the last build with this --select, every mart still there).",
        ),
    ] = False,
) -> None:
    """Run dbt build (models and data tests) on the warehouse; skipped while nothing it reads
    changed."""
    _setup(api=True)
    from flows.build_metrics import build_metrics
    from supportflow.dbt_runner import DbtBuildError, describe

    try:
        with _quiet_prefect_failures():
            result = build_metrics(select, force)
    except (DbtBuildError, FileNotFoundError, ValueError) as exc:
        _fail(str(exc))
    _console().print(describe(result))


@app.command()
def status() -> None:
    """Summarise the warehouse: row counts, recent batches, quarantine reasons."""
    settings = _setup()
    from supportflow.report.status import render_status

    if not settings.warehouse.exists():
        _fail(f"no warehouse at {settings.warehouse}; run `supportflow ingest` or `make demo`")
    render_status(settings, _console())


@app.command()
def report(
    out: Annotated[
        Path | None,
        typer.Option(help="HTML file to write (default: <home>/reports/scorecard.html)."),
    ] = None,
    screenshot: Annotated[
        bool, typer.Option(help="Also write a PNG beside it (needs Chromium on the machine).")
    ] = False,
) -> None:
    """Render the leadership scorecard (one offline HTML file) from the dbt marts."""
    settings = _setup()
    import duckdb

    from supportflow.report.scorecard import write_scorecard

    if not settings.warehouse.exists():
        _fail(f"no warehouse at {settings.warehouse}; run `make demo` or the nightly flow first")
    try:
        path = write_scorecard(settings, out)
    except duckdb.CatalogException as exc:
        _fail(f"the marts are not built ({one_line(exc)}); run `supportflow build-metrics` first")
    _console().print(f"scorecard: {path}")
    if screenshot:
        from supportflow.report.browser import screenshot as render_png

        try:
            _console().print(f"screenshot: {render_png(path)}")
        except RuntimeError as exc:
            _fail(str(exc))
