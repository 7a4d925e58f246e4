"""Read help-center articles: a folder of Markdown files with YAML front matter, or a Zendesk
Help Center JSON export. Each invalid article is reported with its reason and skipped; the rest
of the run goes on.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import ClassVar

import frontmatter
import yaml

AUDIENCES = ("public", "internal")
STATUSES = ("published", "draft", "archived")
REQUIRED = ("id", "title", "audience", "status")
DEFAULT_MAX_BYTES = 1_000_000


@dataclass(frozen=True)
class Article:
    article_id: str
    title: str
    body: str
    audience: str
    status: str
    source_file: str
    owner: str | None = None
    product_area: str | None = None
    locale: str = "en"
    url: str | None = None
    updated_at: datetime | None = None
    review_by: date | None = None

    @property
    def content_hash(self) -> str:
        """What is embedded: a change here re-embeds the article, metadata changes do not."""
        return hashlib.sha256(f"{self.title}\n\n{self.body}".encode()).hexdigest()

    @property
    def customer_facing(self) -> bool:
        return self.audience == "public" and self.status == "published"


@dataclass(frozen=True)
class Problem:
    source_file: str
    article_id: str | None
    reason: str


@dataclass
class ReadResult:
    articles: list[Article] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    records_in: int = 0


def read_source(path: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> ReadResult:
    """Articles from a Markdown folder (``**/*.md``) or a Zendesk Help Center ``.json`` export."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"knowledge source {path} does not exist")
    if path.is_dir():
        result = _read_markdown_folder(path, max_bytes)
    elif path.suffix.lower() == ".json":
        result = _read_zendesk_export(path, max_bytes)
    elif path.suffix.lower() == ".md":
        result = ReadResult(records_in=1)
        _add(result, _read_markdown_file(path, path.name, max_bytes))
    else:
        raise ValueError(
            f"{path}: expected a folder of Markdown articles or a Zendesk Help Center .json export"
        )
    return _drop_duplicates(result)


def _add(result: ReadResult, item: Article | Problem) -> None:
    (result.articles if isinstance(item, Article) else result.problems).append(item)


def _drop_duplicates(result: ReadResult) -> ReadResult:
    """The first file (in path order) keeps an id; later ones are reported, never merged."""
    seen: dict[str, str] = {}
    kept = []
    for art in result.articles:
        if art.article_id in seen:
            result.problems.append(
                Problem(
                    art.source_file,
                    art.article_id,
                    f"duplicate id {art.article_id!r} (already defined in {seen[art.article_id]})",
                )
            )
            continue
        seen[art.article_id] = art.source_file
        kept.append(art)
    result.articles = kept
    return result


def _read_markdown_folder(folder: Path, max_bytes: int) -> ReadResult:
    files = sorted(p for p in folder.rglob("*.md") if p.is_file())
    result = ReadResult(records_in=len(files))
    for file in files:
        _add(result, _read_markdown_file(file, str(file.relative_to(folder)), max_bytes))
    return result


def _read_markdown_file(file: Path, name: str, max_bytes: int) -> Article | Problem:
    size = file.stat().st_size
    if size > max_bytes:
        return Problem(name, None, f"file too large ({size:,} bytes; limit {max_bytes:,})")
    try:
        text = file.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        return Problem(name, None, f"not UTF-8 text (byte {exc.start}: {exc.reason})")
    try:
        post = frontmatter.loads(text)
    except yaml.YAMLError as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return Problem(name, None, f"malformed front matter: {first_line}")
    meta = dict(post.metadata)
    if not meta:
        return Problem(name, None, "no YAML front matter (--- block with id, title, audience…)")
    meta.setdefault("id", meta.get("article_id"))
    meta.setdefault("product_area", meta.get("category"))
    return validate(meta, post.content, name)


def validate(meta: dict, body: str, source_file: str) -> Article | Problem:
    """One article's fields checked and normalised; the first problem found is the reason."""
    article_id = str(meta["id"]).strip() if meta.get("id") not in (None, "") else None
    for key in REQUIRED:
        if meta.get(key) in (None, ""):
            return Problem(source_file, article_id, f"missing required field {key!r}")
    audience = str(meta["audience"]).strip().lower()
    if audience not in AUDIENCES:
        return Problem(
            source_file, article_id, f"unknown audience {meta['audience']!r} (public or internal)"
        )
    status = str(meta["status"]).strip().lower()
    if status not in STATUSES:
        return Problem(
            source_file, article_id, f"unknown status {meta['status']!r} ({', '.join(STATUSES)})"
        )
    if not body or not body.strip():
        return Problem(source_file, article_id, "empty article body")
    try:
        updated_at = _timestamp(meta.get("updated_at"))
        review_by = _date(meta.get("review_by"))
    except ValueError as exc:
        return Problem(source_file, article_id, str(exc))
    return Article(
        article_id=article_id,
        title=str(meta["title"]).strip(),
        body=body.strip(),
        audience=audience,
        status=status,
        source_file=source_file,
        owner=(str(meta["owner"]).strip() or None) if meta.get("owner") else None,
        product_area=str(meta["product_area"]) if meta.get("product_area") else None,
        locale=str(meta.get("locale") or "en").lower(),
        url=str(meta["url"]) if meta.get("url") else None,
        updated_at=updated_at,
        review_by=review_by,
    )


def _timestamp(value) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"updated_at {value!r} is not an ISO date or timestamp") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _date(value) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise ValueError(f"review_by {value!r} is not an ISO date") from None


# --- Zendesk Help Center export ------------------------------------------------------------


def _read_zendesk_export(file: Path, max_bytes: int) -> ReadResult:
    """``{"articles": [...]}`` as the Help Center API returns it (or a bare list).

    Zendesk has no audience or owner fields: an article visible to everyone
    (``user_segment_id`` null) is public, any restricted segment is internal; the author is the
    owner; ``draft`` maps to the status. ``max_bytes`` applies to each article body.
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
        meta = {
            "id": f"zd-{record['id']}" if record.get("id") is not None else None,
            "title": record.get("title"),
            "audience": "public" if record.get("user_segment_id") is None else "internal",
            "status": "archived"
            if record.get("archived")
            else ("draft" if record.get("draft") else "published"),
            "owner": f"zendesk-user:{record['author_id']}" if record.get("author_id") else None,
            "product_area": f"section:{record['section_id']}" if record.get("section_id") else None,
            "locale": record.get("locale"),
            "url": record.get("html_url"),
            "updated_at": record.get("edited_at") or record.get("updated_at"),
        }
        _add(result, validate(meta, html_to_markdown(html), name))
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
    parser = _HtmlText()
    parser.feed(html)
    lines = [" ".join(line.split()) for line in "".join(parser.parts).splitlines()]
    text = "\n".join(lines)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text.strip()
