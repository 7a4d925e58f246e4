"""KB health: what the knowledge owners should fix, as rows for the metrics layer.

Findings per article (stale — an outdated translation too —, missing owner, draft), per pair
(near-duplicate, conflicting: very similar passages that state different numbers for the same
unit — "14 days" vs "30 days"), and coverage gaps: clusters of recent tickets that no approved
article answers well.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pyarrow as pa

from supportflow.knowledge import encoder as enc
from supportflow.knowledge import ticket_vectors
from supportflow.knowledge.config import AuditConfig
from supportflow.knowledge.neighbours import grouped_pairs
from supportflow.knowledge.search import KnowledgeIndex
from supportflow.warehouse import transaction

ONE_TO_TWELVE = "zero one two three four five six seven eight nine ten eleven twelve"
WORD_NUMBERS = {w: i for i, w in enumerate(ONE_TO_TWELVE.split(" "))}
WORD_NUMBERS.update({"fifteen": 15, "twenty": 20, "thirty": 30, "sixty": 60, "ninety": 90})
UNITS = {
    "business day": "business_day", "working day": "business_day", "minute": "minute",
    "hour": "hour", "day": "day", "week": "week", "month": "month", "year": "year",
    "%": "percent", "percent": "percent", "time": "times", "attempt": "attempts",
}  # fmt: skip
NUMBER = r"(\d+(?:[.,]\d+)?|" + "|".join(WORD_NUMBERS) + ")"
UNIT_PATTERN = "|".join(sorted((re.escape(u) for u in UNITS), key=len, reverse=True))
QUANTITY = re.compile(rf"\b{NUMBER}\s*(?:failed\s+)?({UNIT_PATTERN})s?\b", re.IGNORECASE)
MONEY = re.compile(r"([$€£])\s?(\d+(?:[.,]\d+)?)")


@dataclass
class Finding:
    kind: str
    article_id: str
    detail: str
    other_article_id: str | None = None
    similarity: float | None = None


@dataclass
class CoverageGap:
    gap_id: int
    tickets: int
    mean_best_similarity: float
    terms: list[str]
    example_ticket_ids: list[str]
    example_subjects: list[str]


@dataclass
class AuditResult:
    audit_id: str
    findings: list[Finding] = field(default_factory=list)
    gaps: list[CoverageGap] = field(default_factory=list)


def quantities(text: str) -> dict[str, set[float]]:
    """Stated quantities by unit: '14 days' → {'day': {14.0}}; '$500' → {'money:$': {500.0}}."""
    found: dict[str, set[float]] = {}
    for number, unit in QUANTITY.findall(text):
        key = number.lower()
        value = float(WORD_NUMBERS[key]) if key in WORD_NUMBERS else float(key.replace(",", "."))
        found.setdefault(UNITS[unit.lower()], set()).add(value)
    for symbol, amount in MONEY.findall(text):
        found.setdefault(f"money:{symbol}", set()).add(float(amount.replace(",", ".")))
    return found


def contradiction(a: str, b: str) -> str | None:
    """'14 day vs 30 day' when both passages state a unit with no value in common."""
    return clash(quantities(a), quantities(b))


def clash(qa: dict[str, set[float]], qb: dict[str, set[float]]) -> str | None:
    """``contradiction`` on quantities already read from the two passages."""
    for unit in sorted(qa.keys() & qb.keys()):
        if not qa[unit] & qb[unit]:
            left = "/".join(f"{v:g}" for v in sorted(qa[unit]))
            right = "/".join(f"{v:g}" for v in sorted(qb[unit]))
            return f"{left} {unit} vs {right} {unit}"
    return None


def metadata_findings(articles: list[dict], today: date, config: AuditConfig) -> list[Finding]:
    """Per-article findings from ``landing.kb_articles`` rows (article_id, status, owner,
    review_by, updated_at): stale (outdated translation, review date passed, or no review date
    and not updated for ``stale_after_days``), missing_owner, draft. Archived ones are skipped.

    These rows are the audit's record in ``ops.kb_findings`` (written before dbt runs). The
    metrics read dbt's ``marts.fct_kb_health``, which applies the same rules to
    ``stg_landing__kb_articles`` (dbt var ``stale_after_days``); a test keeps the two equal."""
    out = []
    horizon = today - timedelta(days=config.stale_after_days)
    for art in articles:
        aid = art["article_id"]
        if art["status"] == "archived":
            continue
        if art["status"] == "outdated":
            out.append(
                Finding("stale", aid, "marked outdated: a translation behind its source article")
            )
        elif art["review_by"] is not None and art["review_by"] < today:
            out.append(Finding("stale", aid, f"review date {art['review_by']} has passed"))
        elif art["review_by"] is None and art["updated_at"] and art["updated_at"].date() < horizon:
            out.append(
                Finding("stale", aid, f"no review date; last updated {art['updated_at']:%Y-%m-%d}")
            )
        if not art["owner"]:
            out.append(Finding("missing_owner", aid, "no owner to keep it current"))
        if art["status"] == "draft":
            out.append(Finding("draft", aid, "draft: not shown to customers"))
    return out


def pair_findings(index: KnowledgeIndex, config: AuditConfig) -> list[Finding]:
    """Near-duplicate articles (mean passage vectors) and conflicting passages, same locale.

    Candidates come from ``neighbours.grouped_pairs``: each vector's ``config.neighbours``
    nearest, per locale for articles and per locale and stated unit for passages (only
    passages that state a quantity can conflict); exact on small groups, HNSW on large ones,
    never an n × n matrix. Pairs are visited in passage order; the first clash per article
    pair is its finding."""
    rows, vectors = index.rows, index.vectors
    aids, locales = rows["article_id"], rows["locale"]
    live = [n for n, s in enumerate(rows["status"]) if s != "archived"]
    articles = sorted({aids[n] for n in live})
    position = {a: n for n, a in enumerate(articles)}
    locale = {a: loc for a, loc in zip(aids, locales, strict=True)}
    means = np.zeros((len(articles), vectors.shape[1]), dtype=np.float32)
    owner = np.array([position[aids[n]] for n in live], dtype=np.int64)
    np.add.at(means, owner, vectors[live])
    means /= np.linalg.norm(means, axis=1, keepdims=True).clip(min=1e-9)
    k = config.neighbours
    by_locale = _groups((n, [locale[a]]) for n, a in enumerate(articles))
    similar = grouped_pairs(means, by_locale, k, config.near_duplicate_similarity)
    out = [
        Finding("near_duplicate", articles[i], "near-duplicate articles", articles[j], float(s))
        for i, j, s in zip(*similar, strict=True)
    ]
    stated = {n: quantities(rows["text"][n]) for n in live}
    by_unit = _groups((n, [(locales[n], unit) for unit in stated[n]]) for n in live)
    seen = set()
    candidates = grouped_pairs(vectors, by_unit, k, config.conflict_similarity)
    for i, j, s in zip(*candidates, strict=True):
        a, b = sorted((aids[i], aids[j]))
        if a == b or (a, b) in seen:
            continue
        detail = clash(stated[i], stated[j])
        if detail:
            seen.add((a, b))
            out.append(Finding("conflict", a, detail, b, float(s)))
    return out


def _groups(memberships: Iterable[tuple[int, list[Hashable]]]) -> list[np.ndarray]:
    """Row numbers per key from (row, keys) pairs, in row order."""
    groups: dict = {}
    for n, keys in memberships:
        for key in keys:
            groups.setdefault(key, []).append(n)
    return [np.array(g, dtype=np.int64) for g in groups.values()]


def coverage_gaps(
    index: KnowledgeIndex,
    tickets: list[tuple[str, str, str]],
    config: AuditConfig,
    vectors: np.ndarray | None = None,
) -> list[CoverageGap]:
    """Clusters of tickets (id, subject, text) whose best approved passage is weak."""
    approved = index.mask(audience="public")
    if not tickets or not approved.any():
        return []
    if vectors is None:
        vectors = enc.embed(index.encoder, [t[2] for t in tickets])
    best = (vectors @ index.vectors[approved].T).max(axis=1)
    weak = np.flatnonzero(best < config.gap_similarity)
    if len(weak) < config.gap_min_tickets:
        return []
    from sklearn.cluster import AgglomerativeClustering
    from sklearn.feature_extraction.text import TfidfVectorizer

    labels = AgglomerativeClustering(
        n_clusters=None,
        metric="cosine",
        linkage="average",
        distance_threshold=config.gap_cluster_distance,
    ).fit_predict(vectors[weak])
    tfidf = TfidfVectorizer(
        stop_words="english", max_features=5000, token_pattern=r"[a-zA-Zà-ÿ]{3,}"
    )
    weights = tfidf.fit_transform([tickets[i][2] for i in weak])
    vocab = np.array(tfidf.get_feature_names_out())
    gaps = []
    for label in np.unique(labels):
        members = weak[labels == label]
        if len(members) < config.gap_min_tickets:
            continue
        centroid = vectors[members].mean(axis=0)
        nearest = members[np.argsort(-(vectors[members] @ centroid))[:3]]
        term_scores = np.asarray(weights[labels == label].mean(axis=0)).ravel()
        gaps.append(
            CoverageGap(
                gap_id=0,
                tickets=len(members),
                mean_best_similarity=float(best[members].mean()),
                terms=[str(t) for t in vocab[np.argsort(-term_scores)[:6]]],
                example_ticket_ids=[tickets[i][0] for i in nearest],
                example_subjects=[tickets[i][1] for i in nearest],
            )
        )
    gaps.sort(key=lambda g: -g.tickets)
    for n, gap in enumerate(gaps, start=1):
        gap.gap_id = n
    return gaps


RECENT_TICKETS = """
    WITH latest AS (SELECT max(created_at) AS at FROM landing.tickets)
    SELECT ticket_id, coalesce(subject, '') AS subject, ticket_text
    FROM landing.ticket_texts, latest
    WHERE created_at >= latest.at - to_days(?) AND has_text
    ORDER BY created_at DESC, ticket_id
    LIMIT ?
