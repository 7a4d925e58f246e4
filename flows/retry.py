"""Retries for the tasks that touch the outside of the process: the DuckDB file, MLflow's
store, dbt's files. Only transient failures are retried (a busy warehouse, an interrupted read
or write, a locked MLflow database); bad input or a failed dbt test fails at once."""

from __future__ import annotations

from prefect.tasks import exponential_backoff

from supportflow.warehouse import WarehouseLockedError

# Two retries after 10 s and 20 s (Prefect's exponential_backoff with factor 10).
RETRIES = 2
RETRY_DELAYS = exponential_backoff(backoff_factor=10)
# OSErrors that another try cannot fix.
PERMANENT = (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError)


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` may pass on a later try: a locked warehouse, an I/O interruption, or
    MLflow's SQLite store reporting ``database is locked``."""
    if isinstance(exc, WarehouseLockedError):
        return True
    if isinstance(exc, OSError):
        return not isinstance(exc, PERMANENT)
    return type(exc).__name__ == "MlflowException" and "database is locked" in str(exc)


def retry_transient(task, task_run, state) -> bool:
    """Prefect ``retry_condition_fn``: retry only when the task failed with a transient error."""
    try:
        state.result()
    except Exception as exc:  # the task's own exception, re-raised from its state
        return is_transient(exc)
    return False


# Keyword arguments for ``@task`` on I/O tasks.
IO_TASK = {
    "retries": RETRIES,
    "retry_delay_seconds": RETRY_DELAYS,
    "retry_condition_fn": retry_transient,
}
