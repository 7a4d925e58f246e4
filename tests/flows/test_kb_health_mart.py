"""marts.fct_kb_health and its one-row summary, built by dbt from articles' own fields, agree
with the KB audit's Python findings (ops.kb_findings) article by article."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from supportflow.dbt_runner import run_dbt
from supportflow.knowledge.audit import metadata_findings
from supportflow.knowledge.config import AuditConfig
from supportflow.warehouse import connect

pytestmark = pytest.mark.slow


def articles(now: datetime) -> list[tuple]:
    """(article_id, status, owner, review_by, updated_at): every branch of the stale rule."""
    today = now.date()
    return [
        ("outdated", "outdated", "ann", today + timedelta(days=30), now),
        ("review-passed", "published", "ann", today - timedelta(days=1), now),
        ("review-today", "published", "ann", today, now - timedelta(days=900)),
        ("old", "published", "ann", None, now - timedelta(days=400)),
        ("exactly-365", "published", "ann", None, now - timedelta(days=365)),
        ("recent", "published", "ann", None, now - timedelta(days=10)),
        ("never-updated", "published", "ann", None, None),
        ("empty-owner", "published", "", None, now),
        ("no-owner-passed", "published", None, today - timedelta(days=3), now),
        ("draft", "draft", None, None, now - timedelta(days=500)),
        ("archived", "archived", None, today - timedelta(days=9), now - timedelta(days=900)),
        ("fine", "published", "ann", today + timedelta(days=9), now),
    ]


def test_kb_health_flags_match_the_audit_and_the_summary_counts_them(settings):
    now = datetime.now(UTC)
    with connect(settings) as con:
        for aid, status, owner, review_by, updated_at in articles(now):
            con.execute(
                "INSERT INTO landing.kb_articles (article_id, title, audience, status, owner,"
                " locale, url, updated_at, review_by, content_hash)"
                " VALUES (?, ?, 'public', ?, ?, 'en', 'u', ?, ?, 'h')",
                [aid, aid, status, owner, updated_at, review_by],
            )
        cur = con.execute(
            "SELECT article_id, status, owner, review_by, updated_at FROM landing.kb_articles"
        )
        names = [d[0] for d in cur.description]
        rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
        found = metadata_findings(rows, now.date(), AuditConfig())
        pairs = [("conflict", "fine", "old", "14 day vs 30 day"),
                 ("near_duplicate", "recent", "fine", "near-duplicate articles")]  # fmt: skip
        con.executemany(
            "INSERT INTO ops.kb_findings VALUES ('a1', ?, ?, ?, NULL, ?, ?)",
            [[f.kind, f.article_id, None, f.detail, now] for f in found]
            + [[*p, now] for p in pairs],
        )
    run_dbt(["build", "--select", "+fct_kb_health_summary"], settings)
    with connect(settings) as con:  # read-write: dbt in this process may hold the file
        mart = {
            r[0]: r[1:]
            for r in con.execute(
                "SELECT article_id, is_stale, is_missing_owner, is_draft, conflicts,"
                " near_duplicates, needs_attention FROM marts.fct_kb_health"
            ).fetchall()
        }
        summary = con.execute(
            "SELECT articles, stale, ownerless, in_conflict, drafts"
            " FROM marts.fct_kb_health_summary"
        ).fetchall()
    kinds = ("stale", "missing_owner", "draft")
    by_kind = {k: {f.article_id for f in found if f.kind == k} for k in kinds}
    for aid, (stale, ownerless, draft, *_) in mart.items():
        assert (stale, ownerless, draft) == (
            aid in by_kind["stale"],
            aid in by_kind["missing_owner"],
            aid in by_kind["draft"],
        ), aid
    assert by_kind["stale"] == {"outdated", "review-passed", "old", "no-owner-passed", "draft"}
    assert by_kind["missing_owner"] == {"empty-owner", "no-owner-passed", "draft"}
    assert mart["fine"][3:] == (1, 1, True) and mart["old"][3:] == (1, 0, True)
    assert mart["recent"][3:] == (0, 1, False)  # a near-duplicate alone needs no attention
    assert summary == [(12, 5, 3, 2, 1)]
