"""QA sampling: a stratified daily sample of AI outputs for human audit, and the verdicts.

Per day (tickets created that day) and kind — ``answer`` (the top cited article), ``draft``
(assist drafts), ``route`` (routing decisions) — up to ``per_stratum`` outputs from each stratum
(the AI's own call: confident/unsure, clean/needs_rewrite…). The pick is a hash of day, kind and
ticket, so sampling the same day again adds nothing. ``ai_pass`` is the AI's own quality call; the
dbt mart ``fct_ai_qa`` compares it with the human verdicts recorded in ``ops.qa_verdicts``.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta

from supportflow.warehouse import transaction

VERDICTS = ("pass", "fail")
# Per kind: (SQL of candidates for a day with ticket_id, stratum, ai_output, ai_pass).
CANDIDATES = {
    "answer": """
        SELECT s.ticket_id, CASE WHEN s.similarity >= $min_similarity THEN 'confident'
                                 ELSE 'unsure' END AS stratum,
               s.article_id AS ai_output, s.similarity >= $min_similarity AS ai_pass
        FROM ml.article_suggestions s JOIN landing.tickets t USING (ticket_id)
        WHERE s.rank = 1 AND t.created_at::DATE = $day
        QUALIFY row_number() OVER (PARTITION BY s.ticket_id ORDER BY s.suggested_at DESC) = 1
    """,
    "draft": """
        SELECT a.ticket_id, CASE WHEN a.needs_rewrite THEN 'needs_rewrite' ELSE 'clean' END,
               a.draft, NOT a.needs_rewrite
        FROM ml.assist_outputs a JOIN landing.tickets t USING (ticket_id)
        WHERE t.created_at::DATE = $day
    """,
    "route": """
        SELECT r.ticket_id, r.phase || ':' || r.action, r.field || '=' || coalesce(r.label, ''),
               r.action IN ('suggest', 'auto_apply', 'logged')
        FROM ml.routing_decisions r JOIN landing.tickets t USING (ticket_id)
        WHERE t.created_at::DATE = $day AND r.field = 'category'
    """,
}


def _sample_id(day: date, kind: str, ticket_id: str) -> str:
    return hashlib.sha256(f"{day}|{kind}|{ticket_id}".encode()).hexdigest()[:16]


def sample_day(con, day: date, per_stratum: int, min_similarity: float) -> dict[str, int]:
    """Add the day's sample; returns how many new samples per kind (0 on a re-run)."""
    added = {}
    now = datetime.now(UTC)
    with transaction(con):
        for kind, sql in CANDIDATES.items():
            params = {"day": day, "min_similarity": min_similarity}
            rows = con.execute(sql, {k: v for k, v in params.items() if f"${k}" in sql}).fetchall()
            by_stratum: dict[str, list[tuple]] = {}
            for row in sorted(rows, key=lambda r: _sample_id(day, kind, r[0])):
                by_stratum.setdefault(row[1], []).append(row)
            picked = [r for group in by_stratum.values() for r in group[:per_stratum]]
            before = con.execute("SELECT count(*) FROM ops.qa_samples").fetchall()[0][0]
            for ticket_id, stratum, output, ai_pass in picked:
                con.execute(
                    "INSERT INTO ops.qa_samples VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT DO NOTHING",
                    [_sample_id(day, kind, ticket_id), day, kind, stratum, ticket_id, output,
                     bool(ai_pass), now],
                )  # fmt: skip
            after = con.execute("SELECT count(*) FROM ops.qa_samples").fetchall()[0][0]
            added[kind] = after - before
    return added


def days_with_tickets(con, since: date | None = None) -> list[date]:
    rows = con.execute(
        "SELECT DISTINCT created_at::DATE AS d FROM landing.tickets"
        " WHERE $since IS NULL OR created_at::DATE >= $since ORDER BY d",
        {"since": since},
    ).fetchall()
    return [r[0] for r in rows]


def record_verdict(con, sample_id: str, verdict: str, reviewer: str, notes: str | None) -> None:
    """A human's verdict on one sample; recording it again replaces the earlier one."""
    if verdict not in VERDICTS:
        raise ValueError(f"verdict must be one of {', '.join(VERDICTS)}, not {verdict!r}")
    found = con.execute("SELECT 1 FROM ops.qa_samples WHERE sample_id = ?", [sample_id]).fetchall()
    if not found:
        raise ValueError(f"no QA sample {sample_id!r} (see `supportflow qa-sample`)")
    with transaction(con):
        con.execute("DELETE FROM ops.qa_verdicts WHERE sample_id = ?", [sample_id])
        con.execute(
            "INSERT INTO ops.qa_verdicts VALUES (?, ?, ?, ?, ?)",
            [sample_id, verdict, reviewer, notes, datetime.now(UTC)],
        )


def top_up_samples(con, per_stratum: int, min_similarity: float) -> dict[str, int]:
    """Sample the days not sampled yet, and the last sampled day again (which adds only outputs
    that did not exist then); returns samples added per kind."""
    last = con.execute("SELECT max(sample_day) FROM ops.qa_samples").fetchall()[0][0]
    totals: dict[str, int] = {}
    for day in days_with_tickets(con, last - timedelta(days=1) if last else None):
        for kind, n in sample_day(con, day, per_stratum, min_similarity).items():
            totals[kind] = totals.get(kind, 0) + n
    return totals
