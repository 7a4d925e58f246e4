"""Connected components (models/triage/graph.py)."""

import numpy as np

from models.triage.graph import connected


def test_components_join_transitively_and_leave_isolated_nodes_alone():
    labels = connected(6, [(0, 2), (2, 4), (5, 5)])
    assert labels[0] == labels[2] == labels[4]
    assert len({labels[0], labels[1], labels[3], labels[5]}) == 4


def test_no_edges_gives_one_component_per_node():
    assert list(connected(3, np.empty((0, 2), dtype=int))) == [0, 1, 2]