"""


def recent_tickets(con, config: AuditConfig) -> list[tuple[str, str, str]]:
    """The newest tickets with text, within ``gap_days`` of the latest one."""
    return con.execute(RECENT_TICKETS, [config.gap_days, config.gap_max_tickets]).fetchall()


def audit_inputs(con, config: AuditConfig, encoder: str, today: date) -> str:
    """SHA-256 (hex) of everything ``run_audit`` reads: the index version (articles' content and
    encoders), each article's metadata (status, owner, review date, update time), the recent
    tickets' text and the hash of the text their ``encoder`` vectors are of, ``config`` and
    ``today``. Equal inputs give an equal audit; ≈ 10 ms where the audit takes seconds."""
    from supportflow.knowledge.index import current_index_version

    articles = con.execute(
        "SELECT count(*), coalesce(bit_xor(hash(article_id, status, owner, review_by, "
        "updated_at)), 0)::VARCHAR FROM landing.kb_articles"
    ).fetchone()
    tickets = con.execute(
        f"""
        WITH recent AS ({RECENT_TICKETS})
        SELECT count(*), coalesce(bit_xor(hash(r.ticket_id, r.subject, r.ticket_text,
                                               v.text_hash)), 0)::VARCHAR
        FROM recent AS r
        LEFT JOIN ml.ticket_vectors AS v ON v.ticket_id = r.ticket_id AND v.encoder = ?
        """,
        [config.gap_days, config.gap_max_tickets, encoder],
    ).fetchone()
    facts = [current_index_version(con), list(articles), list(tickets), encoder,
             config.model_dump_json(), today.isoformat()]  # fmt: skip
    return hashlib.sha256(json.dumps(facts).encode()).hexdigest()


def audited(con, inputs: str) -> AuditResult | None:
    """The stored audit when it was computed from ``inputs`` (``audit_inputs``), else None."""
    rows = con.execute("SELECT audit_id FROM ops.kb_audits WHERE inputs = ?", [inputs]).fetchall()
    if not rows:
        return None
    (audit_id,) = rows[0]
    stored = stored_audit(con)
    if stored is None:  # an audit that found nothing, or rows of several audits
        found = con.execute(
            "SELECT (SELECT count(*) FROM ops.kb_findings) "
            "+ (SELECT count(*) FROM ops.kb_coverage_gaps)"
        ).fetchone()[0]
        return AuditResult(audit_id) if found == 0 else None
    return stored if stored.audit_id == audit_id else None


def _comparable(findings: list[Finding], gaps: list[CoverageGap]) -> tuple:
    """What an audit says, without its id and time: sorted rows, similarities to 6 decimals."""

    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 6)

    return (
        sorted(
            (f.kind, f.article_id, f.other_article_id or "", rounded(f.similarity) or 0.0, f.detail)
            for f in findings
        ),
        sorted(
            (g.gap_id, g.tickets, rounded(g.mean_best_similarity), list(g.terms),
             list(g.example_ticket_ids), list(g.example_subjects))
            for g in gaps
        ),
    )  # fmt: skip


def stored_audit(con) -> AuditResult | None:
    """The audit in ``ops.kb_findings`` / ``ops.kb_coverage_gaps``, or ``None`` when empty."""
    findings = con.execute(
        "SELECT audit_id, kind, article_id, detail, other_article_id, similarity "
        "FROM ops.kb_findings"
    ).fetchall()
    gaps = con.execute(
        "SELECT audit_id, gap_id, tickets, mean_best_similarity, terms, example_ticket_ids, "
        "example_subjects FROM ops.kb_coverage_gaps"
    ).fetchall()
    ids = {row[0] for row in findings} | {row[0] for row in gaps}
    if len(ids) != 1:
        return None
    return AuditResult(
        audit_id=ids.pop(),
        findings=[Finding(*row[1:]) for row in findings],
        gaps=[CoverageGap(*row[1:]) for row in gaps],
    )


def run_audit(
    con,
    index: KnowledgeIndex,
    config: AuditConfig,
    today: date | None = None,
    inputs: str | None = None,
):
    """Compute every finding and replace the previous audit's rows in one transaction.

    An audit that finds exactly what the stored one says keeps the stored rows (their
    ``audit_id`` and ``found_at``), so a re-run with nothing new changes no finding. ``inputs``
    (``audit_inputs``), when given, is recorded in ``ops.kb_audits`` for ``audited``."""
    today = today or datetime.now(UTC).date()
    cur = con.execute(
        "SELECT article_id, status, owner, review_by, updated_at FROM landing.kb_articles"
    )
    names = [d[0] for d in cur.description]
    articles = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    result = AuditResult(audit_id=uuid.uuid4().hex[:12])
    result.findings = metadata_findings(articles, today, config) + pair_findings(index, config)
    tickets = recent_tickets(con, config)
    # the recent tickets' vectors (a no-op when the nightly run embedded them)
    ticket_vectors.refresh(con, index.encoder, recent_days=config.gap_days)
    vectors = ticket_vectors.load(con, index.encoder, [t[0] for t in tickets])
    result.gaps = coverage_gaps(index, tickets, config, vectors)
    stored = stored_audit(con)
    if stored is not None and _comparable(stored.findings, stored.gaps) == _comparable(
        result.findings, result.gaps
    ):
        result = stored
    now = datetime.now(UTC)
    with transaction(con):
        if inputs is not None:
            con.execute("DELETE FROM ops.kb_audits")
            con.execute(
                "INSERT INTO ops.kb_audits VALUES (?, ?, ?)", [result.audit_id, inputs, now]
            )
        if result is stored:
            return result
        con.execute("DELETE FROM ops.kb_findings")
        con.execute("DELETE FROM ops.kb_coverage_gaps")
        if result.findings:  # one Arrow insert: executemany wrote ≈ 2,000 rows/s
            findings = pa.table({
                "audit_id": [result.audit_id] * len(result.findings),
                "kind": [f.kind for f in result.findings],
                "article_id": [f.article_id for f in result.findings],
                "other_article_id": [f.other_article_id for f in result.findings],
                "similarity": pa.array([f.similarity for f in result.findings], pa.float64()),
                "detail": [f.detail for f in result.findings],
                "found_at": pa.array([now] * len(result.findings), pa.timestamp("us", "UTC")),
            })  # fmt: skip
            con.register("new_findings", findings)
            con.execute("INSERT INTO ops.kb_findings BY NAME SELECT * FROM new_findings")
            con.unregister("new_findings")
        if result.gaps:
            con.executemany(
                "INSERT INTO ops.kb_coverage_gaps VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [[result.audit_id, g.gap_id, g.tickets, g.mean_best_similarity, g.terms,
                  g.example_ticket_ids, g.example_subjects, now] for g in result.gaps],
            )  # fmt: skip
    return result
