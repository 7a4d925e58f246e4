"""Reading help-center sources: per-article problems, Zendesk mapping, chunking, quantities."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from supportflow.knowledge.articles import Defaults, empty_message, read_source
from supportflow.knowledge.audit import contradiction, quantities
from supportflow.knowledge.chunking import chunk_article, sections
from supportflow.knowledge.config import IndexConfig
from supportflow.knowledge.help_center_export import html_to_markdown

HELP_CENTER = Path(__file__).resolve().parents[1] / "data" / "help_center"

GOOD = """---
id: kb-1
title: Refunds
audience: public
status: published
owner: billing
updated_at: 2026-01-02
review_by: 2027-01-01
---
# Refunds

Request a refund within 14 days.
"""


def write(folder, name, text, encoding="utf-8"):
    path = folder / name
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return path


def test_good_article_is_read_with_metadata(tmp_path):
    write(tmp_path, "a.md", GOOD)
    result = read_source(tmp_path)
    assert result.problems == []
    (art,) = result.articles
    assert (art.article_id, art.audience, art.status, art.owner) == (
        "kb-1",
        "public",
        "published",
        "billing",
    )
    assert art.review_by.isoformat() == "2027-01-01" and art.updated_at.tzinfo is not None
    assert art.customer_facing


@pytest.mark.parametrize(
    "name, content, reason",
    [
        ("broken.md", "---\nid: [unclosed\ntitle: x\n---\nbody", "malformed front matter"),
        ("empty.md", GOOD.split("# Refunds")[0], "empty article body"),
        ("audience.md", GOOD.replace("audience: public", "audience: partners"), "unknown audience"),
        ("status.md", GOOD.replace("status: published", "status: live"), "unknown status"),
        ("noid.md", GOOD.replace("id: kb-1\n", ""), "missing required field 'id'"),
        ("nofm.md", "", "empty article body"),  # no front matter and no text
        ("latin1.md", GOOD.replace("Refunds", "Rückerstattung"), "not UTF-8"),
        ("date.md", GOOD.replace("review_by: 2027-01-01", "review_by: soon"), "review_by"),
    ],
)
def test_each_bad_article_is_reported_and_the_rest_loaded(tmp_path, name, content, reason):
    write(tmp_path, "good.md", GOOD.replace("kb-1", "kb-good"))
    encoding = "latin-1" if name == "latin1.md" else "utf-8"
    write(tmp_path, name, content, encoding)
    result = read_source(tmp_path)
    assert [a.article_id for a in result.articles] == ["kb-good"]
    (problem,) = result.problems
    assert problem.source_file == name and reason in problem.reason
    assert result.records_in == len(result.articles) + len(result.problems)


def test_huge_file_and_duplicate_id_are_reported(tmp_path):
    write(tmp_path, "a.md", GOOD)
    write(tmp_path, "b.md", GOOD)  # same id
    write(tmp_path, "c.md", GOOD.replace("kb-1", "kb-big") + "x" * 2000)
    result = read_source(tmp_path, max_bytes=1000)
    assert [a.source_file for a in result.articles] == ["a.md"]
    reasons = {p.source_file: p.reason for p in result.problems}
    assert "duplicate id 'kb-1' (already defined in a.md)" in reasons["b.md"]
    assert "file too large" in reasons["c.md"]


def test_zendesk_export_maps_audience_status_and_headings(tmp_path):
    export = {
        "articles": [
            {
                "id": 1,
                "title": "Reset password",
                "body": "<h2>Steps</h2><p>Click <b>Forgot</b></p><ul><li>one</li><li>two</li></ul>",
                "html_url": "https://x/1",
                "locale": "en-us",
                "draft": False,
                "user_segment_id": None,
                "author_id": 7,
                "section_id": 3,
                "updated_at": "2026-03-01T10:00:00Z",
            },
            {"id": 2, "title": "Agents only", "body": "<p>secret</p>", "user_segment_id": 99},
            {"id": 3, "title": "WIP", "body": "<p>soon</p>", "draft": True},
            {"id": 4, "title": "Empty", "body": ""},
            "not an object",
        ]
    }
    path = write(tmp_path, "hc.json", json.dumps(export))
    result = read_source(path)
    by_id = {a.article_id: a for a in result.articles}
    assert by_id["zd-1"].audience == "public" and by_id["zd-1"].owner == "zendesk-user:7"
    assert by_id["zd-1"].body == "## Steps\n\nClick Forgot\n\none\n\ntwo"
    assert by_id["zd-2"].audience == "internal"
    assert by_id["zd-3"].status == "draft"
    assert {p.reason for p in result.problems} == {
        "empty article body",
        "article record is not a JSON object",
    }
    assert result.records_in == 5 == len(result.articles) + len(result.problems)


def test_invalid_zendesk_json_is_a_clear_error(tmp_path):
    path = write(tmp_path, "hc.json", "{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        read_source(path)


def test_html_to_markdown_keeps_headings():
    assert (
        html_to_markdown("<h1>A</h1><p>x &amp; y</p><h3>B</h3>text")
        == "# A\n\nx & y\n\n### B\ntext"
    )


def words(text: str) -> int:
    return len(text.split())


def test_chunks_follow_headings_and_respect_the_budget():
    body = (
        "# Title\n\nIntro line.\n\n## Part one\n\n"
        + " ".join(["alpha."] * 30)
        + ("\n\n## Part two\n\nshort")
    )
    assert [h for h, _ in sections(body)] == ["Title", "Part one", "Part two"]
    chunks = chunk_article("Title", body, words, budget=12)
    assert all(c.tokens <= 12 for c in chunks)
    assert chunks[0].text == "Title\nIntro line."
    assert {c.heading for c in chunks} == {"Title", "Part one", "Part two"}
    assert chunks[-1].text == "Title — Part two\nshort"
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))
    # nothing lost: every sentence of part one is in some chunk
    assert sum(c.text.count("alpha.") for c in chunks) == 30


def test_quantities_and_contradictions():
    assert quantities("refund within 14 days; locks after five failed attempts; up to $500") == {
        "day": {14.0},
        "attempts": {5.0},
        "money:$": {500.0},
    }
    assert contradiction("within 14 days of a charge", "within 30 days of any charge") == (
        "14 day vs 30 day"
    )
    assert contradiction("within 14 days", "within 14 days or 2 weeks") is None
    assert contradiction("within 5 business days", "within 14 days") is None  # different units


def test_markdown_without_front_matter_is_read_with_defaults():
    """tests/data/help_center/docs: plain Markdown in nested folders beside a front-matter file."""
    docs = HELP_CENTER / "docs"
    result = read_source(docs)
    by_id = {a.article_id: a for a in result.articles}
    assert sorted(by_id) == [
        "billing/invoices/copies", "billing/refunds", "getting-started", "kb-2fa-reset"
    ]  # fmt: skip
    assert by_id["getting-started"].title == "Getting started with Nimbus Boards"
    assert by_id["billing/refunds"].title == "Refunds"  # the first # heading, not the first line
    assert by_id["billing/invoices/copies"].title == "copies"  # no heading (one inside a fence)
    for aid in ("getting-started", "billing/refunds", "billing/invoices/copies"):
        art = by_id[aid]
        assert (art.audience, art.status, art.locale, art.owner) == ("public", "published", "en",
                                                                     None)  # fmt: skip
        mtime = os.stat(docs / art.source_file).st_mtime
        assert art.updated_at == datetime.fromtimestamp(mtime, UTC)
    assert by_id["billing/refunds"].source_file == "billing/refunds.md"
    assert "within 14 days" in by_id["billing/refunds"].body
    # a file with front matter keeps its own metadata
    assert (by_id["kb-2fa-reset"].audience, by_id["kb-2fa-reset"].owner) == ("internal", "security")
    (problem,) = result.problems
    assert (problem.source_file, problem.reason) == ("empty.md", "empty article body")
    assert result.records_in == 5 and result.other_files == 1  # export-log.txt is not read


def test_defaults_for_plain_markdown_are_configurable(tmp_path):
    write(tmp_path, "note.md", "# Internal note\n\nOnly for agents.")
    (art,) = read_source(tmp_path, defaults=Defaults(audience="internal", status="draft")).articles
    assert (art.article_id, art.audience, art.status) == ("note", "internal", "draft")
    config = IndexConfig()
    assert (config.default_audience, config.default_status) == ("public", "published")
    with pytest.raises(ValueError, match="default_audience"):
        IndexConfig(default_audience="partners")


def test_zendesk_help_center_page_drafts_translations_segments_outdated():
    """tests/data/help_center/zendesk_articles.json: one page as the Articles API returns it."""
    result = read_source(HELP_CENTER / "zendesk_articles.json")
    assert result.problems == [] and result.records_in == 6
    by_id = {a.article_id: a for a in result.articles}
    assert sorted(by_id) == ["zd-7710001", "zd-7710001@de", "zd-7710001@fr", "zd-7710002",
                             "zd-7710003", "zd-7710004"]  # fmt: skip
    source = by_id["zd-7710001"]
    assert (source.locale, source.status, source.audience) == ("en-us", "published", "public")
    assert source.translation_of is None and source.tags == ("export", "pdf")
    assert source.url.endswith("/hc/en-us/articles/7710001-Exporting-a-board-to-PDF")
    assert source.body == (
        "## Before you export\n\nSplit large boards into frames & export each frame.\n\n"
        "## Export\n\nOpen the board menu\n\nChoose Export → PDF"
    )
    assert source.updated_at == datetime(2026, 5, 20, 14, 5, tzinfo=UTC)  # edited_at
    german, french = by_id["zd-7710001@de"], by_id["zd-7710001@fr"]
    assert (german.translation_of, german.locale, german.status) == ("zd-7710001", "de", "outdated")
    assert (french.translation_of, french.locale, french.status) == (
        "zd-7710001",
        "fr",
        "published",
    )
    assert "/hc/de/" in german.url and not german.customer_facing
    assert by_id["zd-7710002"].audience == "internal"  # user_segment_id set
    assert by_id["zd-7710003"].status == "draft"
    assert by_id["zd-7710004"].status == "outdated"  # outdated: true, no source_locale


def test_same_article_and_locale_twice_is_a_duplicate(tmp_path):
    record = {"id": 5, "title": "A", "body": "<p>x</p>", "locale": "en-us"}
    path = write(tmp_path, "hc.json", json.dumps([record, record, record | {"locale": "de"}]))
    result = read_source(path)
    assert [a.article_id for a in result.articles] == ["zd-5", "zd-5@de"]
    (problem,) = result.problems
    assert "duplicate id 'zd-5'" in problem.reason


def test_empty_sources_say_why_in_one_line(tmp_path):
    kb = tmp_path / "kb"
    kb.mkdir()
    write(kb, "notes.txt", "not markdown")
    assert (
        empty_message(kb, read_source(kb))
        == f"no articles in {kb}/: no Markdown (.md) files (1 other files)"
    )
    write(kb, "a.md", "---\nid: [broken\n---\nbody")
    write(kb, "b.md", "---\nid: [broken\n---\nbody")
    write(kb, "c.md", GOOD.replace("status: published", "status: live"))
    assert empty_message(kb, read_source(kb)) == (
        f"no articles in {kb}/: 3 files skipped (2 malformed front matter, 1 unknown status 'live')"
    )
    hc = write(tmp_path, "hc.json", json.dumps({"articles": []}))
    assert empty_message(hc, read_source(hc)) == f"no articles in {hc}: it holds no article records"


def test_links_out_of_the_folder_and_non_web_urls_are_not_served(tmp_path):
    """A symlink to a file outside the knowledge folder is skipped with its reason; an article
    URL that is not http(s) (``javascript:``) is left out."""
    outside = tmp_path / "secret.md"
    outside.write_text("# Secret\nNot for customers.\n")
    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "leak.md").symlink_to(outside)
    (kb / "ok.md").write_text(
        "---\nid: ok\ntitle: OK\naudience: public\nstatus: published\n"
        "url: 'javascript:alert(1)'\n---\nFine.\n"
    )
    (kb / "web.md").write_text(
        "---\nid: web\ntitle: Web\naudience: public\nstatus: published\n"
        "url: https://help.example.com/web\n---\nFine.\n"
    )
    read = read_source(kb)
    urls = {a.article_id: a.url for a in read.articles}
    assert urls == {"ok": None, "web": "https://help.example.com/web"}
    assert [(p.source_file, p.reason) for p in read.problems] == [
        ("leak.md", "links to a file outside the knowledge folder")
    ]


def test_an_unreadable_article_is_skipped_and_the_others_read(tmp_path):
    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "good.md").write_text("# Good\nA fine article.\n")
    (kb / "gone.md").symlink_to(kb / "missing.txt")  # a broken link inside the folder
    read = read_source(kb)
    assert [a.title for a in read.articles] == ["Good"]
    assert [p.source_file for p in read.problems] == ["gone.md"]
    assert read.problems[0].reason.startswith("cannot read the file")
