"""Training steps by name, so a failure after data loading says which step failed and the MLflow
run keeps what was produced before it (the fine-tuned weights are minutes of compute)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


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
    set by a stage once there is something worth keeping; it returns the saved folder)."""

    def __init__(self) -> None:
        self.current = "start"
        self.salvage: Callable[[], Path | None] | None = None

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        """Run the block as step ``name``."""
        self.current = name
        yield
