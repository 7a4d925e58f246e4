"""The Dask cluster a flow's partitions run on (Prefect's ``DaskTaskRunner``, prefect-dask).

Workers compute, the flow process writes (DuckDB has one writer). ``dask_address`` names a
running cluster (``tcp://scheduler:8786``, e.g. from ``dask scheduler`` + ``dask worker`` or a
Kubernetes/YARN deployment); ``dask_workers`` N starts a local cluster of N single-threaded
worker processes for the flow run instead. Workers need this package and its config (``pip
install`` the same version; ``SUPPORTFLOW_*`` variables where they differ from the defaults).
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class DaskOptions(BaseModel):
    """Where partitions run: in the flow process (neither set), on N local worker processes,
    or on a running cluster (the address wins when both are set)."""

    dask_workers: int = Field(default=0, ge=0, description="0: compute in this process.")
    dask_address: str | None = Field(
        default=None, description="A running Dask scheduler, e.g. tcp://10.0.0.5:8786."
    )

    @property
    def distributed(self) -> bool:
        return bool(self.dask_address) or self.dask_workers > 0

    @property
    def window(self) -> int:
        """Partitions in flight at once: two per worker (one local worker per partition when
        the cluster is remote and its size unknown: 8)."""
        if self.dask_address:
            return 8
        return max(self.dask_workers, 1) * 2


def dask_runner(options: DaskOptions):
    """The ``DaskTaskRunner`` for ``options`` (``distributed`` must be true)."""
    from prefect_dask import DaskTaskRunner

    if options.dask_address:
        return DaskTaskRunner(address=options.dask_address)
    return DaskTaskRunner(
        cluster_kwargs={
            "n_workers": options.dask_workers,
            "threads_per_worker": 1,
            "processes": True,
            "dashboard_address": None,
        }
    )
