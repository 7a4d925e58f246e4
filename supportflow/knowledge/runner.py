"""The knowledge steps as library entry points: each takes ``Settings``, opens the warehouse
itself (one writer at a time) and returns a typed summary. Flows and the CLI call these."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from supportflow.assist.config import AssistConfig, incident_encoder, load_assist_config
from supportflow.knowledge import ticket_vectors
from supportflow.knowledge.audit import CoverageGap, audit_inputs, audited, run_audit
from supportflow.knowledge.config import KnowledgeConfig
from supportflow.knowledge.index import ReindexSummary, reindex
from supportflow.knowledge.search import EmptyIndexError, KnowledgeIndex
from supportflow.knowledge.suggest import count_pending, drop_retracted, suggest_new_tickets
from supportflow.settings import Settings
from supportflow.warehouse import connect, prune_without_text

Progress = Callable[[int, int], None] | None


@dataclass
class AuditSummary:
    """A KB health audit: findings counted by kind, the coverage gaps; ``skipped`` says why
    there was no audit (``audit_id`` is then None)."""

    audit_id: str | None
    findings: dict[str, int] = field(default_factory=dict)
    coverage_gaps: list[CoverageGap] = field(default_factory=list)
    skipped: str | None = None


@dataclass
class SuggestSummary:
    """Tickets that got cited article suggestions; ``skipped`` says why none could."""

    suggested: int = 0
    skipped: str | None = None
    retracted: int = 0  # tickets whose suggestions cited a retracted article (re-suggested)
    deleted: int = 0  # suggestion rows removed: their ticket has no text any more (deleted)


@dataclass
class KnowledgeRefresh:
    """What one knowledge run did; a step that did not run is None."""

    reindex: ReindexSummary | None = None
    embedded_tickets: int | None = None
    audit: AuditSummary | None = None
    suggestions: SuggestSummary | None = None


def reindex_articles(
    settings: Settings, path: Path, config: KnowledgeConfig, on_progress: Progress = None
) -> ReindexSummary:
    """Bring the index up to date with the articles at ``path`` (``knowledge.index.reindex``);
    skipped files (``problems``) and an empty source (``empty``) are in the summary, not raised."""
    with connect(settings) as con:
        return reindex(con, path, config.index, on_progress)


def vector_plan(config: KnowledgeConfig, assist: AssistConfig) -> ticket_vectors.Plan:
    """What the nightly embeds, for whom (issue 18: only the work that is used).

    The index encoder (and each routed one, for its languages) over the working set every
    reader of its vectors needs (``warehouse.WORKING_SET``: tickets not settled, and those
    created within N days of the newest): N = the largest of suggestions'
    ``suggest_recent_days``, assist's ``recent_days`` plus the related-ticket window (a
    ticket's related tickets are up to ``window_days`` older) and the audit's ``gap_days``;
    every ticket when suggestions or assist are set to every ticket (null). Then the incident
    encoder (``assist.yaml`` ``incidents.encoder``, static by default) over every ticket in
    history: incidents are detected over all of it."""
    days = (
        None
        if config.search.suggest_recent_days is None or assist.recent_days is None
        else max(config.search.suggest_recent_days, config.audit.gap_days,
                 assist.recent_days + assist.related.window_days)
    )  # fmt: skip
    plan = ticket_vectors.routed_plan(config.index, days)
    incidents = incident_encoder(assist, config.index.encoder)
    if (incidents, None, None) not in plan:
        plan.append((incidents, None, None))
    return plan


def embed_tickets(
    settings: Settings,
    config: KnowledgeConfig,
    on_progress: Progress = None,
    embed: ticket_vectors.Embed | None = None,
    assist: AssistConfig | None = None,
) -> int:
    """Vectors for new or edited tickets as ``vector_plan`` says (shared by the audit,
    suggestions and agent assist, each of which embeds what it still lacks itself); returns
    how many vectors were computed. ``embed`` computes them (default: this process);
    ``assist``: default the config home's ``assist.yaml`` for ``config``'s index encoder."""
    assist = assist or load_assist_config(encoder=config.index.encoder)
    plan = vector_plan(config, assist)
    with connect(settings) as con:
        return ticket_vectors.refresh_routed(con, config.index, on_progress, embed=embed, plan=plan)


def audit_knowledge(settings: Settings, config: KnowledgeConfig) -> AuditSummary:
    """The KB health audit (``knowledge.audit.run_audit``); skipped, with a warning, while the
    index is empty. When nothing it reads changed (``audit_inputs``) the stored audit is
    returned without loading the index."""
    with connect(settings) as con:
        today = datetime.now(UTC).date()
        inputs = audit_inputs(con, config.audit, config.index.encoder, today)
        result = audited(con, inputs)
        if result is None:
            try:
                index = KnowledgeIndex.load(
                    con, config.index.encoder, config.index.language_encoders
                )
            except EmptyIndexError as exc:
                return AuditSummary(audit_id=None, skipped=str(exc))
            result = run_audit(con, index, config.audit, today, inputs)
    kinds = Counter(finding.kind for finding in result.findings)
    return AuditSummary(result.audit_id, dict(kinds), list(result.gaps))


def refresh_suggestions(
    settings: Settings, config: KnowledgeConfig, on_progress: Progress = None
) -> SuggestSummary:
    """Cited article suggestions for every ticket with text that has none yet, after dropping
    those that cite a retracted article (deleted, unpublished, or moved between audiences: the
    ticket is suggested for afresh) and those of tickets deleted in the help desk; skipped, with
    its reason, while nothing is indexed."""
    with connect(settings) as con:
        dropped = {"retracted": drop_retracted(con),
                   "deleted": prune_without_text(con, "ml.article_suggestions")}  # fmt: skip
        if count_pending(con, config.search.suggest_recent_days) == 0:
            return SuggestSummary(0, **dropped)  # without loading the index
        try:
            index = KnowledgeIndex.load(con, config.index.encoder, config.index.language_encoders)
        except EmptyIndexError as exc:
            return SuggestSummary(skipped=str(exc), **dropped)
        done = suggest_new_tickets(con, index, config.search, on_progress=on_progress)
    return SuggestSummary(done, **dropped)
