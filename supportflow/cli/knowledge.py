"""Commands for the help center: reindex, search, answer, suggest."""

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
    Path | None, typer.Option("--config", help="Overlay on the default knowledge.yaml.")
]


@app.command()
def reindex(
    path: Annotated[Path, typer.Argument(help="Folder of Markdown articles or a Zendesk .json.")],
    config: ConfigOption = None,
    audit: Annotated[bool, typer.Option(help="Audit KB health after reindexing.")] = True,
    suggest: Annotated[bool, typer.Option(help="Suggest articles for new tickets.")] = True,
    dask_workers: DaskWorkers = 0,
    dask_address: DaskAddress = None,
) -> None:
    """Reindex help-center articles (only changed ones are re-embedded), audit, suggest.
    New tickets are embedded on Dask workers with --dask-workers or --dask-address."""
    _setup(api=True)
    from flows.reindex_knowledge import ReindexParams, run_reindex

    if not path.exists():
        _fail(f"{path} does not exist")
    try:
        with _quiet_prefect_failures():
            out = run_reindex(
                ReindexParams(path=path, config=config, audit=audit, suggest=suggest,
                              dask_workers=dask_workers, dask_address=dask_address)
            )  # fmt: skip
    except (FileNotFoundError, ValueError) as exc:
        _fail(str(exc))
    if out.reindex.empty:  # e.g. "no articles in kb/: 12 files skipped (…)"
        _fail(out.reindex.empty)
    print_reindex(out)


def print_reindex(out) -> None:
    """A ``KnowledgeRefresh``: reindex counts, skipped files, KB health and suggestions; a source
    with no article is one line saying why."""
    console = _console()
    if (r := out.reindex) is not None:
        if r.empty:
            console.print(f"[yellow]{r.empty}[/]")
            return
        console.print(
            f"[bold]index {r.index_version}[/]: {r.articles_in} in — {r.articles_new} new, "
            f"{r.articles_reembedded} re-embedded, {r.articles_metadata} metadata only, "
            f"{r.articles_unchanged} unchanged, {r.articles_rejected} rejected; "
            f"{r.articles_deleted} removed; {r.chunks_embedded} passages embedded "
            f"({r.chunks_total} in the index)"
        )
        for p in r.problems:
            console.print(f"  [yellow]skipped[/] {p.source_file}: {p.reason}")
    if (audit := out.audit) is not None and audit.skipped:
        console.print(f"KB health: skipped ({audit.skipped})")
    elif audit is not None:
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(audit.findings.items()))
        console.print(f"KB health findings: {kinds or 'none'}")
        for gap in audit.coverage_gaps[:5]:
            console.print(
                f"  coverage gap: {gap.tickets} tickets like "
                f"{gap.example_subjects[0]!r} ({', '.join(gap.terms[:4])})"
            )
    if out.suggestions is not None:
        console.print(f"suggested articles for {out.suggestions.suggested:,} new tickets")


