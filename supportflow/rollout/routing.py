"""What one prediction does in a rollout phase, from the prediction's own flags."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from models.triage.predict import FieldPrediction


def routing_action(
    phase: str, field: str, prediction: FieldPrediction, auto_fields: list[str] | tuple[str, ...]
) -> str:
    """``logged`` in shadow; ``auto_apply`` in auto_route for ``auto_fields`` when the prediction
    clears its head's auto-apply threshold; else ``suggest``, or ``needs_human`` when it
    abstained (below the suggest threshold). The thresholds were applied once, in
    ``models.triage.predict``."""
    if phase == "shadow":
        return "logged"
    if phase == "auto_route" and field in auto_fields and prediction.auto_apply:
        return "auto_apply"
    return "needs_human" if prediction.abstained else "suggest"
