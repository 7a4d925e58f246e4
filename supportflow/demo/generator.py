"""Seeded generator of a realistic help desk: tickets with full event histories, in three formats.

Determinism: the data depends only on (seed, tickets, days). Work is cut into fixed chunks, each
with its own RNG seeded from (seed, chunk), so the output is identical however many processes
generate it. Time runs up to a fixed end date, never "now".
"""

from __future__ import annotations

import csv
import io
import math
import random
import time
from bisect import bisect
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import accumulate
from pathlib import Path
from string import Formatter

import orjson

from supportflow.demo import catalog as cat
from supportflow.demo.pii import fake_card, fake_email, fake_iban, fake_phone

END = datetime(2026, 10, 31, tzinfo=UTC).timestamp()
CHUNK = 20_000
HOUR = 3600.0
DAY = 86400.0
PRIORITIES = ("low", "normal", "high", "urgent")
FIRST_REPLY_MEDIAN_H = {"urgent": 0.5, "high": 2.0, "normal": 6.0, "low": 16.0}
HOUR_WEIGHTS = (1, 1, 1, 1, 1, 2, 3, 6, 10, 12, 12, 11, 10, 11, 12, 11, 10, 8, 6, 4, 3, 2, 2, 1)
WEEKDAY_WEIGHTS = (1.15, 1.1, 1.05, 1.0, 0.9, 0.4, 0.35)  # Monday first
CSV_FIELDS = (
    "id",
    "created_at",
    "updated_at",
    "channel",
    "customer_id",
    "customer_tier",
    "language",
    "subject",
    "body",
    "status",
    "priority",
    "category",
    "queue",
    "sentiment",
    "tags",
    "assignee_id",
    "csat",
)


@dataclass(frozen=True)
class Incident:
    start: float
    hours: float
    variant: int


@dataclass
class Plan:
    """Everything chunks share: time window, day weights and incidents, derived from the seed."""

    seed: int
    tickets: int
    days: int
    start: float
    day_cum_weights: list[float]
    incidents: list[Incident]

    @classmethod
    def make(cls, seed: int, tickets: int, days: int) -> Plan:
        rng = random.Random(f"plan-{seed}")
        start = END - days * DAY
        weights, total = [], 0.0
        for d in range(days):
            weekday = datetime.fromtimestamp(start + d * DAY, UTC).weekday()
            total += WEEKDAY_WEIGHTS[weekday] * (1 + 0.3 * d / max(days, 1))
            weights.append(total)
        n_incidents = max(1, round(0.03 * days))
        incidents = [
            Incident(
                start + rng.randrange(days) * DAY + rng.uniform(7, 18) * HOUR,
                rng.uniform(1.5, 4),
                rng.randrange(3),
            )
            for _ in range(n_incidents)
        ]
        return cls(seed, tickets, days, start, weights, sorted(incidents, key=lambda i: i.start))


@dataclass
class ChunkOutput:
    jsonl: bytes
    csv: str
    zendesk: bytes
    stats: dict[str, int] = field(default_factory=dict)


_DAYS: dict[int, str] = {}


def iso(ts: float) -> str:
    """UTC ISO-8601 with a Z; the date part is cached (strftime per call was a hot spot)."""
    day, sec = divmod(int(ts), 86400)
    date = _DAYS.get(day)
    if date is None:
        date = _DAYS[day] = time.strftime("%Y-%m-%d", time.gmtime(day * 86400))
    hours, rest = divmod(sec, 3600)
    return f"{date}T{hours:02d}:{rest // 60:02d}:{rest % 60:02d}Z"


class Picker:
    """Weighted choice by bisection over precomputed cumulative weights (random.choices
    rebuilds them on every call)."""

    def __init__(self, items, weights):
        self.items = list(items)
        self.cum = list(accumulate(weights))
        self.total = self.cum[-1]

    def __call__(self, rng: random.Random):
        return self.items[bisect(self.cum, rng.random() * self.total)]


def _weighted(rng: random.Random, pairs: tuple[tuple[str, float], ...]) -> str:
    picker = _PICKERS.get(id(pairs))
    if picker is None:
        picker = _PICKERS[id(pairs)] = Picker([p[0] for p in pairs], [p[1] for p in pairs])
    return picker(rng)


_PICKERS: dict[int, Picker] = {}


