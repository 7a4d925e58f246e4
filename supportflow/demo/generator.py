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
from bisect import bisect
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import accumulate
from pathlib import Path

import orjson

from supportflow.demo import catalog as cat
from supportflow.demo.history import Timeline, csat, history
from supportflow.demo.sampling import DAY, END, HOUR, Incident, Picker, iso, weighted
from supportflow.demo.text import opening_message
from supportflow.ingest.mapping import CANONICAL_FIELDS

CHUNK = 20_000
PRIORITIES = ("low", "normal", "high", "urgent")
HOUR_WEIGHTS = (1, 1, 1, 1, 1, 2, 3, 6, 10, 12, 12, 11, 10, 11, 12, 11, 10, 8, 6, 4, 3, 2, 2, 1)
WEEKDAY_WEIGHTS = (1.15, 1.1, 1.05, 1.0, 0.9, 0.4, 0.35)  # Monday first
CSV_FIELDS = CANONICAL_FIELDS


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


CATEGORY_PICKER = Picker(cat.CATEGORIES, [c.weight for c in cat.CATEGORIES])
HOUR_PICKER = Picker(range(24), HOUR_WEIGHTS)
_PRIORITY_CUM = {c.name: list(accumulate(c.priorities))[:-1] for c in cat.CATEGORIES}
OUTAGE = next(c for c in cat.CATEGORIES if c.name == "outage")


def _priority(rng: random.Random, category: cat.Category, tier: str, sentiment: str) -> str:
    level = bisect(_PRIORITY_CUM[category.name], rng.random())
    if tier in ("enterprise", "vip") and rng.random() < 0.5:
        level += 1
    if sentiment == "negative" and rng.random() < 0.3:
        level += 1
    return PRIORITIES[min(level, 3)]


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
    language = weighted(rng, cat.LANGUAGES)
    sentiment = rng.choices(
        ("negative", "neutral", "positive"), weights=(0.5 if incident else 0.25, 0.6, 0.15)
    )[0]
    subject, body, tags = opening_message(rng, category, language, sentiment, incident, stats)
    priority = _priority(rng, category, tier, sentiment)
    channel = weighted(rng, cat.CHANNELS)
    label = category
    if rng.random() < 0.03:  # label noise: a human picked the wrong category
        label = rng.choice(cat.CATEGORIES)
        stats["label_noise"] += 1
    tl = Timeline(n)
    tl.first = created
    tl.comment(created, "customer", body)
    status, assignee = history(
        rng, tl, created, category, tier, sentiment, priority, incident, tags, stats
    )
    if tier == "vip":
        tags.append("vip")
    score = csat(rng, tl, status, sentiment, tags)
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
        "satisfaction_rating": {"score": score} if score else None,
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
