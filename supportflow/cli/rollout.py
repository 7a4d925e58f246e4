"""Commands that put a registered model to work: score, promote, rollback."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from supportflow.cli.common import (
    VERBOSE_HELP,
    DaskAddress,
    DaskWorkers,
    _console,
    _fail,
    _quiet_prefect_failures,
    _setup,
    app,
)

ModelName = Annotated[str, typer.Argument(help="Registered model name.")]
ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="Overlay on the default rollout.yaml.")
]


@app.command()
def score(
    model_name: ModelName = "triage-classifier",
    config: ConfigOption = None,
    dask_workers: DaskWorkers = 0,
    dask_address: DaskAddress = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help=VERBOSE_HELP)] = False,
) -> None:
    """Score new tickets with every version holding a rollout phase (shadow, assist, auto_route)."""
    _setup(verbose, api=True)
    from flows.score_tickets import ScoreParams, run_scoring
    from supportflow.rollout.registry import RolloutError
    from supportflow.rollout.targets import nothing_deployed
    from supportflow.scoring import ScoringError

    try:
        with _quiet_prefect_failures():
            summaries = run_scoring(
                ScoreParams(
                    model_name=model_name,
                    config=config,
                    dask_workers=dask_workers,
                    dask_address=dask_address,
                )
            )
    except (RolloutError, ScoringError, FileNotFoundError, ValueError) as exc:
        _fail(str(exc))
    if not summaries:
        _fail(nothing_deployed(model_name))
    console = _console()
    for s in summaries:
        drifted = [f for f, row in s.drift.items() if row["drifted"]]
        console.print(
            f"{s.model_name} v{s.version} ({s.phase}): scored {s.scored:,} tickets "
            f"in {s.partitions} partition(s)"
            + (f", {s.stored_vectors:,} read stored ticket vectors" if s.stored_vectors else "")
            + (f"; DRIFT in {', '.join(drifted)}" if drifted else "")
        )
    if summaries[0].empty_text:
        console.print(f"{summaries[0].empty_text:,} tickets have no text and were not scored")


@app.command()
def promote(
    model_name: ModelName,
    version: Annotated[int, typer.Option(help="The registered version to move.")],
    to: Annotated[str, typer.Option("--to", help="shadow · assist · auto_route")],
    force: Annotated[bool, typer.Option(help="Move even if gates fail (needs --reason).")] = False,
    reason: Annotated[str | None, typer.Option(help="Why; recorded with the decision.")] = None,
    config: ConfigOption = None,
) -> None:
    """Move a version into a rollout phase if it passes the gates; every attempt is recorded."""
    settings = _setup()
    from supportflow.rollout.promote import promote_in
    from supportflow.rollout.registry import RolloutError

    try:
        decision = promote_in(settings, model_name, version, to, config, force=force, reason=reason)
    except (RolloutError, FileNotFoundError, ValueError) as exc:
        _fail(str(exc))
    _print_gates(decision)
    if not decision.passed:
        _fail(
            f"{model_name} v{version} stays where it is: {len(decision.failed_gates)} gate(s) "
            "failed (use --force --reason '…' to override, recorded)"
        )
    note = " (FORCED: " + decision.reason + ")" if decision.forced else ""
    _console().print(f"[bold]{model_name} v{version} now holds {to}[/]{note}")


@app.command()
def rollback(
    model_name: ModelName,
    phase: Annotated[str, typer.Option(help="The phase to hand back to its previous holder.")],
    reason: Annotated[str | None, typer.Option(help="Why; recorded with the decision.")] = None,
) -> None:
    """Give a phase back to the version that held it before (or to nobody)."""
    settings = _setup()
    from supportflow.rollout.promote import rollback as roll_back
    from supportflow.rollout.registry import RolloutError, client
    from supportflow.warehouse import connect

    try:
        with connect(settings) as con:
            mlc = client(settings.mlflow_tracking_uri)
            decision = roll_back(con, mlc, model_name, phase, reason=reason)
    except RolloutError as exc:
        _fail(str(exc))
    holder = f"v{decision.version}" if decision.version is not None else "nobody"
    _console().print(
        f"[bold]{phase}[/] of {model_name}: v{decision.previous_version} removed, now {holder}"
    )


def _print_gates(decision) -> None:
    from rich.table import Table

    table = Table(
        title=f"gates for {decision.model_name} v{decision.version} → {decision.to_phase}"
    )
    for col in ("gate", "result", "measured"):
        table.add_column(col)
    for gate in decision.gates:
        table.add_row(gate.name, "pass" if gate.passed else "[red]FAIL[/]", gate.detail)
    _console().print(table)
