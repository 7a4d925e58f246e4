"""The ``supportflow`` command: one command per flow, plus demo data and status.

Heavy libraries (Prefect, dbt, DuckDB, torch) are imported inside commands so that
``supportflow --help`` answers instantly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from supportflow.cli_common import _console, _fail, _quiet_prefect_failures, _setup, app, demo_app
from supportflow.ingest.sources import Format


@demo_app.command("generate")
def demo_generate(
    out: Annotated[Path, typer.Option(help="Folder to write the export files and knowledge base.")],
    tickets: Annotated[int, typer.Option(min=1, help="Number of tickets.")] = 5_000,
    days: Annotated[int, typer.Option(min=1, help="Days of history, ending 2026-10-31.")] = 90,
    seed: Annotated[int, typer.Option(help="Random seed; same seed, same data.")] = 7,
    formats: Annotated[
        str, typer.Option(help="Comma-separated: zendesk,jsonl,csv.")
    ] = "zendesk,jsonl,csv",
    workers: Annotated[int, typer.Option(min=1, help="Processes generating in parallel.")] = 2,
) -> None:
    """Write seeded demo tickets (Zendesk-style JSON, JSONL, CSV) and a knowledge base."""
    from supportflow.demo.write import write_demo

    chosen = frozenset(f.strip() for f in formats.split(",") if f.strip())
    unknown = chosen - {"zendesk", "jsonl", "csv"}
    if unknown:
        _fail(f"unknown format(s) {sorted(unknown)}; choose from zendesk, jsonl, csv")
    manifest = write_demo(
        out,
        tickets=tickets,
        days=days,
        seed=seed,
        formats=chosen,
        workers=workers,
        progress=_progress_printer("generated"),
    )
    _console().print_json(data=manifest)


def _progress_printer(verb: str):
    console = _console()

    def show(done: int) -> None:
        console.print(f"  {verb} {done:,} tickets", highlight=False)

    return show


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
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Validate, redact and load ticket exports; bad records go to landing.quarantine."""
    _setup(verbose)
    from flows.ingest_tickets import IngestFailed, IngestParams, ingest_tickets

    try:
        with _quiet_prefect_failures():
            reports = ingest_tickets(
                IngestParams(paths=paths, format=format, mapping=mapping, source=source)
            )
    except (IngestFailed, FileNotFoundError, ValueError) as exc:
        _fail(str(exc))
    _print_batches(reports)


def _print_batches(reports: list[dict]) -> None:
    from rich.table import Table

    from supportflow.ingest.runner import describe_notes

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


@app.command("build-metrics")
def build_metrics_command(
    select: Annotated[str | None, typer.Option(help="dbt node selection, e.g. 'staging'.")] = None,
) -> None:
    """Run ``dbt build`` (models and data tests) on the warehouse."""
    _setup()
    from flows.build_metrics import build_metrics
    from supportflow.dbt_runner import DbtBuildError

    try:
        result = build_metrics(select)
    except DbtBuildError as exc:
        _fail(str(exc))
    _console().print(
        f"dbt build: {result['passed']} passed, {result['failed']} failed, "
        f"{result['skipped']} skipped"
    )


