"""Hybrid search over the knowledge index: BM25 (bm25s) beside exact cosine search, fused by
weighted reciprocal rank, returned per article with the passage that matched best.

Built for real help centers, where long guides sit beside short articles:
- the lexical side is field-weighted: a passage's BM25 score plus ``title_weight`` and
  ``heading_weight`` times the BM25 score of its article title and of its section heading (one
  more bm25s index each, over their distinct values), so a heading match counts more than the
  same words deep in a paragraph;
- passage-neighbour context on the vector side: a passage is compared with the query through
  its vector plus ``neighbour_weight`` times the mean of its neighbours' (the passages before
  and after it under the same heading), renormalised, so an answer spread over a few passages
  of a long section is found as one; a passage alone keeps its vector, and the cosine a hit
  reports (``similarity``, what answer thresholds read) is always the passage's own;
- an article is ranked by its best passage plus ``passage_bonus`` times its second best.

Measured on StackFAQ (short articles), on the same threads rebuilt as long guides, and on the
demo tickets (benchmarks/bench_knowledge.py): the title weight helped the first and the demo a
little and cost the long guides more (short articles won on title words), so it is 0 by default.

Exact search is a matrix product: ≈ 100k passages × 384 dimensions stays in tens of
milliseconds on two cores. Past a few million passages an ANN index (hnswlib, FAISS) takes over.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import bm25s
import numpy as np
import Stemmer

from supportflow.knowledge import encoder as enc
from supportflow.knowledge.config import SearchConfig
from supportflow.knowledge.index import current_index_version
from supportflow.knowledge.passage_vectors import _Exact, _Near, _Neighbours

logging.getLogger("bm25s").setLevel(logging.WARNING)  # its DEBUG lines flood flow logs
log = logging.getLogger(__name__)

METHODS = ("hybrid", "lexical", "vector")
BLOCK = 256  # queries per similarity block: bounds memory at BLOCK × passages floats


@dataclass(frozen=True)
class Hit:
    rank: int
    article_id: str
    chunk_id: str
    title: str
    url: str | None
    updated_at: datetime | None
    audience: str
    status: str
    text: str
    score: float  # the article's ranking score in the method (RRF for hybrid, BM25, or cosine)
    similarity: float  # cosine of query and passage, comparable across methods


class _Field:
    """BM25 over the distinct values of one passage field (title, heading), per passage."""

    def __init__(self, values: Sequence[str | None], tokens: Callable):
        distinct: dict[str, int] = {}
        self.of = np.array([distinct.setdefault(v or "", len(distinct)) for v in values], np.int64)
        indexed = tokens(list(distinct))
        self.bm25 = None
        if indexed.vocab:  # bm25s refuses an empty vocabulary
            self.bm25 = bm25s.BM25()
            self.bm25.index(indexed, show_progress=False)

    def scores(self, tokens: list[str]) -> np.ndarray | None:
        return None if self.bm25 is None else self.bm25.get_scores(tokens)[self.of]


class EmptyIndexError(RuntimeError):
    """Nothing has been indexed yet."""


def _bfloat16(vectors: np.ndarray):
    """``vectors`` as a bfloat16 torch tensor (torch is imported here, not on module import:
    a night with nothing to search never pays for it)."""
    import torch

    return torch.from_numpy(vectors).to(torch.bfloat16)


class KnowledgeIndex:
    """Passages, their vectors and BM25 indexes, loaded once from the warehouse."""

    COLUMNS = ("chunk_id", "article_id", "title", "url", "updated_at", "audience", "status",
               "locale", "text", "heading", "ordinal")  # fmt: skip

    def __init__(self, rows: dict[str, list], vectors: np.ndarray, encoder: str, version: str):
        """``rows``: COLUMNS as lists; ``heading`` and ``ordinal`` may be missing (or empty),
        then passages have no heading field and neighbours follow the row order."""
        self.rows = rows
        self.vectors = vectors
        self.encoder = encoder
        self.version = version
        self._torch_vectors = _bfloat16(vectors)
        self._audience = np.array(rows["audience"], dtype=object)
        self._status = np.array(rows["status"], dtype=object)
        self._masks: dict[tuple, np.ndarray] = {}
        self.stemmer = Stemmer.Stemmer("english")
        self.bm25 = bm25s.BM25()
        self.bm25.index(self._tokens(rows["text"]), show_progress=False)
        self._title = _Field(rows["title"], self._tokens)
        self._heading = _Field(rows.get("heading") or [""] * len(self), self._tokens)
        self._neighbours = _Neighbours(rows, vectors)
        self.language_encoders: dict[str, str] = {}
        self.index_encoder = encoder  # the one every passage is embedded with in kb_chunks
        self._by_encoder: dict[str, KnowledgeIndex] = {encoder: self}

    def add_encoder(self, encoder: str, vectors: np.ndarray, languages: Sequence[str]) -> None:
        """Route ``languages`` (ISO 639-1) to ``encoder``, whose passage vectors (in row order)
        are ``vectors``; the passages, BM25 indexes and filters are shared."""
        if len(vectors) != len(self):
            raise ValueError(f"{encoder}: {len(vectors)} passage vectors for {len(self)} passages")
        other = copy.copy(self)
        other.vectors = vectors
        other.encoder = encoder
        other._torch_vectors = _bfloat16(vectors)
        other._neighbours = _Neighbours(self.rows, vectors)
        self._by_encoder[encoder] = other
        self.language_encoders.update(dict.fromkeys(languages, encoder))

    def encoder_for(self, language: str | None) -> str:
        """The encoder that embeds a query in ``language`` (None: undetected)."""
        return self.language_encoders.get(language or "", self.encoder)

    def routes(self) -> dict[str, list[str] | None]:
        """Encoder → the languages it embeds queries of (None for the index encoder: all the
        others, and every ticket's vector for assist and the audit)."""
        out: dict[str, list[str] | None] = {self.encoder: None}
        for language, encoder in sorted(self.language_encoders.items()):
            out.setdefault(encoder, []).append(language)
        return out

    def for_encoder(self, encoder: str) -> KnowledgeIndex:
        """This index searched with ``encoder``'s vectors (KeyError when it has none)."""
        return self._by_encoder[encoder]

    @classmethod
    def load(
        cls, con, encoder: str, language_encoders: Mapping[str, str] | None = None
    ) -> KnowledgeIndex:
        """The index as the warehouse holds it, searched with ``encoder``; each language in
        ``language_encoders`` is routed to its encoder where the passages have its vectors
        (``landing.kb_chunk_vectors``; else, with a warning, it stays on ``encoder``). Raises
        EmptyIndexError when nothing is indexed."""
        index = cls._load(con, encoder)
        routed: dict[str, list[str]] = {}
        for language, other in (language_encoders or {}).items():
            if other and other != encoder:
                routed.setdefault(other, []).append(language)
        for other, languages in sorted(routed.items()):
            vectors = _routed_vectors(con, other, index.rows["chunk_id"])
            if vectors is None:
                log.warning("the index has no %s vectors (run `supportflow reindex`): %s "
                            "questions use %s", other, "/".join(languages), encoder)  # fmt: skip
            else:
                index.add_encoder(other, vectors, languages)
        return index

    @classmethod
    def _load(cls, con, encoder: str) -> KnowledgeIndex:
        version = current_index_version(con)
        table = con.sql(
            "SELECT c.chunk_id, c.article_id, a.title, a.url, a.updated_at, a.audience, a.status,"
            " a.locale, c.text, c.heading, c.ordinal, c.embedding FROM landing.kb_chunks c"
            " JOIN landing.kb_articles a USING (article_id) ORDER BY c.chunk_id"
        ).to_arrow_table()
        if version is None or table.num_rows == 0:
            raise EmptyIndexError(
                "the knowledge index is empty: run `supportflow reindex PATH` first"
            )
        rows = {name: table.column(name).to_pylist() for name in cls.COLUMNS}
        flat = table.column("embedding").combine_chunks().flatten().to_numpy()
        vectors = np.array(flat.reshape(table.num_rows, -1), dtype=np.float32)  # writable copy
        return cls(rows, vectors, encoder, version)

    def __len__(self) -> int:
        return len(self.rows["chunk_id"])

    def _tokens(self, texts: Sequence[str], ids: bool = True):
        return bm25s.tokenize(
            list(texts), stopwords="en", stemmer=self.stemmer, return_ids=ids, show_progress=False
        )

    def mask(self, audience: str | None = None, published_only: bool = True) -> np.ndarray:
        """Which passages may be returned: ``audience='public'`` hides internal articles."""
        key = (audience, published_only)
        if key not in self._masks:
            keep = np.ones(len(self), dtype=bool)
            if audience:
                keep &= self._audience == audience
            if published_only:
                keep &= self._status == "published"
            self._masks[key] = keep
        return self._masks[key]

    def search(self, query: str, k: int = 5, **options) -> list[Hit]:
        return self.search_many([query], k, **options)[0]

    def search_many(
        self,
        queries: Sequence[str],
        k: int = 5,
        *,
        audience: str | None = None,
        published_only: bool = True,
        method: str = "hybrid",
        config: SearchConfig | None = None,
        query_vectors: np.ndarray | None = None,
        languages: Sequence[str | None] | None = None,
    ) -> list[list[Hit]]:
        """Top-``k`` articles per query, best passage each, most relevant first.

        ``query_vectors``: (n, d) of ``self.encoder``, when the caller has them. ``languages``:
        each query's ISO 639-1 code (or None); a query whose language is routed to another
        encoder is embedded and searched with it (then ``query_vectors`` must not be given)."""
        options = dict(audience=audience, published_only=published_only, method=method,
                       config=config)  # fmt: skip
        if languages is not None and len(self._by_encoder) > 1:
            if query_vectors is not None:
                raise ValueError("query_vectors are of one encoder: route by languages without")
            groups: dict[str, list[int]] = {}
            for i, language in enumerate(languages):
                groups.setdefault(self.encoder_for(language), []).append(i)
            out: list[list[Hit]] = [[] for _ in queries]
            for encoder, positions in groups.items():
                found = self._by_encoder[encoder].search_many(
                    [queries[i] for i in positions], k, **options
                )
                for i, hits in zip(positions, found, strict=True):
                    out[i] = hits
            return out
        return self._search(queries, k, query_vectors=query_vectors, **options)

    def _search(
        self,
        queries: Sequence[str],
        k: int,
        *,
        audience: str | None,
        published_only: bool,
        method: str,
        config: SearchConfig | None,
        query_vectors: np.ndarray | None,
    ) -> list[list[Hit]]:
        if method not in METHODS:
            raise ValueError(f"unknown search method {method!r} (one of {', '.join(METHODS)})")
        config = config or SearchConfig()
        if self.encoder != self.index_encoder:  # a routed language: English stems match less
            config = config.model_copy(update={"lexical_weight": config.routed_lexical_weight})
        allowed = self.mask(audience, published_only)
        if not allowed.any():
            return [[] for _ in queries]
        if query_vectors is None:
            query_vectors = enc.embed(self.encoder, list(queries))
        depth = min(max(config.candidates, 4 * k), int(allowed.sum()))
        lexical = self._lexical(queries, allowed, depth, config) if method != "vector" else None
        weight = config.neighbour_weight
        context = weight > 0 and self._neighbours.any
        results = []
        for start in range(0, len(queries), BLOCK):
            sims = self._similarities(query_vectors[start : start + BLOCK])
            sims = self._neighbours.cosines(sims, weight)
            sims[:, ~allowed] = -np.inf
            for row, approx in enumerate(sims):
                i = start + row
                exact = _Exact(self.vectors, query_vectors[i])
                near = _Near(self._neighbours, exact, weight) if context else exact
                ranked = self._rank(approx, near, lexical[i] if lexical else None, depth, method,
                                    config)  # fmt: skip
                results.append(self._articles(ranked, near, exact, k, config.passage_bonus))
        return results

    def _similarities(self, queries: np.ndarray) -> np.ndarray:
        """Approximate cosine (bfloat16) of each query with every passage, to pick candidates.

        The scan is memory-bound: bfloat16 halves the bytes read (≈ 4× faster at 100k passages
        here). In torch, not numpy: the encoder's threads and a separate BLAS pool would
        otherwise spin against each other (queries 3× slower)."""
        import torch

        with torch.no_grad():
            q = _bfloat16(np.ascontiguousarray(queries))
            return (q @ self._torch_vectors.T).float().numpy()

    def _lexical(
        self, queries, allowed: np.ndarray, depth: int, config: SearchConfig
    ) -> list[list[tuple[int, float]]]:
        """(passage, score) best first, positive scores only: the passage's BM25 plus the
        weighted BM25 of its title and heading, in its neighbours' context."""
        out = []
        for tokens in self._tokens(queries, ids=False):
            if not tokens:  # only stop words or nothing at all
                out.append([])
                continue
            scores = self.bm25.get_scores(tokens)
            for field, weight in ((self._title, config.title_weight),
                                  (self._heading, config.heading_weight)):  # fmt: skip
                extra = field.scores(tokens) if weight > 0 else None
                if extra is not None:
                    scores = scores + weight * extra
            scores = np.where(allowed, scores, 0.0)
            top = np.argpartition(-scores, depth - 1)[:depth] if depth < len(scores) else None
            top = np.arange(len(scores)) if top is None else top
            top = top[scores[top] > 0]
            out.append(
                sorted(((int(i), float(scores[i])) for i in top), key=lambda x: (-x[1], x[0]))
            )
        return out

    @staticmethod
    def _rank(approx, near: _Exact | _Near, lexical, depth: int, method: str,
              config: SearchConfig):  # fmt: skip
        """(passage, score) best first, for one query: candidates by the approximate scan,
        ranked by exact cosine (in context: ``near``)."""
        if method == "lexical":
            return lexical
        n = len(approx)
        top = np.argpartition(-approx, depth - 1)[:depth] if depth < n else np.arange(n)
        top = top[np.isfinite(approx[top])]
        near.prefetch(np.concatenate([top, [i for i, _ in lexical or ()]]).astype(np.int64))
        vector = sorted(((int(i), near(i)) for i in top), key=lambda item: (-item[1], item[0]))
        if method == "vector":
            return vector
        fused: dict[int, float] = {}
        for weight, ranking in ((1.0, vector), (config.lexical_weight, lexical)):
            for rank, (i, _) in enumerate(ranking):
                fused[i] = fused.get(i, 0.0) + weight / (config.rrf_k + rank + 1)
        return sorted(fused.items(), key=lambda item: (-item[1], -near(item[0])))

    def _articles(self, ranked, near, exact: _Exact, k: int, bonus: float = 0.0) -> list[Hit]:
        """Each article once, at its best passage; scored by that passage plus ``bonus`` times
        its second best (ties: the better cosine in context)."""
        r = self.rows
        best: dict[str, list] = {}  # article → [best passage, its score, second best score]
        for i, score in ranked:
            found = best.get(r["article_id"][i])
            if found is None:
                best[r["article_id"][i]] = [i, score, 0.0]
            elif found[2] == 0.0:
                found[2] = score
        order = sorted(best.values(), key=lambda b: (-(b[1] + bonus * b[2]), -near(b[0])))
        hits: list[Hit] = []
        for i, score, second in order[:k]:
            hits.append(
                Hit(
                    rank=len(hits) + 1,
                    article_id=r["article_id"][i],
                    chunk_id=r["chunk_id"][i],
                    title=r["title"][i],
                    url=r["url"][i],
                    updated_at=r["updated_at"][i],
                    audience=r["audience"][i],
                    status=r["status"][i],
                    text=r["text"][i],
                    score=score + bonus * second,
                    similarity=exact(i),
                )
            )
        return hits


def _routed_vectors(con, encoder: str, chunk_ids: list[str]) -> np.ndarray | None:
    """(n, d) ``encoder`` vectors of ``chunk_ids`` in that order, or None unless every passage
    has one (``landing.kb_chunk_vectors``, written by reindex)."""
    table = con.sql(
        "SELECT chunk_id, embedding FROM landing.kb_chunk_vectors WHERE encoder = $encoder",
        params={"encoder": encoder},
    ).to_arrow_table()
    if table.num_rows == 0:
        return None
    position = {c: i for i, c in enumerate(table.column("chunk_id").to_pylist())}
    if any(c not in position for c in chunk_ids):
        return None
    flat = table.column("embedding").combine_chunks().flatten().to_numpy()
    matrix = flat.reshape(table.num_rows, -1)
    return np.array(matrix[[position[c] for c in chunk_ids]], dtype=np.float32)
