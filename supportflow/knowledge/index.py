"""Reindex a knowledge source into ``landing.kb_articles`` / ``landing.kb_chunks``.

Incremental by content hash: only new or edited articles are chunked and embedded; articles gone
from the source leave the index; an article whose file is now invalid keeps its last good
version (and the problem is reported). All writes of a run happen in one transaction. A source
that gives no article at all changes nothing (an emptied folder is more often a wrong path or a
failed export than a retired help center): the summary says why in one line (``empty``).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa

from supportflow.knowledge import encoder as enc
from supportflow.knowledge.articles import Article, Defaults, Problem, empty_message, read_source
from supportflow.knowledge.chunking import chunk_article
from supportflow.knowledge.config import IndexConfig
from supportflow.warehouse import transaction

METADATA = ("audience", "status", "owner", "product_area", "locale", "url", "updated_at",
            "review_by", "source_file")  # fmt: skip


@dataclass
class ReindexSummary:
    run_id: str
    index_version: str
    source: str
    encoder: str
    articles_in: int
    articles_new: int
    articles_reembedded: int
    articles_metadata: int
    articles_unchanged: int
    articles_rejected: int
    articles_deleted: int
    chunks_embedded: int
    chunks_total: int
    started_at: datetime
    finished_at: datetime
    problems: list[Problem]
    empty: str | None = None  # why the source gave no article (then nothing was written)
    chunks_routed: int = 0  # passages embedded by the encoders languages are routed to


def current_index_version(con) -> str | None:
    rows = con.execute(
        "SELECT index_version FROM ops.kb_index_runs ORDER BY finished_at DESC LIMIT 1"
    ).fetchall()
    return rows[0][0] if rows else None


def index_version(hashes: dict[str, str], encoder: str) -> str:
    """Names the index content: the same articles and encoders give the same version
    (``encoder``: ``routing_signature`` of the index config)."""
    digest = hashlib.sha256(encoder.encode())
    for article_id in sorted(hashes):
        digest.update(f"\n{article_id}\t{hashes[article_id]}".encode())
    return digest.hexdigest()[:12]


def routing_signature(config: IndexConfig) -> str:
    """The index encoder, then each routed language and its encoder: part of the version."""
    routes = ",".join(f"{lang}={e}" for lang, e in sorted(config.language_encoders.items()))
    return f"{config.encoder}|{routes}" if routes else config.encoder


def _existing(con) -> dict[str, dict]:
    cols = ", ".join(("article_id", "content_hash", "source", "title", *METADATA))
    cur = con.execute(f"SELECT {cols} FROM landing.kb_articles")
    names = [d[0] for d in cur.description]
    return {row[0]: dict(zip(names, row, strict=True)) for row in cur.fetchall()}


def _last_encoder(con) -> str | None:
    rows = con.execute(
        "SELECT encoder FROM ops.kb_index_runs ORDER BY finished_at DESC LIMIT 1"
    ).fetchall()
    return rows[0][0] if rows else None


def _same_metadata(art: Article, row: dict) -> bool:
    mine = asdict(art)
    if row["title"] != art.title:
        return False
    for key in METADATA:
        theirs = row[key]
        if key == "updated_at" and theirs is not None and mine[key] is not None:
            if theirs.astimezone(UTC) != mine[key].astimezone(UTC):
                return False
        elif theirs != mine[key]:
            return False
    return True


def plan(articles: list[Article], problems: list[Problem], existing: dict, source: str,
         reembed_all: bool) -> dict[str, list]:  # fmt: skip
    """Sort the source's articles into new / reembed / metadata / unchanged, find deletions."""
    out: dict[str, list] = {k: [] for k in ("new", "reembed", "metadata", "unchanged", "delete")}
    for art in articles:
        row = existing.get(art.article_id)
        if row is not None and row["source"] != source:
            problems.append(
                Problem(
                    art.source_file,
                    art.article_id,
                    f"id {art.article_id!r} is already indexed from source {row['source']}",
                )
            )
        elif row is None:
            out["new"].append(art)
        elif reembed_all or row["content_hash"] != art.content_hash:
            out["reembed"].append(art)
        elif not _same_metadata(art, row):
            out["metadata"].append(art)
        else:
            out["unchanged"].append(art)
    present = {a.article_id for a in articles}
    kept_files = {p.source_file for p in problems} | {p.article_id for p in problems}
    out["delete"] = [
        aid
        for aid, row in existing.items()
        if row["source"] == source
        and aid not in present
        and row["source_file"] not in kept_files
        and aid not in kept_files
    ]
    return out


