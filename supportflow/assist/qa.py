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
DAY = "t.created_at::DATE"  # a ticket's sample day
IN_RANGE = f"($since IS NULL OR {DAY} >= $since) AND ($until IS NULL OR {DAY} <= $until)"
# Per kind: SQL of the candidates of the days in range: (ticket_id, stratum, ai_output, ai_pass,
# sample_day).
CANDIDATES = {
    "answer": f"""
        SELECT s.ticket_id, CASE WHEN s.similarity >= $min_similarity THEN 'confident'
                                 ELSE 'unsure' END AS stratum,
               s.article_id AS ai_output, s.similarity >= $min_similarity AS ai_pass, {DAY}
        FROM ml.article_suggestions s JOIN landing.tickets t USING (ticket_id)
        WHERE s.rank = 1 AND {IN_RANGE}
        QUALIFY row_number() OVER (PARTITION BY s.ticket_id ORDER BY s.suggested_at DESC) = 1
    """,
    "draft": f"""
        SELECT a.ticket_id, CASE WHEN a.needs_rewrite THEN 'needs_rewrite' ELSE 'clean' END,
               a.draft, NOT a.needs_rewrite, {DAY}
        FROM ml.assist_outputs a JOIN landing.tickets t USING (ticket_id)
        WHERE {IN_RANGE}
    """,
    "route": f"""
        SELECT r.ticket_id, r.phase || ':' || r.action, r.field || '=' || coalesce(r.label, ''),
               r.action IN ('suggest', 'auto_apply', 'logged'), {DAY}
        FROM ml.routing_decisions r JOIN landing.tickets t USING (ticket_id)
        WHERE r.field = 'category' AND {IN_RANGE}
    """,
}
# The first ``per_stratum`` candidates of each day and stratum in sample-id order (a hash of
# day, kind and ticket: ``sample_id``), one row per sample id, inserted unless already there.
SAMPLE = """
    INSERT INTO ops.qa_samples
    SELECT sample_id, sample_day, $kind, stratum, ticket_id, ai_output, coalesce(ai_pass, false),
           $now
    FROM (
        SELECT *, substr(sha256(CAST(sample_day AS VARCHAR) || '|' || $kind || '|' || ticket_id),
                         1, 16) AS sample_id
        FROM ({candidates}) c(ticket_id, stratum, ai_output, ai_pass, sample_day)
        QUALIFY row_number() OVER (PARTITION BY sample_id ORDER BY stratum, ai_output) = 1
    )
    QUALIFY row_number() OVER (PARTITION BY sample_day, stratum ORDER BY sample_id)
            <= $per_stratum
    ON CONFLICT DO NOTHING
"""


def sample_id(day: date, kind: str, ticket_id: str) -> str:
    """A sample's id: the first 16 hex digits of sha256("day|kind|ticket_id") (``SAMPLE``)."""
    return hashlib.sha256(f"{day}|{kind}|{ticket_id}".encode()).hexdigest()[:16]


def sample_days(
    con,
    per_stratum: int,
    min_similarity: float,
    since: date | None = None,
    until: date | None = None,
) -> dict[str, int]:
    """Add the sample of every day from ``since`` to ``until`` (inclusive; None: unbounded), one
    set-based INSERT per kind; returns how many new samples per kind (0 on a re-run)."""
    added = {}
    now = datetime.now(UTC)
    with transaction(con):
        for kind, sql in CANDIDATES.items():
            params = {"since": since, "until": until, "min_similarity": min_similarity,
                      "kind": kind, "now": now, "per_stratum": per_stratum}  # fmt: skip
            statement = SAMPLE.format(candidates=sql)
            before = con.execute("SELECT count(*) FROM ops.qa_samples").fetchall()[0][0]
            con.execute(statement, {k: v for k, v in params.items() if f"${k}" in statement})
            after = con.execute("SELECT count(*) FROM ops.qa_samples").fetchall()[0][0]
            added[kind] = after - before
    return added


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
    since = last - timedelta(days=1) if last else None
    return sample_days(con, per_stratum, min_similarity, since=since)
