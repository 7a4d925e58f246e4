"""Cosine similarities of query rows against reference rows, one block of queries at a time:
memory stays at ``BLOCK`` × references floats whatever the number of queries. Shared by the kNN
member's vote and the out-of-scope score's nearest neighbour (both over unit vectors of the
frozen base encoder)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

BLOCK = 512  # query rows per block


def cosine_blocks(
    queries: np.ndarray, reference: np.ndarray, block: int = BLOCK
) -> Iterator[tuple[slice, torch.Tensor]]:
    """(query rows, (rows, m) similarities) per block of ``queries`` (n, d) against
    ``reference`` (m, d); both unit rows, so the dot product is the cosine. In torch: the
    encoders' thread pool is torch's, a second BLAS pool would spin against it."""
    import torch

    ref = torch.from_numpy(np.ascontiguousarray(reference, dtype=np.float32))
    with torch.no_grad():
        for start in range(0, len(queries), block):
            rows = slice(start, min(start + block, len(queries)))
            q = torch.from_numpy(np.array(queries[rows], np.float32))  # a copy: any input dtype
            yield rows, q @ ref.T