def reindex(
    con,
    path: Path,
    config: IndexConfig,
    on_progress: Callable[[int, int], None] | None = None,
) -> ReindexSummary:
    """Bring the index up to date with the articles at ``path`` (a folder or a JSON export).

    Markdown files without front matter get ``config.default_audience``/``default_status``.
    With no valid article at ``path`` nothing is written and ``summary.empty`` says why. Raises
    what ``read_source`` raises for a missing or unreadable source.
    """
    started = datetime.now(UTC)
    source = str(Path(path).resolve())
    defaults = Defaults(audience=config.default_audience, status=config.default_status)
    read = read_source(Path(path), max_bytes=config.max_file_bytes, defaults=defaults)
    if not read.articles:
        return _empty_summary(con, path, source, config, read, started)
    existing = _existing(con)
    reembed_all = (_last_encoder(con) or config.encoder) != config.encoder
    todo = plan(read.articles, read.problems, existing, source, reembed_all)
    to_embed = todo["new"] + todo["reembed"]
    rows, vectors = _chunk_and_embed(to_embed, config, on_progress)

    hashes = {aid: row["content_hash"] for aid, row in existing.items()}
    for aid in todo["delete"]:
        hashes.pop(aid)
    for art in to_embed + todo["metadata"]:
        hashes[art.article_id] = art.content_hash
    version = index_version(hashes, routing_signature(config))
    run_id = uuid.uuid4().hex[:12]
    changed = to_embed + todo["metadata"]

    with transaction(con):
        gone = [a.article_id for a in changed] + todo["delete"]
        _delete(con, "landing.kb_articles", gone)
        _delete(con, "landing.kb_chunks", [a.article_id for a in to_embed] + todo["delete"])
        _insert_articles(con, changed, source, version)
        _insert_chunks(con, rows, vectors, version)
        routed = _refresh_routed(con, config)
        total = con.execute("SELECT count(*) FROM landing.kb_chunks").fetchone()[0]
        summary = ReindexSummary(
            run_id=run_id,
            index_version=version,
            source=source,
            encoder=config.encoder,
            articles_in=read.records_in,
            articles_new=len(todo["new"]),
            articles_reembedded=len(todo["reembed"]),
            articles_metadata=len(todo["metadata"]),
            articles_unchanged=len(todo["unchanged"]),
            articles_rejected=len(read.problems),
            articles_deleted=len(todo["delete"]),
            chunks_embedded=len(rows),
            chunks_total=total,
            started_at=started,
            finished_at=datetime.now(UTC),
            problems=read.problems,
            chunks_routed=routed,
        )
        _record_run(con, summary)
    return summary


def _empty_summary(con, path, source: str, config: IndexConfig, read, started) -> ReindexSummary:
    total = con.execute("SELECT count(*) FROM landing.kb_chunks").fetchone()[0]
    return ReindexSummary(
        run_id="",
        index_version=current_index_version(con) or "",
        source=source,
        encoder=config.encoder,
        articles_in=read.records_in,
        articles_new=0,
        articles_reembedded=0,
        articles_metadata=0,
        articles_unchanged=0,
        articles_rejected=len(read.problems),
        articles_deleted=0,
        chunks_embedded=0,
        chunks_total=total,
        started_at=started,
        finished_at=datetime.now(UTC),
        problems=read.problems,
        empty=f"{empty_message(Path(path), read)}; the index is unchanged",
    )


def _chunk_and_embed(articles: list[Article], config: IndexConfig, on_progress):
    if not articles:
        return [], np.zeros((0, 0), dtype=np.float32)
    count = enc.token_counter(config.encoder)
    rows = []
    for art in articles:
        for chunk in chunk_article(art.title, art.body, count, config.chunk_tokens):
            rows.append((art.article_id, chunk))
    vectors = enc.embed(config.encoder, [c.text for _, c in rows], on_progress)
    return rows, vectors


