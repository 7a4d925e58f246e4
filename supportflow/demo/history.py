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


SYSTEM_USER = -1  # Zendesk's own user id in audits written by triggers and automations
ANSWER_BOT = {"channel": "answer_bot_for_web_widget"}


def agent_id(name: str) -> int:
    """The numeric Zendesk user id of a demo agent (``agent_<queue>_<n>``)."""
    queue, n = name.removeprefix("agent_").rsplit("_", 1)
    return 900_000 + cat.QUEUES.index(queue) * 10 + int(n)


class Timeline:
    """Collects a ticket's comments and audits in Zendesk's API shape (authors as user ids,
    never roles), numbering them as it goes."""

    def __init__(self, ticket_no: int, requester: int):
        self.base = ticket_no * 100
        self.requester = requester
        self.agent: int | None = None
        self.comments: list[dict] = []
        self.audits: list[dict] = []
        self.first = 0.0
        self.last = 0.0

    def author(self, role: str) -> int:
        if role == "customer":
            return self.requester
        if role == "agent" and self.agent is not None:
            return self.agent
        return SYSTEM_USER

    def comment(self, ts: float, role: str, body: str, public: bool = True) -> None:
        self.comments.append(
            {
                "id": self.base + len(self.comments),
                "type": "Comment",
                "author_id": self.author(role),
                "created_at": iso(ts),
                "public": public,
                "body": body,
            }
        )
        self.last = max(self.last, ts)

    def audit(self, ts: float, role: str, *events: dict, via: dict | None = None) -> None:
        n = len(self.audits)
        self.audits.append(
            {
                "id": self.base + 50 + n,
                "ticket_id": self.base // 100,
                "created_at": iso(ts),
                "author_id": self.author(role),
                "via": via or {"channel": "web"},
                "events": [
                    {"id": (self.base + 50 + n) * 10 + i, **e} for i, e in enumerate(events)
                ],
            }
        )
        self.last = max(self.last, ts)

    def status(self, ts: float, new: str, old: str) -> None:
        self.audit(ts, "agent", change("status", new, old))


def change(field: str, value, previous=None) -> dict:
    return {"type": "Change", "field_name": field, "value": value, "previous_value": previous}


def created(tl: Timeline, ts: float, subject: str, priority: str, tags: list[str]) -> None:
    """The first audit: one Create event per field set, and the trigger's notification."""
    tl.audit(
        ts,
        "customer",
        *(
            {"type": "Create", "field_name": f, "value": v}
            for f, v in (
                ("subject", subject),
                ("status", "new"),
                ("priority", priority),
                ("tags", list(tags)),
            )
        ),
        {
            "type": "Notification",
            "via": {
                "channel": "rule",
                "source": {
                    "from": {"id": 360000001, "title": "Notify requester of received request"},
                    "rel": "trigger",
                },
            },
            "subject": "[Request received] {{ticket.title}}",
            "body": "Your request has been received and is being reviewed by our support staff.",
            "recipients": [tl.requester],
        },
    )


def history(
    rng, tl: Timeline, t: float, category, tier, sentiment, priority, incident, tags, stats
) -> tuple[str, str | None]:
    """Agent replies, escalations, resolution and reopen; returns (final status, assignee)."""
    if category.self_service and rng.random() < 0.25:
        resolved = rng.random() < 0.4
        answer = {
            "type": "Comment",
            "author_id": SYSTEM_USER,
            "public": True,
            "body": f"Here is an article that may help: kb-{category.name}-1",
        }
        events = [answer, change("status", "solved", "new")] if resolved else [answer]
        tl.audit(t + 60, "bot", *events, via=ANSWER_BOT)  # Answer Bot: self-service
        stats["self_service"] += 1
        if resolved:
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
    tl.agent = agent_id(agent)
    tl.audit(reply - 1, "system", change("assignee_id", tl.agent))
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
        reason = rng.choice(
            (
                "customer asked for a human",
                "legal or financial risk",
                "vip customer",
                "needs tier 2",
            )
        )
        # Escalation as Zendesk teams record it: an "escalated" tag (and an internal note).
        tl.audit(now, "agent", change("tags", [*tags, "escalated"], list(tags)))
        tl.comment(now, "agent", f"Escalating: {reason}.", public=False)
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


def csat(rng, tl: Timeline, status: str, sentiment: str, tags: list[str]) -> str | None:
    """Zendesk CSAT words: ~40 % of solved tickets rated good/bad (less good with long waits,
    anger and reopens), the other solved ones ``offered`` or ``unoffered``; None when open."""
    if status != "solved":
        return None
    if rng.random() >= 0.4:
        return rng.choice(("offered", "unoffered"))
    hours = (tl.last - tl.first) / HOUR
    score = 4.6 - 0.35 * math.log1p(hours / 4) - 1.0 * (sentiment == "negative") + rng.gauss(0, 0.7)
    score -= 0.8 * any(e.get("previous_value") == "solved" for a in tl.audits for e in a["events"])
    word = "good" if round(score) >= 4 else "bad"
    tl.audit(
        tl.last + 600,
        "customer",
        {"type": "SatisfactionRating", "score": word, "assignee_id": tl.agent, "body": ""},
    )
    return word