@app.command()
def train(
    experiment: Annotated[Path, typer.Option("--experiment", "-e", help="experiments/<name>.yaml")],
    data: Annotated[
        Path | None, typer.Option(help="Labelled CSV instead of the warehouse.")
    ] = None,
    text_column: Annotated[str | None, typer.Option(help="Text column of --data.")] = None,
    label_column: Annotated[
        list[str] | None, typer.Option(help="Label column(s) of --data; repeat for several heads.")
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Fine-tune, calibrate and register a triage model (one MLflow run, one new version)."""
    _setup(verbose)
    from flows.train_triage_model import TrainParams, train_triage_model
    from models.triage.data import DataError

    try:
        info = train_triage_model(
            TrainParams(
                experiment=experiment,
                data=data,
                text_column=text_column,
                label_columns=label_column or None,
            )
        )
    except (DataError, FileNotFoundError, ValueError) as exc:
        _fail(str(exc))
    _print_training(info)


def _print_training(info: dict) -> None:
    from rich.table import Table

    console = _console()
    sizes = info["sizes"]
    console.print(
        f"[bold]Registered {info['model_uri']}[/] (experiment {info['experiment']}, "
        f"run {info['run_id']}); trained on {sizes['train']:,} examples in "
        f"{info['train_seconds']} s; validation {sizes['validation']:,}, "
        f"test {sizes['test']:,}"
    )
    side = "test" if "test" in info["metrics"] else "validation"
    table = Table(title=f"{side} metrics per field")
    for col in (
        "field",
        "accuracy",
        "macro-F1",
        "top-3",
        "ECE after",
        "suggest cov.",
        "suggest prec.",
        "auto cov.",
        "auto prec.",
    ):
        table.add_column(col, justify="left" if col == "field" else "right")
    for name, m in info["metrics"][side].items():
        keys = (
            "accuracy",
            "macro_f1",
            "top3_accuracy",
            "ece_after",
            "suggest_coverage",
            "suggest_precision",
            "auto_apply_coverage",
            "auto_apply_precision",
        )
        table.add_row(name, *(f"{m[f'{side}_{k}']:.3f}" for k in keys))
    console.print(table)


@app.command()
def predict(
    model: Annotated[str, typer.Option(help="models:/triage-classifier/<version> or @<alias>.")],
    data: Annotated[Path, typer.Option(help="CSV with a text column.")],
    out: Annotated[
        Path, typer.Option(help="CSV to write: per field label, confidence, abstained.")
    ],
    text_column: Annotated[str, typer.Option(help="Text column of --data.")] = "text",
) -> None:
    """Predict with a registered model version on any CSV (to evaluate it on labelled files)."""
    settings = _setup()
    import pandas as pd

    from models.triage.registry import load_model

    if not data.exists():
        _fail(f"{data}: no such file")
    frame = pd.read_csv(data)
    if text_column not in frame.columns:
        _fail(f"{data}: no column {text_column!r}; columns are {list(frame.columns)}")
    try:
        loaded = load_model(model, settings.mlflow_tracking_uri)
    except Exception as exc:  # MLflow raises its own types for unknown models/aliases
        _fail(f"cannot load {model}: {exc}")
    result = loaded.predict(pd.DataFrame({"text": frame[text_column]}))
    result.drop(columns=["text"]).join(frame).to_csv(out, index=False)
    _console().print(f"wrote {len(result):,} predictions to {out}")


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
    out: Annotated[Path | None, typer.Option(help="HTML file (default: <home>/reports/).")] = None,
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
        _fail(f"the marts are not built ({exc}); run `supportflow build-metrics` first")
    _console().print(f"scorecard: {path}")
    if screenshot:
        from supportflow.report.browser import screenshot as render_png

        try:
            _console().print(f"screenshot: {render_png(path)}")
        except RuntimeError as exc:
            _fail(str(exc))


@demo_app.command("run")
def demo_run(
    tickets: Annotated[int, typer.Option(min=1)] = 20_000,
    days: Annotated[int, typer.Option(min=1)] = 90,
    seed: Annotated[int, typer.Option()] = 7,
    train: Annotated[bool, typer.Option(help="Also train a quick triage model.")] = True,
) -> None:
    """Generate demo data (once), run the nightly flow on its Zendesk export and help center,
    train a quick triage model on the settled tickets, put it in shadow, score, show results."""
    settings = _setup()
    from flows.ingest_tickets import IngestParams
    from flows.nightly import NightlyParams, nightly
    from flows.reindex_knowledge import ReindexParams
    from supportflow.demo.write import write_demo
    from supportflow.report.status import render_status

    console = _console()
    out = settings.home.resolve() / "demo_data"
    export = out / "zendesk"
    manifest = out / "manifest.json"
    if not _same_demo(manifest, tickets, days, seed):
        console.print(f"[bold]Generating {tickets:,} demo tickets[/] into {out}")
        write_demo(
            out,
            tickets=tickets,
            days=days,
            seed=seed,
            workers=2,
            progress=_progress_printer("generated"),
        )
    console.print(f"[bold]Running the nightly flow[/] on {export}")
    result = nightly(
        NightlyParams(ingest=IngestParams(paths=[export]), knowledge=ReindexParams(path=out / "kb"))
    )
    _print_batches(result["batches"])
    cli_knowledge._print_reindex(result["knowledge"])
    escalation = result["escalation"]
    console.print(
        f"escalation rules {escalation['rules_version']}: decided {escalation['decided']:,} tickets"
    )
    assisted = result["assist"]
    if assisted:
        console.print(
            f"agent assist: {assisted['assisted']:,} tickets ({assisted['needs_rewrite']:,} drafts "
            f"held by guardrails); {assisted['incidents']} incident(s); QA samples "
            + ", ".join(f"{k} {v}" for k, v in assisted.get("qa_samples", {}).items())
        )
    dbt = result["dbt"]
    console.print(f"dbt build: {dbt['passed']} passed, {dbt['failed']} failed")
    render_status(settings, console)
    if train:
        from flows.retrain_weekly import RetrainParams, retrain_weekly
        from supportflow.yaml_config import config_file, shipped_dir

        experiment = shipped_dir("experiments") / "demo_quick.yaml"
        console.print(
            f"[bold]Retraining a quick triage model[/] ({experiment.name}; MLflow at "
            f"{settings.mlflow_tracking_uri}), then shadow if the offline gates pass"
        )
        gates = config_file("rollout_demo.yaml")  # rollout.yaml, looser ECE: ~200 test tickets
        info = retrain_weekly(RetrainParams(experiment=experiment, rollout_config=gates))
        _print_training(info)
        cli_rollout.score_shadow(settings, info)
    from supportflow.report.browser import find_chromium, screenshot
    from supportflow.report.scorecard import write_scorecard

    path = write_scorecard(settings)
    console.print(f"[bold]Scorecard[/]: {path}")
    if find_chromium():
        console.print(f"[bold]Screenshot[/]: {screenshot(path)}")
    else:
        console.print("(no Chromium here, so no screenshot: `apt-get install chromium` for one)")


def _same_demo(manifest: Path, tickets: int, days: int, seed: int) -> bool:
    import json

    if not manifest.exists():
        return False
    params = json.loads(manifest.read_text()).get("params", {})
    return params == {"tickets": tickets, "days": days, "seed": seed}


# After the commands above, so that --help lists them in pipeline order.
# isort: off
from supportflow import cli_pull  # noqa: E402, F401  (pull zendesk)
from supportflow import cli_synced  # noqa: E402, F401  (ingest-synced)
from supportflow import cli_rollout  # noqa: E402  (score · promote · rollback)
from supportflow import cli_knowledge  # noqa: E402  (reindex · search · answer · suggest)
from supportflow import cli_escalation  # noqa: E402, F401  (escalate · backfill-escalations)
from supportflow import cli_assist  # noqa: E402, F401  (assist · assist-batch · qa-sample · qa-verdict)
# isort: on

if __name__ == "__main__":
    app()
