"""Seeded generator of a realistic help desk: tickets with full event histories, in three formats.

Determinism: the data depends only on (seed, tickets, days). Work is cut into fixed chunks, each
with its own RNG seeded from (seed, chunk), so the output is identical however many processes
generate it. Time runs up to a fixed end date, never "now".

Over 300 lines on purpose: the per-ticket story and the chunked writer share ``Plan`` and its RNG
seeding, which must change together for the output to stay the same for a seed.
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
from supportflow.demo.history import Timeline, created, csat, history
from supportflow.demo.sampling import DAY, END, HOUR, Incident, Picker, iso, weighted
from supportflow.demo.text import opening_message
from supportflow.demo.zendesk_files import (
    CUSTOM_FIELDS,
    CUSTOMER_BASE,
    customers,
    write_incremental_pages,
    write_zendesk_lookups,
)
from supportflow.ingest.mapping import CANONICAL_FIELDS

CHUNK = 20_000
PRIORITIES = ("low", "normal", "high", "urgent")
HOUR_WEIGHTS = (1, 1, 1, 1, 1, 2, 3, 6, 10, 12, 12, 11, 10, 11, 12, 11, 10, 8, 6, 4, 3, 2, 2, 1)
WEEKDAY_WEIGHTS = (1.15, 1.1, 1.05, 1.0, 0.9, 0.4, 0.35)  # Monday first
CSV_FIELDS = CANONICAL_FIELDS
LOCALES = {"en": "en-US", "de": "de", "es": "es", "fr": "fr"}  # Zendesk locale codes
RECENT_DAYS = 2  # the incremental export pages hold the tickets updated in these last days
DELETED_SHARE = 0.01  # spam and test tickets an admin deleted


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
    recent: list[dict] = field(default_factory=list)  # updated in the last RECENT_DAYS


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
        created_at = incident.start + rng.uniform(0, incident.hours) * HOUR
    else:
        category = CATEGORY_PICKER(rng)
        day = bisect(plan.day_cum_weights, rng.random() * plan.day_cum_weights[-1])
        hour = HOUR_PICKER(rng)
        created_at = plan.start + day * DAY + hour * HOUR + rng.uniform(0, HOUR)
    customer = rng.randrange(customers(plan))
    tier = cat.TIERS[_tier_index(customer)][0]
    language = customer_language(customer)
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
    tl = Timeline(n, CUSTOMER_BASE + customer)
    tl.first = created_at
    tl.comment(created_at, "customer", body)
    created(tl, created_at, subject, priority, tags)
    status, assignee = history(
        rng, tl, created_at, category, tier, sentiment, priority, incident, tags, stats
    )
    if tier == "vip":
        tags.append("vip")
    score = csat(rng, tl, status, sentiment, tags)
    if rng.random() < DELETED_SHARE:
        status = "deleted"
        stats["deleted"] += 1
    values = {
        "category": label.name,
        "queue": label.queue,
        "sentiment": sentiment,
        "customer_tier": tier,
    }
    return {
        "url": f"https://nimbus.zendesk.com/api/v2/tickets/{n}.json",
        "id": n,
        "created_at": iso(created_at),
        "updated_at": iso(tl.last),
        "type": "incident" if incident else "question",
        "subject": subject,
        "raw_subject": subject,
        "description": body,
        "priority": priority,
        "status": status,
        "requester_id": tl.requester,
        "submitter_id": tl.requester,
        "assignee_id": tl.agent if assignee else None,
        "tags": tags,
        "via": {"channel": channel, "source": {"from": {}, "to": {}, "rel": None}},
        "satisfaction_rating": {"score": score} if score else None,
        "custom_fields": [{"id": CUSTOM_FIELDS[k], "value": v} for k, v in values.items()],
        "comments": tl.comments,
        "audits": tl.audits,
        "_language": language,  # for the flat exports (Zendesk keeps it as the user's locale)
    }


def customer_language(customer: int) -> str:
    """A customer writes in one language (Zendesk keeps it as the user's ``locale``)."""
    u = (customer * 2246822519 % 2**32) / 2**32
    acc = 0.0
    for code, w in cat.LANGUAGES:
        acc += w
        if u < acc:
            return code
    return cat.LANGUAGES[-1][0]


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
    names = {v: k for k, v in CUSTOM_FIELDS.items()}
    custom = {names[f["id"]]: f["value"] for f in ticket["custom_fields"]}
    rating = ticket["satisfaction_rating"]
    return {
        "id": ticket["id"],
        "created_at": ticket["created_at"],
        "updated_at": ticket["updated_at"],
        "channel": ticket["via"]["channel"],
        "customer_id": ticket["requester_id"],
        "customer_tier": custom["customer_tier"],
        "language": ticket["_language"],
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
        (
            "with_pii",
            "label_noise",
            "mixed_topic",
            "reopened",
            "escalated",
            "self_service",
            "deleted",
        ),
        0,
    )
    first = chunk * CHUNK
    tickets = [
        _ticket(rng, 100_000 + i, plan, stats)
        for i in range(first, min(first + CHUNK, plan.tickets))
    ]
    stats["tickets"] = len(tickets)
    jsonl, csv_text, zendesk = b"", "", b""
    if "zendesk" in formats:  # the account JSON export: one ticket per line
        zendesk = b"".join(
            orjson.dumps({k: v for k, v in t.items() if k != "_language"}) + b"\n" for t in tickets
        )
    flats = [flat_record(t) for t in tickets] if formats & {"jsonl", "csv"} else []
    if "jsonl" in formats:
        jsonl = b"".join(orjson.dumps(f) + b"\n" for f in flats)
    if "csv" in formats:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        for f in flats:
            writer.writerow([";".join(f[k]) if k == "tags" else f[k] for k in CSV_FIELDS])
        csv_text = buffer.getvalue()
    recent = []
    if "zendesk" in formats:
        since = iso(END - RECENT_DAYS * DAY)
        recent = [
            {k: v for k, v in t.items() if k != "_language"}
            for t in tickets
            if t["updated_at"] >= since
        ]
    return ChunkOutput(jsonl, csv_text, zendesk, stats, recent)


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
    """Write ``zendesk/`` (Zendesk's account JSON export ``tickets.json``, one ticket per line
    with comments and audits, plus ``users.json`` and ``ticket_fields.json`` as the Users and
    Ticket Fields APIs return them), ``tickets.jsonl`` and ``tickets.csv``; return counts."""
    if tickets < 1 or days < 1:
        raise ValueError("tickets and days must be at least 1")
    out.mkdir(parents=True, exist_ok=True)
    plan = Plan.make(seed, tickets, days)
    totals: dict[str, int] = {}
    if "zendesk" in formats:
        write_zendesk_lookups(out / "zendesk", plan)
    paths = {
        "zendesk": out / "zendesk" / "tickets.json",
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
    """Stream chunks into the open files."""
    if "csv" in handles:
        handles["csv"].write((",".join(CSV_FIELDS) + "\n").encode())
    done = 0
    recent: list[dict] = []
    for part in _chunks(plan, formats, workers):
        recent.extend(part.recent)
        if "zendesk" in handles:
            handles["zendesk"].write(part.zendesk)
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
        folder = Path(handles["zendesk"].name).parent.parent / "zendesk_incremental"
        totals["incremental_pages"] = write_incremental_pages(folder, recent)
