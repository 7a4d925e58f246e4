"""Similar pairs among unit vectors without an n × n similarity matrix.

``neighbour_pairs(vectors, k, threshold)`` takes ``vectors``, an (n, d) float32 array of
L2-normalised rows (so the inner product is the cosine similarity, in [-1, 1]), and returns
three arrays of one length m — ``i`` and ``j`` (int64 row numbers, ``i < j``, each pair once,
sorted by ``i`` then ``j``) and ``sim`` (float32 cosine) — for the pairs whose similarity is at
least ``threshold``.

Two paths, one contract:

- fewer than ``exact_below`` rows: exact. Blocks of rows are compared with the rows after them
  (``BLOCK_FLOATS`` floats per block, never n × n), and every pair ≥ ``threshold`` is returned.
  Deterministic; time O(n² d), bounded because n is small.
- otherwise: approximate nearest neighbours with an HNSW graph (hierarchical navigable small
  world; Malkov & Yashunin 2018, "Efficient and robust approximate nearest neighbor search
  using Hierarchical Navigable Small World graphs", IEEE TPAMI 42(4), arXiv:1603.09320),
  FAISS ``IndexHNSWFlat`` with inner product. Each row's ``k`` nearest rows are the candidates;
  a pair is returned when either row is among the other's candidates and the similarity is
  ≥ ``threshold``. Build and search take O(n log n) time and O(n (d + M)) memory. It equals the
  exact path when no row has more than ``k`` others at or above ``threshold`` and the graph
  search finds them, which ``EF_SEARCH`` (the candidate list a search keeps, ≥ ``k``) makes the
  case for well-separated pairs such as near-duplicates (tests/unit/test_kb_neighbours.py).

``grouped_pairs`` runs it within groups of rows (a locale, a unit stated) and merges the pairs.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

import numpy as np

EXACT_BELOW = 2000  # rows; below this the exact blocked search is cheap (< 0.1 s at d = 384)
BLOCK_FLOATS = 4_000_000  # similarities per exact block: 16 MB of float32
HNSW_M = 16  # graph links per node (2 M on the bottom layer)
EF_CONSTRUCTION = 80  # candidate list while building
EF_SEARCH = 128  # candidate list while searching (≥ k + 1); exact top-10 on 1,000 random rows
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


def exact_pairs(vectors: np.ndarray, threshold: float, block_floats: int = BLOCK_FLOATS) -> Pairs:
    """Every pair ≥ ``threshold``, comparing blocks of rows with the rows from the block on;
    a block holds at most ``block_floats`` similarities (one row's at least)."""
    n = len(vectors)
    block = max(1, block_floats // max(n, 1))
    found_i, found_j, found_s = [], [], []
    for start in range(0, n, block):
        stop = min(start + block, n)
        sims = vectors[start:stop] @ vectors[start:].T  # (stop - start, n - start)
        rows, cols = np.nonzero(sims >= threshold)
        later = cols > rows  # column c is row start + c: keep j > i only
        rows, cols = rows[later], cols[later]
        found_i.append(rows + start)
        found_j.append(cols + start)
        found_s.append(sims[rows, cols])
    if not found_i:
        return _empty()
    return (
        np.concatenate(found_i).astype(np.int64),
        np.concatenate(found_j).astype(np.int64),
        np.concatenate(found_s).astype(np.float32),
    )  # already in (i, j) order and unique


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
        return exact_pairs(vectors, threshold)
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
