"""Similar pairs without an n × n matrix (supportflow/knowledge/neighbours.py) and the KB audit's
pair findings built on them: the exact and HNSW paths agree, memory stays far below n², and
the findings equal the all-pairs computation the audit used before."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from supportflow.knowledge import neighbours
from supportflow.knowledge.audit import Finding, contradiction, pair_findings
from supportflow.knowledge.config import AuditConfig
from supportflow.knowledge.neighbours import exact_pairs, neighbour_pairs
from supportflow.knowledge.search import KnowledgeIndex


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def planted(n: int, d: int, groups: int, seed: int) -> tuple[np.ndarray, set[tuple[int, int]]]:
    """``n`` random unit vectors; ``groups`` of 2–4 rows are noisy copies of one (cos ≈ 0.98)."""
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((n, d))
    rows = rng.permutation(n)
    pairs, used = set(), 0
    for _ in range(groups):
        size = int(rng.integers(2, 5))
        members = np.sort(rows[used : used + size])
        used += size
        vectors[members] = vectors[members[0]] + 0.15 * rng.standard_normal((size, d))
        pairs |= {(int(a), int(b)) for a in members for b in members if a < b}
    return unit(vectors), pairs


def as_set(found) -> set[tuple[int, int]]:
    return set(zip(found[0].tolist(), found[1].tolist(), strict=True))


def brute_force(vectors: np.ndarray, k: int, threshold: float) -> set[tuple[int, int]]:
    """The contract with an n × n matrix (fine for the few hundred rows of a test)."""
    full = vectors @ vectors.T
    np.fill_diagonal(full, -np.inf)
    top = np.argsort(-full, axis=1)[:, :k]
    return {(min(a, int(b)), max(a, int(b))) for a in range(len(vectors)) for b in top[a]
            if full[a, b] >= threshold}  # fmt: skip


def test_exact_blocks_return_the_k_nearest_above_the_threshold_once_in_order():
    vectors = unit(np.random.default_rng(1).standard_normal((700, 16)))
    i, j, sim = exact_pairs(vectors, 10, 0.5, block_floats=5 * 700)  # 5 rows a block
    assert as_set((i, j)) == brute_force(vectors, 10, 0.5)
    assert len(i) > 1000 and np.all(i < j)
    assert np.all(np.diff(i * 700 + j) > 0)  # sorted, each pair once
    np.testing.assert_allclose(sim, np.einsum("ij,ij->i", vectors[i], vectors[j]), atol=1e-6)
    everything = exact_pairs(vectors, 699, 0.5)  # k ≥ n - 1: every pair above the threshold
    above = np.nonzero(np.triu(vectors @ vectors.T >= 0.5, 1))
    assert as_set(everything) == set(zip(*above, strict=True))


def test_hnsw_and_exact_paths_give_the_same_pairs_on_planted_near_duplicates():
    vectors, truth = planted(4000, 64, groups=300, seed=2)
    exact = neighbour_pairs(vectors, 10, 0.9, exact_below=10**9)
    approx = neighbour_pairs(vectors, 10, 0.9, exact_below=0)
    assert as_set(exact) == truth  # random rows stay far below 0.9; every planted pair is found
    assert as_set(approx) == truth
    for got, want in zip(approx, exact, strict=True):
        np.testing.assert_allclose(got, want, atol=1e-5)


@pytest.mark.parametrize("d", [32, 64])
def test_hnsw_top_k_is_exact_on_a_small_set(d):
    """With no threshold both paths return each row's k nearest: the same pairs on 1,000
    random rows (the hardest case for a graph search: no clusters)."""
    vectors = unit(np.random.default_rng(d).standard_normal((1000, d)))
    want = brute_force(vectors, 10, -1.0)
    assert as_set(neighbour_pairs(vectors, 10, -1.0, exact_below=0)) == want
    assert as_set(neighbour_pairs(vectors, 10, -1.0)) == want


def traced_peak(run) -> int:
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_no_n_by_n_allocation_on_either_path():
    n = 20_000
    vectors, truth = planted(n, 32, groups=500, seed=3)
    found = {}
    peak = traced_peak(lambda: found.setdefault("p", neighbour_pairs(vectors, 10, 0.9)))
    assert as_set(found["p"]) == truth
    assert peak < n * n * 4 / 50, f"{peak / 1e6:.0f} MB for {n:,} rows"  # n² float32: 1.6 GB
    small = vectors[:8000]
    peak = traced_peak(lambda: exact_pairs(small, 10, 0.9, block_floats=1_000_000))
    assert peak < 8000 * 8000 * 4 / 8, f"{peak / 1e6:.0f} MB for 8,000 rows, exact"


# --- the audit's pair findings ------------------------------------------------------------


def all_pairs_reference(index: KnowledgeIndex, config: AuditConfig) -> list[Finding]:
    """The audit's pair findings as computed before the neighbour search: n × n matrices."""
    rows = index.rows
    live = np.array([s != "archived" for s in rows["status"]])
    articles = sorted({a for a, ok in zip(rows["article_id"], live, strict=True) if ok})
    position = {a: n for n, a in enumerate(articles)}
    owner = np.array([position.get(a, -1) for a in rows["article_id"]])
    locale = dict(zip(rows["article_id"], rows["locale"], strict=True))
    means = np.zeros((len(articles), index.vectors.shape[1]), dtype=np.float32)
    np.add.at(means, owner[live], index.vectors[live])
    means /= np.linalg.norm(means, axis=1, keepdims=True).clip(min=1e-9)
    out = []
    sims = means @ means.T
    for i, j in zip(*np.triu_indices(len(articles), k=1), strict=True):
        a, b = articles[i], articles[j]
        if sims[i, j] >= config.near_duplicate_similarity and locale[a] == locale[b]:
            out.append(Finding("near_duplicate", a, "near-duplicate articles", b, sims[i, j]))
    seen = set()
    chunk_ids = np.flatnonzero(live)
    passage = index.vectors[chunk_ids] @ index.vectors[chunk_ids].T
    for x, y in zip(*np.nonzero(np.triu(passage >= config.conflict_similarity, k=1)), strict=True):
        i, j = chunk_ids[x], chunk_ids[y]
        a, b = sorted((rows["article_id"][i], rows["article_id"][j]))
        if a == b or (a, b) in seen or locale[a] != locale[b]:
            continue
        clash = contradiction(rows["text"][i], rows["text"][j])
        if clash:
            seen.add((a, b))
            out.append(Finding("conflict", a, clash, b, passage[x, y]))
    return out


