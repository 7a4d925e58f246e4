"""Knowledge end to end with the real packaged encoder, real DuckDB and real Prefect flows:
incremental reindex, search and answers that never leak internal or draft content, citations,
the KB audit on the generator's planted cases, coverage gaps and suggestions."""

from __future__ import annotations

import csv
import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows.ingest_tickets import IngestParams, ingest_tickets
from flows.reindex_knowledge import ReindexParams, reindex_knowledge
from supportflow.assist.config import STATIC_ENCODER
from supportflow.knowledge import answer as answers
from supportflow.knowledge.config import KnowledgeConfig, answer_configs, load_knowledge_config
from supportflow.knowledge.index import reindex
from supportflow.knowledge.search import KnowledgeIndex
from supportflow.settings import Settings
from supportflow.warehouse import connect
from tests.flows.conftest import own_home

pytestmark = pytest.mark.slow
ENCODER = KnowledgeConfig().index.encoder
CRAFTED = [  # single sign-on: no demo article covers it
    "How do we set up single sign-on with Okta SAML for our company?",
    "Is SAML SSO with Azure AD supported? Our IT team wants to enforce it",
    "We need to configure Okta single sign-on for all employees",
    "SSO setup: where do I upload our SAML identity provider metadata?",
    "Can we turn on SAML single sign-on and disable password logins?",
    "Our security team requires SSO via Okta before we roll out to everyone",
]


def crafted_csv(path, demo_export):
    """Tickets about something no article covers, newer than every demo ticket."""
    with open(demo_export / "tickets.csv", newline="") as f:
        reader = csv.DictReader(f)
        fields = reader.fieldnames
        latest = max(datetime.fromisoformat(r["created_at"].replace("Z", "+00:00")) for r in reader)
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        for n, text in enumerate(CRAFTED):
            at = (latest + timedelta(hours=n + 1)).strftime("%Y-%m-%dT%H:%M:%SZ")
            writer.writerow({k: "" for k in fields} | {
                "id": f"crafted-{n}", "created_at": at, "updated_at": at, "channel": "email",
                "customer_id": f"cus_x{n}", "subject": "Single sign-on", "body": text,
                "status": "open", "priority": "normal", "category": "bug_report",
            })  # fmt: skip
    return path


@pytest.fixture(scope="module")
def world(tmp_path_factory, demo_export):
    """600 demo tickets ingested, the demo help center reindexed through the flow."""
    root = tmp_path_factory.mktemp("knowledge")
    kb = shutil.copytree(demo_export / "kb", root / "kb")
    with own_home(root):
        ingest_tickets(IngestParams(paths=[demo_export / "zendesk"]))
        first = reindex_knowledge(ReindexParams(path=kb))
        second = reindex_knowledge(ReindexParams(path=kb))
        routes = load_knowledge_config().index.language_encoders
        with connect(Settings()) as con:
            index = KnowledgeIndex.load(con, ENCODER, routes)
        yield {"root": root, "kb": kb, "first": first, "second": second, "index": index}


def query(sql: str, params=()):
    with connect(Settings(), read_only=True) as con:
        return con.execute(sql, params).fetchall()


@pytest.fixture
def in_world(world, monkeypatch):
    monkeypatch.setenv("SUPPORTFLOW_HOME", str(world["root"] / "home"))
    monkeypatch.setenv("SUPPORTFLOW_PII_SALT", "test-salt")
    return world


def test_first_reindex_counts_add_up_and_rerun_changes_nothing(in_world):
    first, second = in_world["first"].reindex, in_world["second"].reindex
    articles = len(list(in_world["kb"].glob("*.md")))
    assert first.articles_in == first.articles_new == articles
    assert first.chunks_embedded == first.chunks_total > 0
    assert second.articles_unchanged == articles and second.chunks_embedded == 0
    assert second.index_version == first.index_version
    assert in_world["second"].suggestions.suggested == 0  # every ticket already had its suggestions
    assert query("SELECT count(*) FROM landing.kb_articles")[0][0] == articles


