"""Read a Zendesk Help Center JSON export (the Articles API's ``{"articles": [...]}``) into the
same ``Article`` records as the Markdown reader (``articles.py``), with HTML bodies as Markdown."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path
from typing import ClassVar

from supportflow.knowledge.articles import Problem, ReadResult, add_item, validate


def read_zendesk_export(file: Path, max_bytes: int) -> ReadResult:
    """``{"articles": [...]}`` as the Help Center Articles API returns it (or a bare list).

    Field mapping (Zendesk Help Center API reference, Articles):

    - Zendesk has no audience field: ``user_segment_id`` null (visible to everyone) is public,
      any segment (``user_segment_id`` or a non-empty ``user_segment_ids``) is internal, so a
      restricted article is never shown to customers.
    - status: ``archived`` → archived, ``draft`` → draft, a translation marked outdated
      (``outdated: true`` or its locale in ``outdated_locales``) → outdated, else published.
    - Translations share the article ``id``; each locale has its own body, URL and draft state,
      so each is its own article: the source locale (``source_locale``, else the first locale
      seen) is ``zd-<id>``, another locale ``zd-<id>@<locale>`` with ``translation_of`` set. The
      same id and locale twice is a duplicate.
    - owner ``zendesk-user:<author_id>``, product_area ``section:<section_id>``, url
      ``html_url``, updated_at ``edited_at`` (else ``updated_at``), tags ``label_names``, body
      HTML → text with Markdown headings.

    ``max_bytes`` applies to each article body.
    """
    try:
        data = json.loads(file.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ValueError(f"{file}: not UTF-8 text (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{file}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
    records = data.get("articles") if isinstance(data, dict) else data
    if not isinstance(records, list):
        raise ValueError(f"{file}: expected a JSON list or an object with an 'articles' list")
    result = ReadResult(records_in=len(records))
    first_locale: dict[str, str] = {}
    for number, record in enumerate(records, start=1):
        name = f"{file.name}#{number}"
        if not isinstance(record, dict):
            result.problems.append(Problem(name, None, "article record is not a JSON object"))
            continue
        html = record.get("body") or ""
        if len(html.encode()) > max_bytes:
            result.problems.append(
                Problem(name, str(record.get("id")), f"body too large (limit {max_bytes:,} bytes)")
            )
            continue
        locale = str(record.get("locale") or "en").lower()
        article_id = translation_of = None
        if record.get("id") is not None:
            article_id = f"zd-{record['id']}"
            source = str(record.get("source_locale") or first_locale.setdefault(article_id, locale))
            if locale != source.lower():
                article_id, translation_of = f"{article_id}@{locale}", article_id
        outdated = record.get("outdated") is True or locale in {
            str(loc).lower() for loc in record.get("outdated_locales") or []
        }
        segments = record.get("user_segment_ids") or []
        meta = {
            "id": article_id,
            "title": record.get("title"),
            "audience": "public"
            if record.get("user_segment_id") is None and not segments
            else "internal",
            "status": "archived"
            if record.get("archived")
            else "draft"
            if record.get("draft")
            else "outdated"
            if outdated
            else "published",
            "owner": f"zendesk-user:{record['author_id']}" if record.get("author_id") else None,
            "product_area": f"section:{record['section_id']}" if record.get("section_id") else None,
            "locale": locale,
            "url": record.get("html_url"),
            "updated_at": record.get("edited_at") or record.get("updated_at"),
            "tags": record.get("label_names"),
            "translation_of": translation_of,
        }
        add_item(result, validate(meta, html_to_markdown(html), name))
    return result


class _HtmlText(HTMLParser):
    """HTML → plain text that keeps headings as Markdown, so chunking can split on them."""

    BLOCKS: ClassVar[set[str]] = {
        "p",
        "div",
        "li",
        "br",
        "tr",
        "ul",
        "ol",
        "table",
        "blockquote",
        "pre",
    }

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in {"h1", "h2", "h3", "h4", "h5", "h6"}:
            self.parts.append("\n\n" + "#" * int(tag[1]) + " ")
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in {"h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "div"}:
            self.parts.append("\n")

    def handle_data(self, data):
        self.parts.append(data)


def html_to_markdown(html: str) -> str:
    """Article body HTML → text (stdlib ``html.parser``): headings become Markdown ``#`` lines
    so chunking can split on them, blocks and list items become lines, entities are decoded."""
    parser = _HtmlText()
    parser.feed(html)
    lines = [" ".join(line.split()) for line in "".join(parser.parts).splitlines()]
    text = "\n".join(lines)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text.strip()
