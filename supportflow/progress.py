"""Progress of long steps: a Rich progress bar on a terminal, and elsewhere log lines that logs,
non-interactive terminals and Prefect workers all show: what the step does, how far it is (done
of total, percent) and the seconds since it started, one line per ~10 % of the work and one at
the end. The CLI names its console (``use_terminal``) when its output is a terminal.

Lines go to the ``supportflow.progress`` logger (the CLI prints it) and, inside a Prefect run,
to the run's logger too (the Prefect UI and workers' logs; shown when ``PREFECT_LOGGING_LEVEL``
is INFO, which the CLI leaves at WARNING so a terminal sees each line once).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

log = logging.getLogger("supportflow.progress")

Progress = Callable[[int, int], None]


_terminal = None  # the rich Console of an interactive CLI, or None: log lines


def use_terminal(console) -> None:
    """Draw progress as Rich bars on ``console`` (a terminal the CLI writes to); None goes
    back to log lines."""
    global _terminal
    _terminal = console


def step_progress(what: str, every: float = 0.10) -> Progress:
    """A ``(done, total)`` callback for a step described by ``what`` ("embedding tickets").

    On a terminal (``use_terminal``): a Rich bar with counts, percent and elapsed time, left on
    screen when ``done`` reaches ``total``. Elsewhere: logs ``what: 2,000 of 19,806 (10 %),
    12 s`` when ``done`` crosses each ``every`` share of ``total`` and when it reaches
    ``total``. A call with ``total`` ≤ 0 shows nothing."""
    if _terminal is not None:
        return _bar(what, _terminal)
    started = time.monotonic()
    next_share = every
    run_logger = _run_logger()

    def report(done: int, total: int) -> None:
        nonlocal next_share
        if total <= 0:
            return
        share = min(done / total, 1.0)
        if share < next_share and (done < total or next_share > 1.0):
            return  # before the next tenth, or the end already logged
        next_share = (math.floor(share / every + 1e-9) + 1) * every
        line = f"{what}: {done:,} of {total:,} ({share:.0%}), {time.monotonic() - started:.0f} s"
        log.info(line)
        if run_logger is not None:
            run_logger.info(line)

    return report


def _bar(what: str, console) -> Progress:
    """A Rich progress bar for one step, started on its first call and stopped at the end."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
    )
    from rich.progress import (
        Progress as Bar,
    )

    bar = Bar(TextColumn(what), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
              TimeElapsedColumn(), console=console)  # fmt: skip
    task = None

    def report(done: int, total: int) -> None:
        nonlocal task
        if total <= 0:
            return
        if task is None:
            bar.start()
            task = bar.add_task(what, total=total)
        bar.update(task, completed=min(done, total), total=total)
        if done >= total:
            bar.stop()

    return report


def _run_logger() -> logging.Logger | logging.LoggerAdapter | None:
    """The current Prefect flow or task run's logger, or None outside a run."""
    try:
        from prefect.exceptions import MissingContextError
        from prefect.logging import get_run_logger
    except ImportError:  # pragma: no cover - Prefect is a dependency
        return None
    try:
        return get_run_logger()
    except MissingContextError:
        return None


@contextmanager
def timed(into: dict[str, float], step: str) -> Iterator[None]:
    """Record the wall-clock seconds (0.1 s) the block takes as ``into[step]``, also when it
    raises (the step times a flow reports, e.g. the demo's table at the end)."""
    started = time.monotonic()
    try:
        yield
    finally:
        into[step] = round(time.monotonic() - started, 1)
