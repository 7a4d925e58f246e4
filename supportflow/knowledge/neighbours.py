"""Similar pairs among unit vectors without an n × n similarity matrix.

``neighbour_pairs(vectors, k, threshold)`` takes ``vectors``, an (n, d) float32 array of
L2-normalised rows (so the inner product is the cosine similarity, in [-1, 1]), and returns
three arrays of one length m ≤ n k — ``i`` and ``j`` (int64 row numbers, ``i < j``, each pair
once, sorted by ``i`` then ``j``) and ``sim`` (float32 cosine) — for the pairs where one row is
among the other's ``k`` nearest rows and the similarity is at least ``threshold``. Bounding
each row's candidates keeps the output (and what callers do with it) linear in n even where
most pairs pass a low threshold.

Two paths, one contract:

- fewer than ``exact_below`` rows (``EXACT_BELOW``): brute force over blocks of rows
  (``BLOCK_FLOATS`` similarities per block, never n × n). Exact and deterministic; time
  O(n² d), bounded because n is small.
- otherwise: approximate nearest neighbours with an HNSW graph (hierarchical navigable small
  world; Malkov & Yashunin 2018, "Efficient and robust approximate nearest neighbor search
  using Hierarchical Navigable Small World graphs", IEEE TPAMI 42(4), arXiv:1603.09320),
  FAISS ``IndexHNSWFlat`` with inner product. Build and search take O(n log n) time and
  O(n (d + M)) memory. ``EF_SEARCH``, the candidate list a search keeps, is large enough that
  the k nearest are exact on 1,000 random rows (the hardest case: no clusters) and every
  planted near-duplicate is found among 20,000 (tests/unit/test_kb_neighbours.py); a graph
  built with several threads may differ between runs in its rare misses.

``grouped_pairs`` runs it within groups of rows (a locale, a unit stated) and merges the pairs.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

import numpy as np

EXACT_BELOW = 5000  # rows; brute force (BLAS) costs about what HNSW does at 5,000 × 384 here
BLOCK_FLOATS = 1_000_000  # similarities per exact block: 4 MB of float32, ≈ 16 MB with ranks
HNSW_M = 32  # graph links per node (2 M on the bottom layer)
EF_CONSTRUCTION = 40  # candidate list while building
EF_SEARCH = 64  # candidate list while searching (≥ k + 1): exact top-10 on 1,000 random rows
QUERY_BLOCK = 65_536  # rows searched per call, bounding the result arrays
THREADS = min(2, os.cpu_count() or 1)  # FAISS OpenMP threads while building and searching

Pairs = tuple[np.ndarray, np.ndarray, np.ndarray]


def _empty() -> Pairs:
    return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)


def _unique(i: np.ndarray, j: np.ndarray, sim: np.ndarray, n: int) -> Pairs:
    """Pairs as (min, max), duplicates dropped, sorted by i then j."""
    lo, hi = np.minimum(i, j).astype(np.int64), np.maximum(i, j).astype(np.int64)
    _, first = np.unique(lo * n + hi, return_index=True)
    return lo[first], hi[first], sim[first].astype(np.float32)


def exact_pairs(
    vectors: np.ndarray, k: int, threshold: float, block_floats: int = BLOCK_FLOATS
) -> Pairs:
    """Pairs ≥ ``threshold`` among each row's ``k`` nearest other rows, by brute force over
    blocks of rows; a block holds at most ``block_floats`` similarities (one row's at least)."""
    n = len(vectors)
    k = min(k, n - 1)
    block = max(1, block_floats // n)
    found_i, found_j, found_s = [], [], []
    for start in range(0, n, block):
        sims = vectors[start : start + block] @ vectors.T  # (rows in the block, n)
        rows = np.arange(start, start + len(sims))
        sims[rows - start, rows] = -np.inf  # not its own neighbour
        if k < n - 1:
            nearest = np.argpartition(sims, n - k, axis=1)[:, n - k :]  # the k largest
        else:
            nearest = np.broadcast_to(np.arange(n), sims.shape)
        best = np.take_along_axis(sims, nearest, axis=1)
        keep = best >= threshold
        found_i.append(np.broadcast_to(rows[:, None], nearest.shape)[keep])
        found_j.append(nearest[keep])
        found_s.append(best[keep])
    return _unique(np.concatenate(found_i), np.concatenate(found_j), np.concatenate(found_s), n)


def hnsw_pairs(vectors: np.ndarray, k: int, threshold: float, threads: int = THREADS) -> Pairs:
    """Pairs ≥ ``threshold`` among each row's ``k`` approximate nearest rows (HNSW)."""
    import faiss

    n, d = vectors.shape
    data = np.ascontiguousarray(vectors, dtype=np.float32)
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(max(1, threads))
    try:
        index = faiss.IndexHNSWFlat(d, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = EF_CONSTRUCTION
        index.hnsw.efSearch = max(EF_SEARCH, k + 1)
        index.add(data)
        found_i, found_j, found_s = [], [], []
        for start in range(0, n, QUERY_BLOCK):
            query = data[start : start + QUERY_BLOCK]
            sims, ids = index.search(query, min(k + 1, n))  # k others, plus the row itself
            rows = np.arange(start, start + len(query))[:, None].repeat(ids.shape[1], axis=1)
            other = (ids >= 0) & (ids != rows)
            keep = other & (np.cumsum(other, axis=1) <= k) & (sims >= threshold)
            found_i.append(rows[keep])
            found_j.append(ids[keep])
            found_s.append(sims[keep])
    finally:
        faiss.omp_set_num_threads(before)
    if not found_i:
        return _empty()
    return _unique(np.concatenate(found_i), np.concatenate(found_j), np.concatenate(found_s), n)


def neighbour_pairs(
    vectors: np.ndarray, k: int, threshold: float, exact_below: int | None = None
) -> Pairs:
    """Similar pairs (i < j, sorted, unique) and their cosine: exact below ``exact_below``
    rows (default ``EXACT_BELOW``), else HNSW with ``k`` candidates per row (module docstring)."""
    exact_below = EXACT_BELOW if exact_below is None else exact_below
    if len(vectors) < 2:
        return _empty()
    if len(vectors) < exact_below:
        return exact_pairs(vectors, k, threshold)
    return hnsw_pairs(vectors, k, threshold)


def grouped_pairs(
    vectors: np.ndarray,
    groups: Iterable[np.ndarray],
    k: int,
    threshold: float,
    exact_below: int | None = None,
) -> Pairs:
    """``neighbour_pairs`` within each group of row numbers into ``vectors``; pairs found in
    several groups once, as row numbers of ``vectors``, sorted by i then j."""
    found_i, found_j, found_s = [], [], []
    for group in groups:
        rows = np.asarray(group, dtype=np.int64)
        i, j, sim = neighbour_pairs(vectors[rows], k, threshold, exact_below)
        found_i.append(rows[i])
        found_j.append(rows[j])
        found_s.append(sim)
    if not found_i:
        return _empty()
    return _unique(
        np.concatenate(found_i), np.concatenate(found_j), np.concatenate(found_s), len(vectors)
    )
