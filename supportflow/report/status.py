"""``supportflow status``: what is in the warehouse, read-only."""

from __future__ import annotations

import json

from rich.console import Console
from rich.table import Table

from supportflow.ingest.runner import describe_notes
from supportflow.settings import Settings
from supportflow.warehouse import connect


def warehouse_status(settings: Settings) -> dict:
    """Row counts per landing table, recent batches and top quarantine reasons."""
    with connect(settings) as con:  # read-write: dbt in this process may hold the file
        counts = {
            t.split(".")[-1]: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
            for t in (
                "landing.tickets", "landing.ticket_events", "landing.ingest_batches",
                "landing.quarantine", "landing.kb_articles", "landing.kb_chunks",
                "ml.predictions", "ml.article_suggestions", "ops.escalation_decisions",
                "ml.ticket_vectors", "ml.assist_outputs", "ml.incidents", "ops.qa_samples",
                "ops.qa_verdicts",
            )
        }  # fmt: skip
        batches = con.execute("""
            SELECT file, records_in, records_loaded, records_updated, records_unchanged,
                   records_quarantined, finished_at, notes
            FROM landing.ingest_batches ORDER BY finished_at DESC LIMIT 5""").fetchall()
        reasons = con.execute("""
            SELECT split_part(reason, ':', 1) AS reason, count(*) FROM landing.quarantine
            GROUP BY 1 ORDER BY 2 DESC LIMIT 5""").fetchall()
        staged = (
            con.execute("""
            SELECT ticket_id, strftime(created_at, '%Y-%m-%d %H:%M'), priority, category,
                   body_preview
            FROM marts.fct_tickets ORDER BY created_at DESC LIMIT 5
        """).fetchall()
            if _has_view(con, "marts", "fct_tickets")
            else []
        )
    return {
        "counts": counts,
        "batches": batches,
        "reasons": reasons,
        "staged": staged,
        "warehouse": str(settings.warehouse),
    }


def _has_view(con, schema: str, name: str) -> bool:
    return bool(
        con.execute(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
            [schema, name],
        ).fetchall()
    )


def render_status(settings: Settings, console: Console) -> None:
    """Print the warehouse summary and the model-quality table to ``console``."""
    s = warehouse_status(settings)
    console.print(f"[bold]Warehouse[/] {s['warehouse']}")
    console.print("  " + ", ".join(f"{k}: {v:,}" for k, v in s["counts"].items()))
    if s["batches"]:
        table = Table(title="Recent batches")
        for col in ("file", "in", "loaded", "updated", "unchanged", "quarantined", "finished"):
            table.add_column(col)
        for f, *nums, finished, _ in s["batches"]:
            table.add_row(
                f.rsplit("/", 1)[-1], *(f"{n:,}" for n in nums), f"{finished:%Y-%m-%d %H:%M}"
            )
        console.print(table)
        for f, *_, notes in s["batches"]:
            for line in describe_notes(json.loads(notes) if notes else None):
                console.print(f"{f.rsplit('/', 1)[-1]}: {line}", markup=False, highlight=False)
    if s["reasons"]:
        console.print("Quarantine reasons: " + ", ".join(f"{r} ×{n}" for r, n in s["reasons"]))
    if s["staged"]:
        table = Table(title="Latest tickets (marts.fct_tickets)")
        for col in ("ticket_id", "created (UTC)", "priority", "category"):
            table.add_column(col, no_wrap=True)
        table.add_column("body", no_wrap=True, overflow="ellipsis", max_width=60)
        for row in s["staged"]:
            table.add_row(*(str(v) for v in row))
        console.print(table)
    render_model_quality(settings, console)


def model_quality(settings: Settings) -> list[tuple]:
    """Rows of marts.fct_model_quality (empty before the mart is built)."""
    with connect(settings) as con:
        if not _has_view(con, "marts", "fct_model_quality"):
            return []
        return con.execute("""
            SELECT model_name, model_version, phase, label_field, scored_tickets, closed_tickets,
                   agreement, coverage, override_rate, drifted
            FROM marts.fct_model_quality ORDER BY ALL""").fetchall()


def render_model_quality(settings: Settings, console: Console) -> None:
    """Print marts.fct_model_quality as a table, or say that there is none yet."""
    rows = model_quality(settings)
    if not rows:
        console.print("No model quality yet (score tickets, then build metrics).")
        return
    table = Table(title="Model quality by version and phase (marts.fct_model_quality)")
    for col in (
        "model",
        "version",
        "phase",
        "field",
        "scored",
        "settled",
        "agreement",
        "coverage",
        "override",
        "drift",
    ):
        table.add_column(col)
    for name, version, phase, field, scored, settled, agree, cover, override, drifted in rows:
        table.add_row(
            name,
            str(version),
            phase,
            field,
            f"{scored:,}",
            f"{settled:,}",
            _pct(agree),
            _pct(cover),
            _pct(override),
            "DRIFT" if drifted else "ok",
        )
    console.print(table)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f} %"
