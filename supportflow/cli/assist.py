"""Commands for agent assist and QA: assist one ticket or all new ones, sample AI outputs for
human audit, record verdicts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from supportflow.cli.common import (
    DaskAddress,
    DaskWorkers,
    _console,
    _fail,
    _quiet_prefect_failures,
    _setup,
    app,
)

ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="Overlay on the default assist.yaml.")
]


@app.command("assist")
def assist(
    ticket_id: Annotated[str, typer.Argument(help="e.g. zendesk:100017")],
    config: ConfigOption = None,
) -> None:
    """Summary, reply draft with citations and guardrail findings, related tickets, incident and
    missing fields for one ticket (computed now if missing or stale)."""
    settings = _setup(api=True)
    from flows.assist_tickets import AssistParams, assist_tickets
    from supportflow.assist import store
    from supportflow.assist.macros import MacroLibraryError
    from supportflow.warehouse import connect

    with connect(settings) as con:
        found = con.execute(
            "SELECT has_text FROM landing.ticket_texts WHERE ticket_id = ?",
            [ticket_id],
        ).fetchall()
    if not found:
        _fail(f"no ticket {ticket_id!r} in the warehouse")
    if not found[0][0]:
        _fail(f"ticket {ticket_id} has no subject or body text: nothing to assist")
    try:
        with _quiet_prefect_failures():
            assist_tickets(AssistParams(config=config, ticket_ids=[ticket_id]))
    except (MacroLibraryError, FileNotFoundError, ValueError) as exc:
        _fail(str(exc))
    with connect(settings) as con:  # read-write: dbt may hold this file open in-process
        out = store.read_output(con, ticket_id)
    _print_assist(out)


def _print_assist(out: dict) -> None:
    from rich.panel import Panel

    console = _console()
    s = out["summary"]
    lines = [f"[bold]Problem[/]: {s['problem']}", f"[bold]State[/]: {s['state']}"]
    lines += [f"[bold]Tried[/]: {t}" for t in s["tried"]]
    lines += [f"[bold]Open question[/]: {q}" for q in s["open_questions"]]
    lines += [f"[bold]Earlier[/]: {h}" for h in s["history"]]
    console.print(Panel("\n".join(lines), title=f"{out['ticket_id']} — summary"))
    status = "[red]NEEDS REWRITE[/]" if out["needs_rewrite"] else "[green]ok to send[/]"
    console.print(Panel(out["draft"], title=f"draft ({out['macro_id'] or 'no macro'}) — {status}"))
    for c in out["citations"]:
        console.print(f"cites: {c['title']} <{c['url']}> (similarity {c['similarity']:.2f})")
    for f in out["findings"]:
        flag = "BLOCKS" if f["blocking"] else "note"
        span = out["draft"][f["start"] : f["end"]][:60]
        console.print(f"[{'red' if f['blocking'] else 'yellow'}]{flag}[/] {f['code']}: "
                      f"{f['message']} [dim]«{span}»[/]")  # fmt: skip
    if out["missing_fields"]:
        console.print("missing: " + ", ".join(out["missing_fields"]))
    for key, label in (("duplicates", "duplicate of"), ("related_open", "related open")):
        for r in out[key]:
            console.print(f"{label}: {r['ticket_id']} (similarity {r['similarity']:.2f})")
    if out["incident"]:
        i = out["incident"]
        console.print(f"[bold]incident[/] {i['incident_id']} «{i['label']}» since "
                      f"{i['started_at']:%Y-%m-%d %H:%M} ({i['link']})")  # fmt: skip


@app.command("assist-batch")
def assist_batch(
    config: ConfigOption = None,
    dask_workers: DaskWorkers = 0,
    dask_address: DaskAddress = None,
) -> None:
    """Assist new or updated tickets of the working set (open, or created within assist.yaml's
    recent_days of the newest) and recompute incident bursts (the nightly step). Drafts,
    guardrail checks and summaries are computed on Dask workers with --dask-workers or
    --dask-address."""
    _setup(api=True)
    from flows.assist_tickets import AssistParams, run_assist_tickets
    from supportflow.assist.macros import MacroLibraryError

    params = AssistParams(config=config, dask_workers=dask_workers, dask_address=dask_address)
    try:
        with _quiet_prefect_failures():
            out = run_assist_tickets(params)
    except (MacroLibraryError, FileNotFoundError, ValueError) as exc:
        _fail(str(exc))
    if not out.assisted:
        _console().print(
            f"nothing new to assist; {out.incidents} incident(s) covering "
            f"{out.incident_tickets:,} tickets"
        )
        return
    _console().print(
        f"assisted {out.assisted:,} tickets ({out.needs_rewrite:,} drafts need a rewrite); "
        f"{out.incidents} incident(s) covering {out.incident_tickets:,} tickets"
        + (f"; {len(out.no_text)} without text skipped" if out.no_text else "")
    )


@app.command("qa-sample")
def qa_sample(
    day: Annotated[
        str | None, typer.Option(help="YYYY-MM-DD (default: every day with tickets).")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Stratified sample of AI outputs (answers, drafts, routes) for human audit."""
    settings = _setup()
    from datetime import datetime

    from supportflow.assist.config import load_assist_config
    from supportflow.assist.qa import sample_days
    from supportflow.knowledge.config import load_knowledge_config
    from supportflow.warehouse import connect

    per_stratum = load_assist_config(config).qa.per_stratum
    threshold = load_knowledge_config().answer.min_similarity
    try:
        only = datetime.strptime(day, "%Y-%m-%d").date() if day is not None else None
    except ValueError:
        _fail(f"--day {day!r} is not a date (YYYY-MM-DD)")
    with connect(settings) as con:
        totals = sample_days(con, per_stratum, threshold, since=only, until=only)
    _console().print("new QA samples: " + ", ".join(f"{k} {v:,}" for k, v in totals.items()))


@app.command("qa-verdict")
def qa_verdict(
    sample_id: Annotated[str, typer.Argument()],
    verdict: Annotated[str, typer.Argument(help="pass · fail")],
    reviewer: Annotated[str, typer.Option(help="Who audited it.")],
    notes: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Record a human audit verdict for one QA sample."""
    settings = _setup()
    from supportflow.assist.qa import record_verdict
    from supportflow.warehouse import connect

    try:
        with connect(settings) as con:
            record_verdict(con, sample_id, verdict, reviewer, notes)
    except ValueError as exc:
        _fail(str(exc))
    _console().print(f"recorded {verdict} for {sample_id}")
