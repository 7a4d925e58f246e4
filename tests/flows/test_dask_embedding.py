"""Ticket vectors on a running Dask cluster (``--dask-address``): a LocalCluster of 2 worker
processes computes the slices, the flow process writes, and the vectors equal in-process ones."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from flows.ingest_tickets import IngestParams, ingest_tickets
from flows.reindex_knowledge import ReindexParams, run_reindex
from supportflow.settings import Settings
from supportflow.warehouse import connect
from tests.flows.conftest import own_home

pytestmark = pytest.mark.slow


def vectors() -> dict[tuple[str, str], np.ndarray]:
    with connect(Settings(), read_only=True) as con:
        rows = con.execute(
            "SELECT ticket_id, encoder, text_hash, embedding FROM ml.ticket_vectors"
        ).fetchall()
    return {(r[0], r[1], r[2]): np.asarray(r[3], dtype=np.float32) for r in rows}


def test_dask_workers_embed_tickets_exactly_like_in_process(tmp_path, demo_export, monkeypatch):
    from distributed import LocalCluster

    from supportflow.knowledge import encoder

    monkeypatch.setattr(encoder, "SLICE", 128)  # several slices, so both workers get some

    kb = shutil.copytree(demo_export / "kb", tmp_path / "kb")
    with own_home(tmp_path):
        ingest_tickets(IngestParams(paths=[demo_export / "zendesk"]))
        local = run_reindex(ReindexParams(path=kb, audit=False, suggest=True))
        in_process = vectors()
        assert local.embedded_tickets == len(in_process) > 100
        with connect(Settings()) as con:
            con.execute("DELETE FROM ml.ticket_vectors")
        with LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster:
            params = ReindexParams(
                path=kb, audit=False, suggest=True, dask_address=cluster.scheduler_address
            )
            remote = run_reindex(params)
            workers_used = len(cluster.scheduler_info["workers"])
        on_workers = vectors()
    assert workers_used == 2
    assert remote.embedded_tickets == len(in_process)
    assert on_workers.keys() == in_process.keys()  # same tickets, encoders and text hashes
    worst = max(float(np.abs(on_workers[k] - in_process[k]).max()) for k in in_process)
    assert worst < 1e-5, worst  # one vs two intra-op threads: float summation order only
    assert len(in_process) > 2 * 128