CATEGORY_PICKER = Picker(cat.CATEGORIES, [c.weight for c in cat.CATEGORIES])
HOUR_PICKER = Picker(range(24), HOUR_WEIGHTS)
_PRIORITY_CUM = {c.name: list(accumulate(c.priorities))[:-1] for c in cat.CATEGORIES}
OUTAGE = next(c for c in cat.CATEGORIES if c.name == "outage")


SLOTS = {
    "amount": lambda r: f"${r.choice((9, 12, 49, 99, 249, 1200))}.{r.choice(('00', '99', '50'))}",
    "plan": lambda r: r.choice(cat.PLANS),
    "invoice": lambda r: f"INV-{r.randint(2023, 2026)}-{r.randint(1, 99999):05d}",
    "date": lambda r: f"2026-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}",
    "error": lambda r: r.choice(cat.ERRORS),
    "version": lambda r: r.choice(cat.VERSIONS),
    "time": lambda r: f"{r.randint(0, 23):02d}:{r.choice(('00', '15', '30', '45'))}",
    "order": lambda r: r.randint(100000, 99999999),
    "ref": lambda r: f"{r.choice('ABCDEFGH')}{r.randint(1000, 999999)}",
}
_TEMPLATE_SLOTS: dict[str, list[str]] = {}


def _fill(rng: random.Random, template: str) -> str:
    """Fill only the slots the template uses (draws stay deterministic per template)."""
    names = _TEMPLATE_SLOTS.get(template)
    if names is None:
        names = _TEMPLATE_SLOTS[template] = [f for _, f, _, _ in Formatter().parse(template) if f]
    return template.format(**{n: SLOTS[n](rng) for n in names}) if names else template


def _typos(rng: random.Random, text: str) -> str:
    chars = list(text)
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(max(1, len(chars) - 1))
        if chars[i].isalpha() and chars[i + 1].isalpha():
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
    return "".join(chars)


