"""Read help-center articles: a folder of Markdown files (with YAML front matter, or plain
Markdown read with defaults), or a Zendesk Help Center JSON export. Each invalid article is
reported with its reason and skipped; the rest of the run goes on.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import frontmatter
import yaml
from frontmatter.default_handlers import YAMLHandler

from supportflow.safe_yaml import describe, load_yaml

AUDIENCES = ("public", "internal")
# outdated: a translation whose source article changed since (Zendesk's outdated_locales); it is
# not cited to customers (search keeps to published) and the audit reports it as stale.
STATUSES = ("published", "draft", "archived", "outdated")
REQUIRED = ("id", "title", "audience", "status")
DEFAULT_MAX_BYTES = 1_000_000
H1 = re.compile(r"^ {0,3}#[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$")
FENCE = re.compile(r"^ {0,3}(```|~~~)")


@dataclass(frozen=True)
class Defaults:
    """Metadata for Markdown files without front matter (``index.default_audience`` and
    ``index.default_status`` in ``supportflow/config/knowledge.yaml``)."""

    audience: str = "public"
    status: str = "published"


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
    tags: tuple[str, ...] = ()  # Zendesk label_names or front-matter tags (not stored yet)
    translation_of: str | None = None  # the source-locale article's id, for a translation

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
    """Valid articles, one problem per skipped file or record, and how many were read
    (``records_in = len(articles) + len(problems)``); ``other_files``: non-Markdown files in a
    folder, which are not read."""

    articles: list[Article] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    records_in: int = 0
    other_files: int = 0


def read_source(
    path: Path, max_bytes: int = DEFAULT_MAX_BYTES, defaults: Defaults | None = None
) -> ReadResult:
    """Articles from a Markdown folder (``**/*.md``), one ``.md`` file, or a Zendesk Help Center
    ``.json`` export (``{"articles": [...]}`` as the Help Center Articles API returns it).

    A Markdown file without front matter gets ``defaults`` (see ``_plain_markdown``). Raises
    ``FileNotFoundError`` for a missing path and ``ValueError`` for another kind of file or a
    JSON file that cannot be read as a whole; everything else is a per-article ``Problem``.
    """
    path = Path(path)
    defaults = defaults or Defaults()
    if not path.exists():
        raise FileNotFoundError(f"knowledge source {path} does not exist")
    if path.is_dir():
        result = _read_markdown_folder(path, max_bytes, defaults)
    elif path.suffix.lower() == ".json":
        from supportflow.knowledge.help_center_export import read_zendesk_export

        result = read_zendesk_export(path, max_bytes)
    elif path.suffix.lower() == ".md":
        result = ReadResult(records_in=1)
        add_item(result, _read_markdown_file(path, path.name, max_bytes, defaults))
    else:
        raise ValueError(
            f"{path}: expected a folder of Markdown articles or a Zendesk Help Center .json export"
        )
    return _drop_duplicates(result)


def empty_message(path: Path, result: ReadResult) -> str:
    """One line saying why ``path`` gave no article: "no articles in kb/: 12 files skipped
    (10 malformed front matter, 2 empty article body)"."""
    path = Path(path)
    where = f"{path}/" if path.is_dir() and not str(path).endswith("/") else str(path)
    if path.is_dir() and result.records_in == 0:
        others = f" ({result.other_files} other files)" if result.other_files else ""
        return f"no articles in {where}: no Markdown (.md) files{others}"
    if result.records_in == 0:
        return f"no articles in {where}: it holds no article records"
    kind = "files" if path.suffix.lower() != ".json" else "records"
    reasons = Counter(re.split(r" \(|: ", p.reason, maxsplit=1)[0] for p in result.problems)
    listed = ", ".join(f"{n} {reason}" for reason, n in reasons.most_common(3))
    more = ", …" if len(reasons) > 3 else ""
    return f"no articles in {where}: {len(result.problems)} {kind} skipped ({listed}{more})"


class BoundedYAMLHandler(YAMLHandler):
    """python-frontmatter's YAML handler through the one bounded loader (no aliases)."""

    def load(self, fm: str, **kwargs: object):
        return load_yaml(fm)


def add_item(result: ReadResult, item: Article | Problem) -> None:
    """Append a read article, or the problem that kept one out, to ``result``."""
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


def _read_markdown_folder(folder: Path, max_bytes: int, defaults: Defaults) -> ReadResult:
    every = [  # links too, even broken ones: each is read or reported, never passed over
        p for p in folder.rglob("*") if (p.is_file() or p.is_symlink()) and not _hidden(p, folder)
    ]
    files = sorted(p for p in every if p.suffix.lower() == ".md")
    result = ReadResult(records_in=len(files), other_files=len(every) - len(files))
    root = folder.resolve()
    for file in files:
        name = file.relative_to(folder).as_posix()
        if not file.resolve().is_relative_to(root):  # a link pointing out of the folder
            add_item(result, Problem(name, None, "links to a file outside the knowledge folder"))
            continue
        add_item(result, _read_markdown_file(file, name, max_bytes, defaults))
    return result


def _hidden(path: Path, folder: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(folder).parts)


def _read_markdown_file(
    file: Path, name: str, max_bytes: int, defaults: Defaults
) -> Article | Problem:
    try:
        size = file.stat().st_size
        if size > max_bytes:
            return Problem(name, None, f"file too large ({size:,} bytes; limit {max_bytes:,})")
        text = file.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        return Problem(name, None, f"not UTF-8 text (byte {exc.start}: {exc.reason})")
    except OSError as exc:  # unreadable (permissions, a broken link): this article only
        return Problem(name, None, f"cannot read the file ({exc.strerror or exc})")
    try:
        post = frontmatter.loads(text, handler=BoundedYAMLHandler())
    except yaml.YAMLError as exc:
        return Problem(name, None, f"malformed front matter: {describe(exc)}")
    meta = dict(post.metadata)
    if not meta:
        return validate(_plain_markdown(file, name, post.content, defaults), post.content, name)
    meta.setdefault("id", meta.get("article_id"))
    meta.setdefault("product_area", meta.get("category"))
    return validate(meta, post.content, name)


def _plain_markdown(file: Path, name: str, body: str, defaults: Defaults) -> dict:
    """Metadata of a Markdown file without front matter: id = its path relative to the folder
    without the suffix (``billing/refunds``), title = its first ``# `` heading (outside code
    fences) or else the file name, audience and status from ``defaults``, ``updated_at`` = the
    file's modification time."""
    title, fenced = None, False
    for line in body.splitlines():
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced and (heading := H1.match(line)):
            title = heading[1].strip()
            break
    return {
        "id": name[: -len(Path(name).suffix)] if Path(name).suffix else name,
        "title": title or Path(name).stem,
        "audience": defaults.audience,
        "status": defaults.status,
        "updated_at": datetime.fromtimestamp(file.stat().st_mtime, UTC),
    }


def validate(meta: dict, body: str, source_file: str) -> Article | Problem:
    """One article's fields checked and normalised; the first problem found is the reason.

    ``meta`` needs id, title, audience (public|internal) and status (published|draft|archived|
    outdated); owner, product_area, locale (default "en"), url, updated_at, review_by, tags and
    translation_of are optional. Returns the ``Article`` or the ``Problem`` that rejects it.
    """
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
        url=_web_url(meta.get("url")),
        updated_at=updated_at,
        review_by=review_by,
        tags=_tags(meta.get("tags")),
        translation_of=meta.get("translation_of"),
    )


def _web_url(value) -> str | None:
    """The article's address when it is an http(s) URL; anything else (``javascript:``,
    ``file:``, a bare word) is left out, so a suggestion never links to it."""
    url = str(value).strip() if value else ""
    return url if url.lower().startswith(("https://", "http://")) else None


def _tags(value) -> tuple[str, ...]:
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list | tuple):
        return ()
    return tuple(str(v).strip() for v in value if str(v).strip())


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