def test_every_ticket_gets_k_cited_published_suggestions_once(demo_live, in_world):
    k = KnowledgeConfig().search.suggest_k
    assert in_world["first"].suggestions.suggested == demo_live
    rows = query(
        "SELECT s.ticket_id, list(s.rank ORDER BY s.rank), bool_and(a.status = 'published'),"
        " count(DISTINCT s.index_version) FROM ml.article_suggestions s"
        " JOIN landing.kb_articles a USING (article_id) GROUP BY s.ticket_id"
    )
    assert len(rows) == demo_live
    assert all(ranks == list(range(1, k + 1)) and published and versions == 1
               for _, ranks, published, versions in rows)  # fmt: skip


WORDS = sorted(
    {w.strip(".,;:'()→?").lower() for p in ("refund approval matrix agents internal incident "
     "runbook timeline beta password invoice charge export outage api token guests",)
     for w in p.split()} | {"pizza", "weather", "paris", "annual", "plans", "team", "lead"}
)  # fmt: skip


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.sampled_from(WORDS), min_size=1, max_size=6))
def test_customer_facing_results_never_include_internal_or_draft(in_world, words):
    index = in_world["index"]
    question = " ".join(words)
    for hit in index.search(question, 5, audience="public"):
        assert (hit.audience, hit.status) == ("public", "published")
    result = answers.answer(index, question)
    if result.answered:
        cited = query(
            "SELECT audience, status, url, title FROM landing.kb_articles WHERE article_id = ?",
            [result.citation.article_id],
        )
        assert cited == [("public", "published", result.citation.url, result.citation.title)]
        passages = query(
            "SELECT text FROM landing.kb_chunks WHERE article_id = ?", [result.citation.article_id]
        )
        assert (result.text,) in passages
    else:
        assert result.abstain_reason in {answers.NO_ARTICLE, answers.LOW_CONFIDENCE,
                                         answers.INTERNAL_ONLY}  # fmt: skip


def test_answers_cite_the_right_article_or_abstain(in_world):
    index = in_world["index"]
    reply = answers.answer(index, "The reset password link expired, how do I log in?")
    assert reply.answered and reply.citation.article_id == "kb-account_access-1"
    assert reply.citation.url.endswith("/kb-account_access-1")
    off_topic = answers.answer(index, "Do you sell pizza by the slice in Paris?")
    assert not off_topic.answered and off_topic.abstain_reason == answers.LOW_CONFIDENCE
    internal = answers.answer(index, "Refund approval matrix: which agents may approve $500?")
    assert not internal.answered and internal.abstain_reason == answers.INTERNAL_ONLY


def test_tickets_in_routed_languages_are_searched_with_their_languages_encoder(
    in_world, demo_export
):
    config = load_knowledge_config().index
    routed = config.encoder_for("de")
    assert routed != config.encoder == ENCODER  # the packaged default routes German
    chunks = query("SELECT count(*) FROM landing.kb_chunks")[0][0]
    assert query("SELECT count(DISTINCT chunk_id) FROM landing.kb_chunk_vectors WHERE encoder = ?",
                 [routed])[0][0] == chunks  # fmt: skip
    assert in_world["first"].reindex.chunks_routed == chunks
    assert in_world["second"].reindex.chunks_routed == 0
    # every ticket keeps an index-encoder vector; only tickets in routed languages get another;
    # the static incident encoder's vectors are of every ticket too
    vectors = dict(
        query(
            "SELECT v.encoder, list(DISTINCT coalesce(t.language, '?')) FROM ml.ticket_vectors v"
            " JOIN landing.ticket_texts t USING (ticket_id) GROUP BY v.encoder"
        )
    )
    assert set(vectors) == {ENCODER, routed, STATIC_ENCODER}
    assert set(vectors[routed]) == set(config.languages_of(routed)) & set(vectors[ENCODER])
    # suggestions for German, Spanish and French tickets: recall@3 of the gold article, against
    # the same tickets searched with the index encoder
    truth = json.loads((demo_export / "kb" / "ground_truth.json").read_text())
    rows = query(
        "SELECT t.ticket_id, t.ticket_text, t.category, list(s.article_id) FROM"
        " landing.ticket_texts t JOIN ml.article_suggestions s USING (ticket_id)"
        " WHERE t.language IN ('de', 'es', 'fr') GROUP BY ALL"
    )
    rows = [r for r in rows if truth.get(r[2])]
    assert len(rows) >= 20
    routed_hits = sum(bool(set(r[3]) & set(truth[r[2]])) for r in rows) / len(rows)
    plain = in_world["index"].for_encoder(ENCODER).search_many([r[1] for r in rows], 3)
    plain_hits = sum(
        bool({h.article_id for h in hits} & set(truth[r[2]]))
        for r, hits in zip(rows, plain, strict=True)
    ) / len(rows)
    print(f"recall@3 routed {routed_hits:.3f} index encoder {plain_hits:.3f} n={len(rows)}")
    assert routed_hits >= 0.9 and routed_hits >= plain_hits + 0.05