def _pii(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.4:
        return f"You can reach me at {fake_email(rng)}."
    if kind < 0.7:
        return f"Call me back on {fake_phone(rng)}."
    if kind < 0.85:
        return f"The card used was {fake_card(rng)}."
    return f"Please use IBAN {fake_iban(rng)} for the refund."


def _text(
    rng: random.Random,
    category: cat.Category,
    language: str,
    sentiment: str,
    incident: Incident | None,
    stats: dict[str, int],
) -> tuple[str, str, list[str]]:
    """Subject, body and tags of the opening customer message."""
    tags: list[str] = []
    if language != "en":
        body = _fill(rng, category.foreign[language])
        return " ".join(body.split()[:6]), body, tags
    if incident is not None:  # near-duplicates: same template, small variations
        body = category.bodies[incident.variant].format(time=iso(incident.start)[11:16])
        subject = category.subjects[incident.variant]
        tags.append("incident")
    else:
        body = _fill(rng, rng.choice(category.bodies))
        subject = rng.choice(category.subjects)
    parts = [rng.choice(cat.OPENERS), body]
    if rng.random() < 0.05:  # mixed topic
        other = rng.choice(cat.CATEGORIES)
        parts.append("Also, " + _fill(rng, rng.choice(other.bodies)).lower())
        stats["mixed_topic"] += 1
    if sentiment == "negative":
        parts.append(rng.choice(cat.NEGATIVE))
    elif sentiment == "positive":
        parts.append(rng.choice(cat.POSITIVE))
    if rng.random() < 0.04:
        parts.append(rng.choice(cat.HUMAN_ASK))
        tags.append("asked_for_human")
    if category.queue in ("billing", "payments") and rng.random() < 0.08:
        parts.append(rng.choice(cat.LEGAL))
        tags.append("legal_risk")
    if rng.random() < 0.5:
        parts.append(_fill(rng, rng.choice(cat.LOOKALIKES)) + ".")
    if rng.random() < 0.15:
        parts.append(_pii(rng))
        stats["with_pii"] += 1
    parts.append(rng.choice(cat.CLOSERS))
    body = " ".join(p for p in parts if p)
    if rng.random() < 0.05:
        body = _typos(rng, body)
    return subject, body, tags


def _priority(rng: random.Random, category: cat.Category, tier: str, sentiment: str) -> str:
    level = bisect(_PRIORITY_CUM[category.name], rng.random())
    if tier in ("enterprise", "vip") and rng.random() < 0.5:
        level += 1
    if sentiment == "negative" and rng.random() < 0.3:
        level += 1
    return PRIORITIES[min(level, 3)]


class _Timeline:
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


def _ticket(rng: random.Random, n: int, plan: Plan, stats: dict[str, int]) -> dict:
    incident = None
    if rng.random() < 0.03 and plan.incidents:
        incident = rng.choice(plan.incidents)
        category = OUTAGE
        created = incident.start + rng.uniform(0, incident.hours) * HOUR
    else:
        category = CATEGORY_PICKER(rng)
        day = bisect(plan.day_cum_weights, rng.random() * plan.day_cum_weights[-1])
        hour = HOUR_PICKER(rng)
        created = plan.start + day * DAY + hour * HOUR + rng.uniform(0, HOUR)
    customer = rng.randrange(max(50, plan.tickets // 4))
    tier = cat.TIERS[_tier_index(customer)][0]
    language = _weighted(rng, cat.LANGUAGES)
    sentiment = rng.choices(
        ("negative", "neutral", "positive"), weights=(0.5 if incident else 0.25, 0.6, 0.15)
    )[0]
    subject, body, tags = _text(rng, category, language, sentiment, incident, stats)
    priority = _priority(rng, category, tier, sentiment)
    channel = _weighted(rng, cat.CHANNELS)
    label = category
    if rng.random() < 0.03:  # label noise: a human picked the wrong category
        label = rng.choice(cat.CATEGORIES)
        stats["label_noise"] += 1
    tl = _Timeline(n)
    tl.first = created
    tl.comment(created, "customer", body)
    status, assignee = _history(
        rng, tl, created, category, tier, sentiment, priority, incident, tags, stats
    )
    if tier == "vip":
        tags.append("vip")
    csat = _csat(rng, tl, status, sentiment, tags)
    return {
        "id": n,
        "created_at": iso(created),
        "updated_at": iso(tl.last),
        "subject": subject,
        "description": body,
        "status": status,
        "priority": priority,
        "type": "incident" if incident else "question",
        "tags": tags,
        "via": {"channel": channel},
        "requester_id": f"cus_{customer}",
        "assignee_id": assignee,
        "locale": None if channel in ("chat", "social") and rng.random() < 0.5 else language,
        "satisfaction_rating": {"score": csat} if csat else None,
        "custom_fields": [
            {"id": "category", "value": label.name},
            {"id": "queue", "value": label.queue},
            {"id": "sentiment", "value": sentiment},
            {"id": "customer_tier", "value": tier},
        ],
        "comments": tl.comments,
        "audits": tl.audits,
    }


def _tier_index(customer: int) -> int:
    u = (customer * 2654435761 % 2**32) / 2**32
    acc = 0.0
    for i, (_, w) in enumerate(cat.TIERS):
        acc += w
        if u < acc:
            return i
    return len(cat.TIERS) - 1


def _history(
    rng, tl: _Timeline, t: float, category, tier, sentiment, priority, incident, tags, stats
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
                if not _reopen(rng, tl, t + 120, stats, agent=None)
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
    return ("open" if _reopen(rng, tl, now, stats, agent) else "solved"), agent


def _reopen(rng, tl: _Timeline, solved_at: float, stats, agent: str | None) -> bool:
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


def _csat(rng, tl: _Timeline, status: str, sentiment: str, tags: list[str]) -> int | None:
    """CSAT on ~40 % of solved tickets, lower with long waits, anger and reopens."""
    if status != "solved" or rng.random() >= 0.4:
        return None
    hours = (tl.last - tl.first) / HOUR
    score = 4.6 - 0.35 * math.log1p(hours / 4) - 1.0 * (sentiment == "negative") + rng.gauss(0, 0.7)
    score -= 0.8 * any(a["events"][0].get("previous_value") == "solved" for a in tl.audits)
    value = int(min(5, max(1, round(score))))
    tl.audit(tl.last + 600, "customer", type="satisfaction", score=value)
    return value


def flat_record(ticket: dict) -> dict:
    """The same ticket as one flat row (CSV/JSONL exports carry no events)."""
    custom = {f["id"]: f["value"] for f in ticket["custom_fields"]}
    rating = ticket["satisfaction_rating"]
    return {
        "id": ticket["id"],
        "created_at": ticket["created_at"],
        "updated_at": ticket["updated_at"],
        "channel": ticket["via"]["channel"],
        "customer_id": ticket["requester_id"],
        "customer_tier": custom["customer_tier"],
        "language": ticket["locale"],
        "subject": ticket["subject"],
        "body": ticket["description"],
        "status": ticket["status"],
        "priority": ticket["priority"],
        "category": custom["category"],
        "queue": custom["queue"],
        "sentiment": custom["sentiment"],
        "tags": ticket["tags"],
        "assignee_id": ticket["assignee_id"],
        "csat": rating["score"] if rating else None,
    }


def generate_chunk(plan: Plan, chunk: int, formats: frozenset[str]) -> ChunkOutput:
    """Tickets ``chunk*CHUNK … `` of the plan, serialised in the requested formats."""
    rng = random.Random(f"{plan.seed}-{chunk}")
    stats: dict[str, int] = dict.fromkeys(
        ("with_pii", "label_noise", "mixed_topic", "reopened", "escalated", "self_service"), 0
    )
    first = chunk * CHUNK
    tickets = [
        _ticket(rng, 100_000 + i, plan, stats)
        for i in range(first, min(first + CHUNK, plan.tickets))
    ]
    stats["tickets"] = len(tickets)
    jsonl, csv_text, zendesk = b"", "", b""
    if "zendesk" in formats:
        zendesk = b",\n".join(orjson.dumps(t) for t in tickets)
    flats = [flat_record(t) for t in tickets] if formats & {"jsonl", "csv"} else []
    if "jsonl" in formats:
        jsonl = b"".join(orjson.dumps(f) + b"\n" for f in flats)
    if "csv" in formats:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        for f in flats:
            writer.writerow([";".join(f[k]) if k == "tags" else f[k] for k in CSV_FIELDS])
        csv_text = buffer.getvalue()
    return ChunkOutput(jsonl, csv_text, zendesk, stats)


def _chunks(plan: Plan, formats: frozenset[str], workers: int) -> Iterator[ChunkOutput]:
    n_chunks = math.ceil(plan.tickets / CHUNK)
    if workers <= 1 or n_chunks <= 1:
        for c in range(n_chunks):
            yield generate_chunk(plan, c, formats)
        return
    with ProcessPoolExecutor(workers) as pool:
        yield from pool.map(
            generate_chunk, [plan] * n_chunks, range(n_chunks), [formats] * n_chunks
        )


ALL_FORMATS = frozenset({"zendesk", "jsonl", "csv"})


def generate_tickets(
    out: Path,
    *,
    tickets: int,
    days: int,
    seed: int,
    formats: frozenset[str] = ALL_FORMATS,
    workers: int = 2,
    progress: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """Write ``zendesk_tickets.json``, ``tickets.jsonl`` and ``tickets.csv``; return counts."""
    if tickets < 1 or days < 1:
        raise ValueError("tickets and days must be at least 1")
    out.mkdir(parents=True, exist_ok=True)
    plan = Plan.make(seed, tickets, days)
    totals: dict[str, int] = {}
    paths = {
        "zendesk": out / "zendesk_tickets.json",
        "jsonl": out / "tickets.jsonl",
        "csv": out / "tickets.csv",
    }
    with ExitStack() as stack:
        handles = {k: stack.enter_context(open(p, "wb")) for k, p in paths.items() if k in formats}
        _write_all(handles, plan, formats, workers, totals, progress)
    totals["incidents"] = len(plan.incidents)
    return totals


def _write_all(
    handles: dict,
    plan: Plan,
    formats: frozenset[str],
    workers: int,
    totals: dict[str, int],
    progress: Callable[[int], None] | None,
) -> None:
    """Stream chunks into the open files, keeping the Zendesk document valid JSON."""
    if "zendesk" in handles:
        handles["zendesk"].write(b'{"tickets": [\n')
    if "csv" in handles:
        handles["csv"].write((",".join(CSV_FIELDS) + "\n").encode())
    done = 0
    for i, part in enumerate(_chunks(plan, formats, workers)):
        if "zendesk" in handles:
            handles["zendesk"].write((b",\n" if i else b"") + part.zendesk)
        if "jsonl" in handles:
            handles["jsonl"].write(part.jsonl)
        if "csv" in handles:
            handles["csv"].write(part.csv.encode())
        for k, v in part.stats.items():
            totals[k] = totals.get(k, 0) + v
        done += part.stats["tickets"]
        if progress:
            progress(done)
    if "zendesk" in handles:
        handles["zendesk"].write(b'\n], "count": %d, "end_of_stream": true}\n' % plan.tickets)
