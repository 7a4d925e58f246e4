from contextlib import contextmanager
from pathlib import Path

import pytest
from prefect.testing.utilities import prefect_test_harness


@pytest.fixture(autouse=True, scope="session")
def prefect_harness():
    """A temporary Prefect API for the whole session (real orchestration, no server to run)."""
    with prefect_test_harness(server_startup_timeout=120):
        yield


@contextmanager
def own_home(root: Path):
    """A module's own SUPPORTFLOW_HOME (warehouse, MLflow, salt) for a module-scoped world."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SUPPORTFLOW_HOME", str(root / "home"))
        mp.setenv("SUPPORTFLOW_PII_SALT", "test-salt")
        mp.delenv("SUPPORTFLOW_WAREHOUSE_PATH", raising=False)
        yield mp
