"""Connected components: which near-duplicates, burst tickets or incidents belong together."""

from __future__ import annotations

import numpy as np


def connected(n: int, pairs: list[tuple[int, int]] | np.ndarray) -> np.ndarray:
    """(n,) int component label per node 0..n-1 of the undirected graph with edges ``pairs``
    ((m, 2) node indices); labels run 0..k-1 in order of each component's lowest node
    (scipy.sparse.csgraph.connected_components)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    edges = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    graph = coo_matrix((np.ones(len(edges), np.int8), (edges[:, 0], edges[:, 1])), shape=(n, n))
    return connected_components(graph, directed=False)[1]