def test_a_german_question_is_answered_with_its_encoder_and_its_threshold(in_world):
    index = in_world["index"]
    config = load_knowledge_config()
    by_encoder = answer_configs(config)
    question = "Der Link zum Zurücksetzen meines Passworts ist abgelaufen. Wie melde ich mich an?"
    reply = answers.answer(index, question, config.answer, config.search, by_encoder)
    assert reply.answered and reply.citation.article_id == "kb-account_access-2"  # its German page
    assert reply.threshold == by_encoder[config.index.encoder_for("de")].min_similarity
    assert reply.threshold != config.answer.min_similarity  # USE's fitted value, not MiniLM's
    english = answers.answer(index, "The reset password link expired, how do I log in?",
                             config.answer, config.search, by_encoder)  # fmt: skip
    assert english.threshold == config.answer.min_similarity
    # the CLI detects the question's language; for --ticket it takes the one ingest kept
    from typer.testing import CliRunner

    from supportflow.cli import app

    said = CliRunner().invoke(app, ["answer", question])
    assert said.exit_code == 0 and "Passwort zurücksetzen" in said.output, said.output
    ((german,),) = query(
        "SELECT min(ticket_id) FROM landing.ticket_texts WHERE language = 'de' AND has_text"
    )
    said = CliRunner().invoke(app, ["answer", "--ticket", german])
    assert said.exit_code in (0, 2) and "Traceback" not in said.output
    needs = f"needs {by_encoder[config.index.encoder_for('de')].min_similarity:.2f}"
    assert said.exit_code == 0 or needs in said.output, said.output


def test_audit_finds_the_planted_stale_draft_and_conflicting_articles(in_world):
    found = query("SELECT kind, article_id, other_article_id, detail FROM ops.kb_findings")
    by_kind: dict[str, set] = {}
    for kind, a, b, _ in found:
        by_kind.setdefault(kind, set()).add((a, b) if b else a)
    assert {"kb-refund-2", "kb-bug_report-old"} <= by_kind["stale"]
    assert "kb-account_access-1" not in by_kind["stale"]
    assert by_kind["draft"] == {"kb-feature_request-draft"}
    assert ("kb-refund-1", "kb-refund-2") in by_kind["conflict"]
    details = {(a, b): d for kind, a, b, d in found if kind == "conflict"}
    assert details[("kb-refund-1", "kb-refund-2")] == "14 day vs 30 day"
    # the German translation says the same as the English article: different locale, no pair
    assert not any("kb-account_access-2" in pair for pair in by_kind["conflict"])


