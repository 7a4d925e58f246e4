"""Reading help-center sources: per-article problems, Zendesk mapping, chunking, quantities."""

from __future__ import annotations

import json

import pytest

from supportflow.knowledge.articles import html_to_markdown, read_source
from supportflow.knowledge.audit import contradiction, quantities
from supportflow.knowledge.chunking import chunk_article, sections

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
        ("nofm.md", "# Just a heading\n\ntext", "no YAML front matter"),
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
