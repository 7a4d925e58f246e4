"""The vector side of knowledge search: exact cosines of one query with chosen passages, and a
passage's cosine in its neighbours' context (``neighbour_weight``; see ``search.py``).

Split from ``search.py``: these work on a vector matrix alone, with no BM25 and no warehouse.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise

import numpy as np


def _dot(rows: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Row · query without numpy's BLAS: its thread pool would spin against the encoder's
    threads (a matrix product here made the next query embedding ~10 ms slower)."""
    return np.einsum("ij,j->i", rows, query)


class _Exact:
    """Exact float32 cosine of one query with any passage, computed once per passage."""

    def __init__(self, vectors: np.ndarray, query: np.ndarray):
        self.vectors, self.query, self.cache = vectors, query, {}

    def __call__(self, i: int) -> float:
        if i not in self.cache:
            self.cache[i] = float(self.vectors[i] @ self.query)
        return self.cache[i]

    def prefetch(self, passages) -> None:
        """Compute many at once (one matrix product instead of a Python loop)."""
        todo = np.unique(np.asarray([i for i in passages if i >= 0 and i not in self.cache]))
        if len(todo):
            cosines = _dot(self.vectors[todo], self.query).tolist()
            self.cache.update(zip(todo.tolist(), cosines, strict=True))


class _Near:
    """Exact cosine in context (``_Neighbours.one``) of one query, once per passage."""

    def __init__(self, neighbours: _Neighbours, exact: _Exact, weight: float):
        self.neighbours, self.exact, self.weight, self.cache = neighbours, exact, weight, {}

    def __call__(self, i: int) -> float:
        if i not in self.cache:
            self.cache[i] = self.neighbours.one(i, self.exact, self.weight)
        return self.cache[i]

    def prefetch(self, passages) -> None:
        """Compute many at once: three matrix products, no Python loop per passage."""
        near, w = self.neighbours, self.weight
        p = np.unique(np.asarray(passages, dtype=np.int64))
        if not len(p):
            return
        vectors, query = self.exact.vectors, self.exact.query
        prev, nxt, count = near.prev[p], near.next[p], near.count[p]
        own = _dot(vectors[p], query)
        around = np.where(prev >= 0, _dot(vectors[np.maximum(prev, 0)], query), 0)
        around += np.where(nxt >= 0, _dot(vectors[np.maximum(nxt, 0)], query), 0)
        mixed = (own + w * around / np.maximum(count, 1)) / near.norms(w)[p]
        ids = p.tolist()
        self.exact.cache.update(zip(ids, own.tolist(), strict=True))
        self.cache.update(zip(ids, np.where(count > 0, mixed, own).tolist(), strict=True))


class _Neighbours:
    """The passages before and after each one in its article under the same heading (-1: none),
    and the cosine of a query with a passage in their context: with ``w`` the weight, the
    cosine with ``v + w · mean(neighbours' v)`` (renormalised; a passage without neighbours
    keeps its own). Computed from the plain cosines (a gather, no second copy of the vectors):
    ``(s + w · mean(neighbours' s)) / ‖v + w · mean(neighbours' v)‖``, the norm in closed form
    from dot products taken once."""

    def __init__(self, rows: dict[str, list], vectors: np.ndarray):
        n = len(rows["chunk_id"])
        ordinals = rows.get("ordinal") or list(range(n))
        headings = rows.get("heading") or [""] * n
        order = sorted(range(n), key=lambda i: (rows["article_id"][i], ordinals[i], i))
        self.prev = np.full(n, -1, np.int64)
        self.next = np.full(n, -1, np.int64)
        for a, b in pairwise(order):
            if rows["article_id"][a] == rows["article_id"][b] and headings[a] == headings[b]:
                self.next[a], self.prev[b] = b, a
        self.count = (self.prev >= 0).astype(np.float32) + (self.next >= 0)
        self.any = bool(self.count.any())
        self._norms: dict[float, np.ndarray] = {}
        if self.any:  # v·v, v·prev, v·next, prev·next (0 where a neighbour is missing)
            self._dots = np.zeros((4, n), np.float32)
            for start in range(0, n, 8192):  # in slices: no full gathered copy of the vectors
                part = slice(start, start + 8192)
                v, p, q = vectors[part], self.prev[part], self.next[part]
                vp, vq = vectors[np.maximum(p, 0)], vectors[np.maximum(q, 0)]
                self._dots[0, part] = np.einsum("ij,ij->i", v, v)
                self._dots[1, part] = np.where(p >= 0, np.einsum("ij,ij->i", v, vp), 0)
                self._dots[2, part] = np.where(q >= 0, np.einsum("ij,ij->i", v, vq), 0)
                self._dots[3, part] = np.where(
                    (p >= 0) & (q >= 0), np.einsum("ij,ij->i", vp, vq), 0
                )

    def norms(self, weight: float) -> np.ndarray:
        """‖v + w · mean(neighbours' v)‖ per passage."""
        if weight not in self._norms:
            vv, vp, vq, pq = self._dots
            c = np.maximum(self.count, 1)
            has_p, has_q = self.prev >= 0, self.next >= 0
            pp = np.where(has_p, vv[np.maximum(self.prev, 0)], 0)
            qq = np.where(has_q, vv[np.maximum(self.next, 0)], 0)
            square = vv + 2 * weight * (vp + vq) / c + weight**2 * (pp + qq + 2 * pq) / c**2
            self._norms = {weight: np.sqrt(np.maximum(square, 1e-12)).astype(np.float32)}
        return self._norms[weight]

    def cosines(self, sims: np.ndarray, weight: float) -> np.ndarray:
        """``sims`` (queries × passages, plain cosines) in context."""
        if weight <= 0 or not self.any:
            return sims
        around = np.where(self.prev >= 0, sims[:, self.prev], 0.0)
        around += np.where(self.next >= 0, sims[:, self.next], 0.0)
        return (sims + weight * around / np.maximum(self.count, 1)) / self.norms(weight)

    def one(self, i: int, cosine: Callable[[int], float], weight: float) -> float:
        """The context cosine of passage ``i`` from a plain-cosine function."""
        around = [int(j) for j in (self.prev[i], self.next[i]) if j >= 0]
        if weight <= 0 or not around:
            return cosine(i)
        mixed = cosine(i) + weight * sum(cosine(j) for j in around) / len(around)
        return mixed / float(self.norms(weight)[i])