def test_coverage_gap_names_the_tickets_no_article_answers(in_world, demo_export, tmp_path):
    from supportflow.knowledge.audit import run_audit
    from supportflow.knowledge.suggest import suggest_new_tickets

    ingest_tickets(IngestParams(paths=[crafted_csv(tmp_path / "crafted.csv", demo_export)]))
    config = KnowledgeConfig()
    with connect(Settings()) as con:
        result = run_audit(con, in_world["index"], config.audit)
        assert suggest_new_tickets(con, in_world["index"], config.search) == len(CRAFTED)
    crafted = {f"csv:crafted-{n}" for n in range(len(CRAFTED))}
    gaps = [g for g in result.gaps if set(g.example_ticket_ids) <= crafted]
    assert gaps and gaps[0].tickets >= config.audit.gap_min_tickets
    assert {"sso", "saml", "okta"} & set(gaps[0].terms)
    stored = query("SELECT count(*) FROM ops.kb_coverage_gaps WHERE audit_id = ?",
                   [result.audit_id])  # fmt: skip
    assert stored[0][0] == len(result.gaps)

    with connect(Settings()) as con:  # nothing new: the stored audit stays as it was
        found_at = con.execute("SELECT max(found_at) FROM ops.kb_coverage_gaps").fetchone()
        again = run_audit(con, in_world["index"], config.audit)
        assert again.audit_id == result.audit_id
        assert con.execute("SELECT max(found_at) FROM ops.kb_coverage_gaps").fetchone() == found_at
        con.execute("DELETE FROM ops.kb_findings WHERE kind = 'conflict'")  # a changed record
        assert run_audit(con, in_world["index"], config.audit).audit_id != result.audit_id


def test_incremental_reindex_touches_only_what_changed(home, demo_export, tmp_path):
    kb = shutil.copytree(demo_export / "kb", tmp_path / "kb")
    config = KnowledgeConfig().index
    with connect(Settings()) as con:
        first = reindex(con, kb, config)
        edited = kb / "kb-refund-1.md"
        edited.write_text(edited.read_text() + "\nPartial refunds take 3 days.\n")
        owner = kb / "kb-outage-1.md"
        owner.write_text(owner.read_text().replace("owner: support-content", "owner: sre"))
        (kb / "kb-how_to-1.md").unlink()
        broken = kb / "kb-cancellation-1.md"
        broken.write_text("---\nid: [broken\n---\nbody")
        second = reindex(con, kb, config)
        chunks = dict(
            con.execute(
                "SELECT article_id, count(*) FROM landing.kb_chunks GROUP BY ALL"
            ).fetchall()
        )
        owners = dict(con.execute("SELECT article_id, owner FROM landing.kb_articles").fetchall())
        problems = con.execute("SELECT source_file, reason FROM ops.kb_problems").fetchall()
    assert (second.articles_reembedded, second.articles_metadata, second.articles_deleted) == (
        1,
        1,
        1,
    )
    assert second.articles_rejected == 1 and second.articles_new == 0
    assert second.chunks_embedded == chunks["kb-refund-1"]
    assert second.articles_in == first.articles_in - 1
    assert "kb-how_to-1" not in chunks and "kb-how_to-1" not in owners
    assert "kb-cancellation-1" in chunks  # an invalid file keeps its last good version
    assert owners["kb-outage-1"] == "sre"
    assert problems[0][0] == "kb-cancellation-1.md" and "malformed" in problems[0][1]
    assert second.index_version != first.index_version


def test_draft_only_match_abstains_with_no_approved_article(home, tmp_path):
    kb = tmp_path / "kb"
    kb.mkdir()
    for aid, audience, status, body in [
        ("kb-tele", "public", "draft", "Quantum teleportation pricing: 40 credits per trip."),
        ("kb-pass", "public", "published", "Reset your password from the login page."),
    ]:
        (kb / f"{aid}.md").write_text(
            f"---\nid: {aid}\ntitle: {aid}\naudience: {audience}\nstatus: {status}\n---\n{body}\n"
        )
    config = KnowledgeConfig()
    with connect(Settings()) as con:
        reindex(con, kb, config.index)
        index = KnowledgeIndex.load(con, config.index.encoder)
    reply = answers.answer(index, "How much does quantum teleportation cost per trip?")
    assert not reply.answered and reply.abstain_reason == answers.NO_ARTICLE


HELP_CENTER = Path(__file__).resolve().parents[1] / "data" / "help_center"


