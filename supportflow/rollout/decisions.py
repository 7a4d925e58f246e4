"""Recorded rollout decisions (``ops.rollout_events``) and the phase history they replay to."""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from supportflow.rollout.gates import Gate


def holder_history(events: list[dict], phase: str) -> list[int | None]:
    """Versions that held ``phase``, oldest first, replaying promotions and rollbacks.

    A version promoted onward out of ``phase`` leaves its history: rolling back must not hand
    the phase to a version that now sits in a later one.
    """
    stack: list[int | None] = []
    for event in events:
        if not event["passed"]:
            continue
        if event["action"] == "promote" and event["to_phase"] == phase:
            stack = [v for v in stack if v != event["version"]] + [event["version"]]
        elif event["action"] == "promote" and event["from_phase"] == phase:
            stack = [v for v in stack if v != event["version"]]
        elif event["action"] == "rollback" and event["to_phase"] == phase and stack:
            stack.pop()
    return stack


@dataclass
class Decision:
    model_name: str
    version: int | None
    from_phase: str | None
    to_phase: str
    action: str
    gates: list[Gate]
    passed: bool
    forced: bool
    reason: str | None
    actor: str
    previous_version: int | None
    decided_at: datetime

    @property
    def failed_gates(self) -> list[Gate]:
        return [g for g in self.gates if not g.passed]


def record(con, decision: Decision) -> str:
    event_id = uuid.uuid4().hex
    con.execute(
        "INSERT INTO ops.rollout_events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            event_id,
            decision.model_name,
            decision.version,
            decision.from_phase,
            decision.to_phase,
            decision.action,
            json.dumps([asdict(g) for g in decision.gates]),
            decision.passed,
            decision.forced,
            decision.reason,
            decision.actor,
            decision.previous_version,
            decision.decided_at,
        ],
    )
    return event_id


def rollout_events(con, model_name: str) -> list[dict]:
    rows = con.execute(
        "SELECT version, from_phase, to_phase, action, passed FROM ops.rollout_events"
        " WHERE model_name = ? ORDER BY decided_at, event_id",
        [model_name],
    ).fetchall()
    keys = ("version", "from_phase", "to_phase", "action", "passed")
    return [dict(zip(keys, row, strict=True)) for row in rows]


def now() -> datetime:
    return datetime.now(UTC)
