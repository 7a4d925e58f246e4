"""Training steps by name, so a failure after data loading says which step failed and the MLflow
run keeps what was produced before it (the fine-tuned weights are minutes of compute)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger("supportflow.train")
Progress = Callable[[int, int], None]  # (done, total)


class TrainingError(RuntimeError):
    """A training step failed. ``step`` names it; ``run_id`` is the FAILED MLflow run, whose
    ``partial_model/`` artifacts hold what was saved before the failure (when anything was)."""

    def __init__(self, step: str, run_id: str, cause: BaseException, kept: bool):
        self.step, self.run_id, self.kept = step, run_id, kept
        where = (
            f"the run {run_id} keeps the model trained so far under partial_model/"
            if kept
            else f"see the MLflow run {run_id}"
        )
        reason = " ".join(str(cause).split()) or type(cause).__name__
        super().__init__(f"training failed at step {step!r}: {reason} ({where})")


class Steps:
    """The step in progress (``current``) and how to save what exists so far (``salvage``,
    set by a stage once there is something worth keeping; it returns the saved folder).

    Each step logs a line when it starts and one with its seconds when it ends; ``progress``
    (e.g. the CLI's ``supportflow.progress.step_progress``) makes a ``(done, total)`` callback
    for a long step's own counts (the fine-tune's optimiser steps)."""

    def __init__(self, progress: Callable[[str], Progress] | None = None) -> None:
        self.current = "start"
        self.salvage: Callable[[], Path | None] | None = None
        self.progress = progress

    def counter(self, what: str) -> Progress | None:
        """A progress callback for ``what``, or None without a ``progress`` factory."""
        return self.progress(what) if self.progress is not None else None

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        """Run the block as step ``name``."""
        self.current = name
        started = time.perf_counter()
        log.info("%s …", name)
        yield
        log.info("%s: %.0f s", name, time.perf_counter() - started)
