import pytest
from prefect.testing.utilities import prefect_test_harness


@pytest.fixture(autouse=True, scope="session")
def prefect_harness():
    """A temporary Prefect API for the whole session (real orchestration, no server to run)."""
    with prefect_test_harness(server_startup_timeout=120):
        yield