def _index(settings, config_path: Path | None):
    from supportflow.knowledge.config import load_knowledge_config
    from supportflow.knowledge.search import EmptyIndexError, KnowledgeIndex
    from supportflow.warehouse import connect

    try:
        config = load_knowledge_config(config_path)
        with connect(settings, read_only=settings.warehouse.exists()) as con:
            return KnowledgeIndex.load(
                con, config.index.encoder, config.index.language_encoders
            ), config
    except (EmptyIndexError, FileNotFoundError, ValueError) as exc:
        _fail(str(exc))


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="What to look for.")],
    k: Annotated[int, typer.Option("-k", min=1, help="Articles to return.")] = 5,
    audience: Annotated[str | None, typer.Option(help="'public' hides internal articles.")] = None,
    method: Annotated[str, typer.Option(help="hybrid · lexical · vector")] = "hybrid",
    include_drafts: Annotated[bool, typer.Option(help="Also draft and archived.")] = False,
) -> None:
    """Search the knowledge index; one line per article with the passage that matched."""
    settings = _setup()
    from rich.table import Table

    if audience not in (None, "public", "internal"):
        _fail(f"unknown audience {audience!r} (public or internal)")
    index, config = _index(settings, None)
    languages = None
    if len(index.routes()) > 1:  # a question in a routed language is searched with its encoder
        from supportflow.ingest.language import detect_question_languages

        languages = detect_question_languages([query])
    try:
        hits = index.search(
            query, k, audience=audience, published_only=not include_drafts, method=method,
            config=config.search, languages=languages,
        )  # fmt: skip
    except ValueError as exc:
        _fail(str(exc))
    table = Table(title=f"{query!r} — index {index.version}")
    for col in ("#", "article", "audience", "similarity", "passage"):
        table.add_column(col)
    for h in hits:
        passage = h.text.replace("\n", " ")
        table.add_row(
            str(h.rank), f"{h.title}\n{h.url or h.article_id}",
            h.audience if h.status == "published" else f"{h.audience} ({h.status})",
            f"{h.similarity:.2f}", passage[:160] + ("…" if len(passage) > 160 else ""),
        )  # fmt: skip
    _console().print(table)


@app.command()
def answer(
    question: Annotated[str | None, typer.Argument(help="A customer's question.")] = None,
    ticket: Annotated[str | None, typer.Option(help="Answer this ticket (its ticket_id).")] = None,
) -> None:
    """A self-service answer from approved public articles, with citation — or why not."""
    settings = _setup()
    from supportflow.knowledge.answer import answer_many

    if (question is None) == (ticket is None):
        _fail("give either a QUESTION or --ticket ID")
    languages = None  # a question's language is detected; a ticket's is the one ingest kept
    if ticket is not None:
        question, language = _ticket_text(settings, ticket)
        languages = [language]
    from supportflow.knowledge.config import answer_configs

    index, config = _index(settings, None)
    by_encoder = answer_configs(config)
    result = answer_many(index, [question], config.answer, config.search, languages, by_encoder)[0]
    console = _console()
    if not result.answered:
        similarity = f"{result.similarity:.2f}" if result.similarity is not None else "n/a"
        console.print(
            f"[bold yellow]abstain[/]: {result.abstain_reason} (best approved similarity "
            f"{similarity}; needs {result.threshold:.2f})"
        )
        raise typer.Exit(2)
    c = result.citation
    console.print(result.text)
    updated = f", updated {c.updated_at:%Y-%m-%d}" if c.updated_at else ""
    console.print(f"\n[dim]source: {c.title} — {c.url or c.article_id}{updated}[/]")


def _ticket_text(settings, ticket_id: str) -> tuple[str, str | None]:
    """(subject and body, language) of a ticket in the warehouse; exits when it has no text."""
    from supportflow.warehouse import connect

    with connect(settings, read_only=settings.warehouse.exists()) as con:
        rows = con.execute(
            "SELECT ticket_text, language FROM landing.ticket_texts WHERE ticket_id = ?",
            [ticket_id],
        ).fetchall()
    if not rows:
        _fail(f"no ticket {ticket_id!r} in the warehouse")
    if not rows[0][0].strip():
        _fail(f"ticket {ticket_id!r} has no text to answer")
    return rows[0][0], rows[0][1]


@app.command()
def suggest(config: ConfigOption = None) -> None:
    """Suggest cited articles for every ticket that has none yet (agent assist)."""
    _setup(api=True)
    from flows.suggest_articles import SuggestParams, suggest_articles

    try:
        with _quiet_prefect_failures():
            done = suggest_articles(SuggestParams(config=config)).suggestions
    except (FileNotFoundError, ValueError) as exc:
        _fail(str(exc))
    if done.skipped:
        _fail(done.skipped)
    _console().print(f"suggested articles for {done.suggested:,} tickets")