def test_plain_markdown_and_zendesk_help_center_index_search_and_audit(home, tmp_path):
    """A docs folder without front matter and a Zendesk Help Center page, indexed side by side:
    translations are their own articles, restricted/draft/outdated ones never reach customers."""
    from supportflow.knowledge.audit import run_audit

    docs = shutil.copytree(HELP_CENTER / "docs", tmp_path / "docs")
    config = KnowledgeConfig()
    with connect(Settings()) as con:
        plain = reindex(con, docs, config.index)
        zendesk = reindex(con, HELP_CENTER / "zendesk_articles.json", config.index)
        rows = con.execute(
            "SELECT article_id, title, audience, status, locale, url FROM landing.kb_articles"
        ).fetchall()
        index = KnowledgeIndex.load(con, config.index.encoder)
        audit = run_audit(con, index, config.audit)
    assert (plain.articles_new, plain.articles_rejected, plain.empty) == (4, 1, None)
    assert (zendesk.articles_new, zendesk.articles_rejected) == (6, 0)
    by_id = {r[0]: r[1:] for r in rows}
    assert by_id["billing/invoices/copies"][:3] == ("copies", "public", "published")
    assert by_id["zd-7710001@de"][2:4] == ("outdated", "de")
    assert by_id["zd-7710001@fr"][3:] == (
        "fr", "https://acme-example.zendesk.com/hc/fr/articles/7710001-Exporter-un-tableau-en-PDF"
    )  # fmt: skip
    assert by_id["zd-7710002"][1] == "internal"
    stale = {f.article_id: f.detail for f in audit.findings if f.kind == "stale"}
    assert (
        stale["zd-7710001@de"]
        == stale["zd-7710004"]
        == ("marked outdated: a translation behind its source article")
    )
    assert {f.article_id for f in audit.findings if f.kind == "draft"} == {"zd-7710003"}
    # translations are not near-duplicates of their source (different locale)
    assert not [f for f in audit.findings if f.kind == "near_duplicate"]
    hits = index.search("export a board to PDF", 10, audience="public")
    assert hits and hits[0].article_id == "zd-7710001"
    assert all(by_id[h.article_id][1:3] == ("public", "published") for h in hits)
    refunds = index.search("refund approval over $500", 10, audience="public")
    assert "zd-7710002" not in {h.article_id for h in refunds}


def test_a_source_without_articles_is_one_line_and_changes_nothing(home, tmp_path):
    from typer.testing import CliRunner

    from supportflow.cli import app

    kb = tmp_path / "kb"
    kb.mkdir()
    for name in ("a.md", "b.md"):
        (kb / name).write_text("---\nid: [broken\n---\nbody")
    out = reindex_knowledge(ReindexParams(path=kb))
    expected = f"no articles in {kb}/: 2 files skipped (2 malformed front matter)"
    assert out.reindex.empty == f"{expected}; the index is unchanged"
    assert out.audit.audit_id is None and "index is empty" in out.audit.skipped
    assert out.suggestions.suggested == 0
    assert query("SELECT count(*) FROM ops.kb_index_runs")[0][0] == 0
    result = CliRunner().invoke(app, ["reindex", str(kb)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert " ".join(result.output.split()) == f"error: {expected}; the index is unchanged"
    # an emptied folder never wipes what was indexed before
    (kb / "a.md").write_text(GOOD_ARTICLE)
    assert reindex_knowledge(ReindexParams(path=kb, suggest=False)).reindex.articles_new == 1
    for path in kb.iterdir():
        path.unlink()
    again = reindex_knowledge(ReindexParams(path=kb, suggest=False))
    assert (
        again.reindex.empty == f"no articles in {kb}/: no Markdown (.md) files; "
        "the index is unchanged"
    )
    assert again.audit.audit_id is not None  # the index it keeps is still audited
    assert query("SELECT article_id FROM landing.kb_articles") == [("kb-only",)]


GOOD_ARTICLE = """---
id: kb-only
title: Exports
audience: public
status: published
owner: docs
---
Export a board from its menu.
"""