def _refresh_routed(con, config: IndexConfig) -> int:
    """Passage vectors of each routed encoder (``landing.kb_chunk_vectors``) for the passages
    as they now are: drops those of gone or edited passages and of encoders no longer routed
    to, embeds the missing ones; returns how many passages were embedded."""
    encoders = config.routed_encoders
    con.execute(
        """DELETE FROM landing.kb_chunk_vectors v
           WHERE v.encoder NOT IN (SELECT unnest($encoders::VARCHAR[]))
              OR NOT EXISTS (SELECT 1 FROM landing.kb_chunks c
                             WHERE c.chunk_id = v.chunk_id AND md5(c.text) = v.text_hash)""",
        {"encoders": encoders},
    )
    done = 0
    for encoder in encoders:
        rows = con.execute(
            """SELECT c.chunk_id, md5(c.text), c.text FROM landing.kb_chunks c
               WHERE NOT EXISTS (SELECT 1 FROM landing.kb_chunk_vectors v
                                 WHERE v.chunk_id = c.chunk_id AND v.encoder = $encoder)
               ORDER BY c.chunk_id""",
            {"encoder": encoder},
        ).fetchall()
        if not rows:
            continue
        vectors = enc.embed(encoder, [r[2] for r in rows], kind="passage")
        table = pa.table(
            {
                "chunk_id": [r[0] for r in rows],
                "encoder": [encoder] * len(rows),
                "text_hash": [r[1] for r in rows],
                "embedding": _list_column(vectors),
            }
        )
        con.register("new_routed", table)
        try:
            con.execute("INSERT INTO landing.kb_chunk_vectors SELECT * FROM new_routed")
        finally:
            con.unregister("new_routed")
        done += len(rows)
    return done


def _list_column(vectors: np.ndarray) -> pa.Array:
    """(n, d) float32 → a column of n lists of d floats (DuckDB FLOAT[])."""
    return pa.FixedSizeListArray.from_arrays(
        pa.array(vectors.reshape(-1), pa.float32()), vectors.shape[1]
    ).cast(pa.list_(pa.float32()))


def _delete(con, table: str, article_ids: list[str]) -> None:
    if article_ids:
        con.execute(f"DELETE FROM {table} WHERE article_id IN (SELECT unnest(?))", [article_ids])


def _insert_articles(con, articles: list[Article], source: str, version: str) -> None:
    if not articles:
        return
    table = pa.table(
        {
            "article_id": [a.article_id for a in articles],
            "title": [a.title for a in articles],
            "audience": [a.audience for a in articles],
            "status": [a.status for a in articles],
            "owner": [a.owner for a in articles],
            "category": [a.product_area for a in articles],
            "locale": [a.locale for a in articles],
            "url": [a.url for a in articles],
            "updated_at": pa.array([a.updated_at for a in articles], pa.timestamp("us", "UTC")),
            "review_by": pa.array([a.review_by for a in articles], pa.date32()),
            "body": [a.body for a in articles],
            "content_hash": [a.content_hash for a in articles],
            "product_area": [a.product_area for a in articles],
            "source": [source] * len(articles),
            "source_file": [a.source_file for a in articles],
            "index_version": [version] * len(articles),
        }
    )
    con.register("new_articles", table)
    try:
        con.execute(
            f"INSERT INTO landing.kb_articles ({', '.join(table.column_names)}) "
            "SELECT * FROM new_articles"
        )
    finally:
        con.unregister("new_articles")


def _insert_chunks(con, rows: list, vectors: np.ndarray, version: str) -> None:
    if not rows:
        return
    table = pa.table(
        {
            "chunk_id": [f"{aid}#{c.ordinal}" for aid, c in rows],
            "article_id": [aid for aid, _ in rows],
            "ordinal": pa.array([c.ordinal for _, c in rows], pa.int32()),
            "text": [c.text for _, c in rows],
            "embedding": _list_column(vectors),
            "index_version": [version] * len(rows),
            "heading": [c.heading for _, c in rows],
            "tokens": pa.array([c.tokens for _, c in rows], pa.int32()),
        }
    )
    con.register("new_chunks", table)
    try:
        con.execute(
            f"INSERT INTO landing.kb_chunks ({', '.join(table.column_names)}) "
            "SELECT * FROM new_chunks"
        )
    finally:
        con.unregister("new_chunks")


def _record_run(con, s: ReindexSummary) -> None:
    con.execute(
        "INSERT INTO ops.kb_index_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [s.run_id, s.index_version, s.source, s.encoder, s.articles_in, s.articles_new,
         s.articles_reembedded, s.articles_metadata, s.articles_unchanged, s.articles_rejected,
         s.articles_deleted, s.chunks_embedded, s.chunks_total, s.started_at, s.finished_at],
    )  # fmt: skip
    if s.problems:
        con.executemany(
            "INSERT INTO ops.kb_problems VALUES (?, ?, ?, ?, ?)",
            [[s.run_id, s.source, p.source_file, p.article_id, p.reason] for p in s.problems],
        )