SENTENCES = [
    "Refunds are issued within {n} days of the charge.",
    "Exports are kept for {n} days before they expire.",
    "An invoice is sent {n} hours after the renewal.",
    "Locked accounts reopen after {n} failed attempts.",
    "The annual plan saves {n}% over monthly billing.",
    "Reset the password from the login page.",
    "Invite teammates from the workspace settings.",
]


def synthetic_kb(articles: int, d: int, seed: int) -> KnowledgeIndex:
    """Articles of 1–3 passages in two locales, a few archived, with planted near-duplicate
    articles (noisy copies) and planted conflicts (a close passage, another number)."""
    rng = np.random.default_rng(seed)
    rows: dict[str, list] = {c: [] for c in KnowledgeIndex.COLUMNS}
    vectors = []

    def add(aid: str, loc: str, status: str, text: str, vector: np.ndarray) -> None:
        for name, value in [("chunk_id", f"{aid}#{len(rows['chunk_id'])}"), ("article_id", aid),
                            ("title", aid), ("url", None), ("updated_at", None),
                            ("audience", "public"), ("status", status), ("locale", loc),
                            ("text", text)]:  # fmt: skip
            rows[name].append(value)
        vectors.append(vector)

    for n in range(articles):
        aid, loc = f"a{n:05d}", "de" if n % 5 == 0 else "en"
        status = "archived" if n % 37 == 0 else "published"
        for _ in range(int(rng.integers(1, 4))):
            text = " ".join(str(rng.choice(SENTENCES)).format(n=rng.integers(1, 60)) for _ in "ab")
            add(aid, loc, status, text, rng.standard_normal(d))
        if n % 11 == 3:  # a near-duplicate: the same passages, a little noise
            start = len(rows["chunk_id"])
            for p in range(start - 1, -1, -1):
                if rows["article_id"][p] != aid:
                    break
                add(f"{aid}-copy", loc, "published", rows["text"][p],
                    vectors[p] + 0.1 * rng.standard_normal(d))  # fmt: skip
        if n % 13 == 5:  # a conflict: a close passage with another refund window
            add(f"{aid}-old", loc, "published", "Refunds are issued within 90 days.",
                vectors[-1] + 0.6 * rng.standard_normal(d))  # fmt: skip
    return KnowledgeIndex(rows, unit(np.array(vectors)), "none", "test")


def same_findings(got: list[Finding], want: list[Finding]) -> None:
    """Equal kinds, articles and details, in order; similarities equal up to float rounding."""
    assert [(f.kind, f.article_id, f.other_article_id, f.detail) for f in got] == [
        (f.kind, f.article_id, f.other_article_id, f.detail) for f in want
    ]
    np.testing.assert_allclose([f.similarity for f in got], [f.similarity for f in want], atol=1e-5)


@pytest.mark.parametrize("path", ["exact", "hnsw"])
def test_pair_findings_equal_the_all_pairs_computation_on_a_small_kb(path, monkeypatch):
    index = synthetic_kb(400, 24, seed=4)
    config = AuditConfig()
    if path == "hnsw":
        monkeypatch.setattr(neighbours, "EXACT_BELOW", 0)
    found = pair_findings(index, config)
    kinds = [f.kind for f in found]
    assert kinds.count("near_duplicate") >= 30 and kinds.count("conflict") >= 30
    same_findings(found, all_pairs_reference(index, config))


def test_pair_findings_on_9k_passages_allocate_far_less_than_n_squared():
    index = synthetic_kb(4_000, 64, seed=5)
    n = len(index)
    assert n > 8_500
    config = AuditConfig()
    found: list[Finding] = []
    peak = traced_peak(lambda: found.extend(pair_findings(index, config)))
    copies = {f.article_id for f in found if f.kind == "near_duplicate"}
    assert len(copies) >= 4_000 // 11 * 0.95  # the planted copies
    assert peak < n * n * 4 / 10, f"{peak / 1e6:.0f} MB for {n:,} passages"  # n²: 330 MB
