"""A ticket's life after the first message: replies, escalations, resolution, reopens, CSAT.

Delays follow priority and load (incident days, weekends); CSAT falls with waiting, anger and
reopens, so the metrics built on top have real signal.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from supportflow.demo import catalog as cat
from supportflow.demo.sampling import END, HOUR, iso

FIRST_REPLY_MEDIAN_H = {"urgent": 0.5, "high": 2.0, "normal": 6.0, "low": 16.0}


class Timeline:
    """Collects a ticket's comments and audits in Zendesk shape, numbering them as it goes."""

    def __init__(self, ticket_no: int):
        self.base = ticket_no * 100
        self.comments: list[dict] = []
        self.audits: list[dict] = []
        self.first = 0.0
        self.last = 0.0

    def comment(self, ts: float, role: str, body: str, public: bool = True) -> None:
        self.comments.append(
            {
                "id": self.base + len(self.comments),
                "created_at": iso(ts),
                "author_role": role,
                "public": public,
                "body": body,
            }
        )
        self.last = max(self.last, ts)

    def audit(self, ts: float, role: str, **event) -> None:
        self.audits.append(
            {
                "id": self.base + 50 + len(self.audits),
                "created_at": iso(ts),
                "author_role": role,
                "events": [event],
            }
        )
        self.last = max(self.last, ts)

    def status(self, ts: float, new: str, old: str) -> None:
        self.audit(ts, "agent", type="Change", field_name="status", value=new, previous_value=old)


def history(
    rng, tl: Timeline, t: float, category, tier, sentiment, priority, incident, tags, stats
) -> tuple[str, str | None]:
    """Agent replies, escalations, resolution and reopen; returns (final status, assignee)."""
    if category.self_service and rng.random() < 0.25:
        resolved = rng.random() < 0.4
        tl.audit(
            t + 60,
            "bot",
            type="self_service",
            article_id=f"kb-{category.name}-1",
            outcome="resolved" if resolved else "not_resolved",
        )
        stats["self_service"] += 1
        if resolved:
            tl.status(t + 120, "solved", "new")
            return (
                ("solved", None)
                if not reopen(rng, tl, t + 120, stats, agent=None)
                else ("open", None)
            )
    weekend = datetime.fromtimestamp(t, UTC).weekday() >= 5
    load = (3.0 if incident else 1.0) * (2.0 if weekend else 1.0)
    reply = t + rng.lognormvariate(math.log(FIRST_REPLY_MEDIAN_H[priority] * load), 0.8) * HOUR
    if reply > END:
        return "new", None
    agent = f"agent_{category.queue}_{rng.randrange(8)}"
    tl.audit(reply - 1, "system", type="Change", field_name="assignee_id", value=agent)
    tl.comment(reply, "agent", rng.choice(cat.AGENT_REPLIES["first"]))
    tl.status(reply, "pending", "new")
    p_escalate = (
        0.04
        + 0.1 * (sentiment == "negative")
        + 0.1 * (tier in ("enterprise", "vip"))
        + 0.3 * ("legal_risk" in tags)
        + 0.4 * ("asked_for_human" in tags)
    )
    now = reply
    if rng.random() < p_escalate:
        now += rng.uniform(0.1, 3) * HOUR
        tl.audit(
            now,
            "agent",
            type="escalation",
            reason=rng.choice(
                (
                    "customer asked for a human",
                    "legal or financial risk",
                    "vip customer",
                    "needs tier 2",
                )
            ),
        )
        stats["escalated"] += 1
    for _ in range(rng.choice((0, 0, 1, 1, 2))):
        now += rng.uniform(0.5, 20) * HOUR
        tl.comment(now, "customer", rng.choice(cat.CUSTOMER_FOLLOWUPS))
        now += rng.uniform(0.2, 8) * HOUR
        tl.comment(now, "agent", rng.choice(cat.AGENT_REPLIES["first"]))
    now += rng.uniform(0.5, 48) * HOUR
    if now > END:
        return "pending", agent
    tl.comment(now, "agent", rng.choice(cat.AGENT_REPLIES["resolve"]))
    tl.status(now, "solved", "pending")
    return ("open" if reopen(rng, tl, now, stats, agent) else "solved"), agent


def reopen(rng, tl: Timeline, solved_at: float, stats, agent: str | None) -> bool:
    """~8 % of solved tickets come back; most are solved again. Returns True if left open."""
    if rng.random() >= 0.08:
        return False
    back = solved_at + rng.uniform(2, 120) * HOUR
    if back > END:
        return False
    stats["reopened"] += 1
    tl.comment(back, "customer", rng.choice(cat.CUSTOMER_FOLLOWUPS[:3]))
    tl.status(back, "open", "solved")
    again = back + rng.uniform(1, 30) * HOUR
    if again > END:
        return True
    tl.comment(again, "agent", rng.choice(cat.AGENT_REPLIES["resolve"]))
    tl.status(again, "solved", "open")
    return False


def csat(rng, tl: Timeline, status: str, sentiment: str, tags: list[str]) -> int | None:
    """CSAT on ~40 % of solved tickets, lower with long waits, anger and reopens."""
    if status != "solved" or rng.random() >= 0.4:
        return None
    hours = (tl.last - tl.first) / HOUR
    score = 4.6 - 0.35 * math.log1p(hours / 4) - 1.0 * (sentiment == "negative") + rng.gauss(0, 0.7)
    score -= 0.8 * any(a["events"][0].get("previous_value") == "solved" for a in tl.audits)
    value = int(min(5, max(1, round(score))))
    tl.audit(tl.last + 600, "customer", type="satisfaction", score=value)
    return value
