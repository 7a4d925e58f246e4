"""``supportflow demo generate`` and ``demo run`` (the demo flow, ``flows/demo.py``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from supportflow.cli.common import _console, _fail, _setup, demo_app
from supportflow.demo import DEMO_DAYS, DEMO_TICKETS


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


@demo_app.command("run")
def demo_run(
    tickets: Annotated[int, typer.Option(min=1)] = DEMO_TICKETS,
    days: Annotated[int, typer.Option(min=1)] = DEMO_DAYS,
    seed: Annotated[int, typer.Option()] = 7,
    train: Annotated[bool, typer.Option(help="Also train a quick triage model.")] = True,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Also the libraries' progress bars and notes.")
    ] = False,
) -> None:
    """Generate demo data (once), run the nightly flow on its Zendesk export and help center,
    train a quick triage model on the settled tickets, put it in shadow, score, show results."""
    settings = _setup(verbose, api=True)
    from flows.demo import DemoParams, demo

    console = _console()
    steps = f" → quick triage model (MLflow at {settings.mlflow_tracking_uri})" if train else ""
    console.print(f"[bold]Demo[/]: {tickets:,} tickets, {days} days, seed {seed} → nightly{steps}")
    result = demo(DemoParams(tickets=tickets, days=days, seed=seed, train=train))
    print_demo(settings, result)


def print_demo(settings, result) -> None:
    """The demo flow's ``DemoResult``: what the nightly run loaded and built, the warehouse, the
    retrained version and its scores, the scorecard."""
    from supportflow.cli.ingest import print_batches
    from supportflow.cli.knowledge import print_reindex
    from supportflow.cli.training import print_training
    from supportflow.dbt_runner import describe
    from supportflow.report.status import render_status

    console = _console()
    night = result.nightly
    print_batches(night.batches)
    print_reindex(night.knowledge)
    escalation = night.escalation
    console.print(
        f"escalation rules {escalation.rules_version}: decided {escalation.decided:,} tickets"
    )
    if (assisted := night.assist) is not None:
        console.print(
            f"agent assist: {assisted.assisted:,} tickets ({assisted.needs_rewrite:,} drafts "
            f"held by guardrails); {assisted.incidents} incident(s); QA samples "
            + ", ".join(f"{k} {v}" for k, v in assisted.qa_samples.items())
        )
    console.print(describe(night.dbt))
    if result.retrain is not None:
        print_training(result.retrain.training)
        shadow = result.retrain.shadow
        name, version = shadow.model_name, shadow.version
        if not shadow.passed:
            failed = "; ".join(f"{g.name}: {g.detail}" for g in shadow.failed_gates)
            console.print(f"{name} v{version} stays out of shadow ({failed}); nothing to score")
        else:
            console.print(f"[bold]{name} v{version} holds shadow[/] (offline gates passed)")
            for s in result.scored:
                console.print(f"v{s.version} ({s.phase}): scored {s.scored:,} tickets")
    render_status(settings, console)  # the warehouse at the end, with the model's quality
    print_step_times(result.seconds, console)
    console.print(f"[bold]Scorecard[/]: {result.scorecard.html}")
    if result.scorecard.png is not None:
        console.print(f"[bold]Screenshot[/]: {result.scorecard.png}")
    else:
        console.print("(no Chromium here, so no screenshot: `apt-get install chromium` for one)")
    for line in what_to_open(settings, result.scorecard.html):
        console.print(line, highlight=False, soft_wrap=True)


def print_step_times(seconds: dict[str, float], console) -> None:
    """A table of the demo's steps (nightly sub-steps indented) and their wall-clock seconds."""
    from rich.table import Table

    table = Table(title="Step times")
    table.add_column("step")
    table.add_column("seconds", justify="right")
    top = 0.0
    for step, value in seconds.items():
        nested = step.startswith("nightly · ")
        table.add_row(f"  {step.removeprefix('nightly · ')}" if nested else step, f"{value:,.1f}")
        top += 0.0 if nested else value
    table.add_row("[bold]total[/]", f"[bold]{top:,.1f}[/]")
    console.print(table)


def what_to_open(settings, scorecard) -> list[str]:
    """The three things to look at after the demo, with the commands for this home: the
    scorecard, the MLflow UI on this home's registry, the Prefect UI on this home's flow runs
    (the temporary API kept them in ``PREFECT_HOME``'s database). The tools are named by their
    path in this environment when it is not on ``PATH`` (``make demo`` runs from a venv that is
    not activated)."""
    import shlex

    prefect_home = shlex.quote(str(settings.home.resolve() / "prefect"))
    return [
        "[bold]Open next[/]:",
        f"  the scorecard        {scorecard}",
        f"  the model registry   {tool('mlflow')} ui --backend-store-uri "
        f"{shlex.quote(settings.mlflow_tracking_uri)}",
        f"  the flow runs        PREFECT_HOME={prefect_home} {tool('prefect')} server start",
    ]


def tool(name: str) -> str:
    """``name`` when ``PATH`` finds this environment's copy, else its path beside the running
    Python (a virtual environment's ``bin/``), relative to the working folder when inside it."""
    import os
    import shutil
    import sys
    from pathlib import Path

    beside = Path(sys.executable).parent / name
    if not beside.exists() or shutil.which(name) == str(beside):
        return name
    try:
        return os.path.relpath(beside) if beside.is_relative_to(Path.cwd()) else str(beside)
    except ValueError:
        return str(beside)
