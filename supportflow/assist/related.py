"""Related and duplicate tickets, and incident bursts, from the shared ticket vectors.

Tickets are compared only with tickets inside a time window, day block by day block, so the
work grows with tickets × tickets-per-window, not tickets². Matrix products run in torch (one
thread pool; numpy's BLAS would contend with the encoder's, see knowledge/search.py).

An **incident** is a burst: a ticket with at least ``min_tickets`` near-identical tickets
(cosine ≥ ``similarity``) within ± ``window_hours``, and at least ``burst_factor`` times the
rate of such tickets over the ``baseline_days`` before. Burst tickets that are near-identical and
close in time form one incident; later tickets close to its centroid within ``link_hours`` of
its end are linked to it too (known-incident matching).

Whether a ticket is a burst seed depends only on the tickets from ``baseline_days`` before it
to ``window_hours`` after it, so a night recomputes seeds only for the days a changed day
reaches (``reached_days``) and keeps the others' (``supportflow.assist.batch.detect_incidents``).
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from models.triage.graph import connected
from supportflow.assist.config import IncidentConfig, RelatedConfig

if TYPE_CHECKING:
    import torch

HOUR = 3600.0
DAY = 24 * HOUR
OPEN = frozenset({"new", "open", "pending", "hold"})


@dataclass
class Tickets:
    """Tickets in time order: ids, epoch seconds, customer keys, statuses, subjects, vectors."""

    ids: list[str]
    times: np.ndarray
    customers: list[str | None]
    statuses: list[str | None]
    subjects: list[str | None]
    vectors: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)


def windows(
    t: Tickets, before: float, after: float, only: np.ndarray | None = None
) -> Iterator[tuple[slice, slice, torch.Tensor]]:
    """(query rows, reference rows, cosine block) per day of tickets: references lie from
    ``before`` seconds before the day to ``after`` seconds after it. With ``only`` (a boolean
    row mask), days without a wanted row are skipped."""
    if not len(t):
        return
    import torch  # here, not on import: a night with nothing to relate never loads it

    vectors = torch.from_numpy(np.ascontiguousarray(t.vectors))
    start = 0
    while start < len(t):
        day_end = t.times[start] - t.times[start] % DAY + DAY
        stop = int(np.searchsorted(t.times, day_end, side="left"))
        if only is not None and not only[start:stop].any():
            start = stop
            continue
        lo = int(np.searchsorted(t.times, t.times[start] - before, side="left"))
        hi = int(np.searchsorted(t.times, t.times[stop - 1] + after, side="right"))
        with torch.no_grad():
            sims = vectors[start:stop] @ vectors[lo:hi].T
        yield slice(start, stop), slice(lo, hi), sims
        start = stop


@dataclass
class Related:
    duplicates: list[tuple[str, float]] = field(default_factory=list)
    related_open: list[tuple[str, float]] = field(default_factory=list)


def related_tickets(t: Tickets, wanted: set[str], config: RelatedConfig) -> dict[str, Related]:
    """For each wanted ticket: earlier near-duplicates from the same customer, and other open
    tickets on the same problem, within ``window_days``."""
    span = config.window_days * DAY
    out: dict[str, Related] = {}
    only = np.array([i in wanted for i in t.ids], dtype=bool)
    floor = min(config.related_similarity, config.duplicate_similarity)
    for rows, refs, sims in windows(t, span, span, only):
        for r in range(rows.stop - rows.start):
            i = rows.start + r
            if not only[i]:
                continue
            row = sims[r].numpy()
            found = Related()
            close = np.flatnonzero(row >= floor)  # most scores are below: sort only the rest
            for k in close[np.argsort(-row[close], kind="stable")]:  # ties in time order
                j = refs.start + int(k)
                score = float(row[k])
                if j == i or abs(t.times[j] - t.times[i]) > span:
                    continue
                same_customer = t.customers[i] is not None and t.customers[j] == t.customers[i]
                if same_customer and score >= config.duplicate_similarity:
                    found.duplicates.append((t.ids[j], round(score, 4)))
                elif t.statuses[j] in OPEN and score >= config.related_similarity:
                    found.related_open.append((t.ids[j], round(score, 4)))
            found.duplicates = found.duplicates[: config.max_related]
            found.related_open = found.related_open[: config.max_related]
            out[t.ids[i]] = found
    return out


@dataclass
class Incident:
    incident_id: str
    members: list[int]  # burst tickets (row numbers)
    linked: list[tuple[int, float]] = field(default_factory=list)  # later tickets, similarity
    label: str = ""
    started_at: float = 0.0
    ended_at: float = 0.0
    parts: list[list[int]] = field(default_factory=list)  # one per wording/language


def day_of(times: np.ndarray) -> np.ndarray:
    """UTC day numbers (days since 1970-01-01) of epoch seconds: the day blocks of ``windows``."""
    return np.floor(np.asarray(times, dtype=np.float64) / DAY).astype(np.int64)


def reached_days(changed: Iterable[int], config: IncidentConfig) -> set[int]:
    """The days whose tickets' burst status a change to the tickets of the ``changed`` days can
    alter. A ticket at ``c`` counts for the tickets within ± ``window_hours`` of it and as
    baseline for those up to ``baseline_days`` after it, so day ``d`` reaches days
    ``d - ⌈window_hours / 24⌉`` … ``d + baseline_days``."""
    back = math.ceil(config.window_hours * HOUR / DAY)
    return {d + k for d in changed for k in range(-back, config.baseline_days + 1)}


def burst_rows(t: Tickets, config: IncidentConfig, only: np.ndarray | None = None) -> np.ndarray:
    """Row numbers of tickets inside a burst (see the module docstring). Each day's tickets are
    compared with those within ± ``window_hours`` first; only the tickets with ``min_tickets``
    near-identical ones there are compared with their ``baseline_days`` before (the rest cannot
    be a burst). The same seeds as comparing every ticket with its whole baseline, in less
    time where few tickets have that many look-alikes: static vectors of 108,921 demo tickets
    0.6 s instead of 2.5 s; of 1,000,054 (2,740 a day, most with 12 look-alikes) 207 s vs 196 s
    (the same 32,269 seeds either way). ``only`` (a boolean row mask): the seeds among those
    rows, each judged against every ticket as without the mask."""
    import torch

    w = config.window_hours * HOUR
    base_span = config.baseline_days * DAY
    first = t.times[0] if len(t) else 0.0
    vectors = torch.from_numpy(np.ascontiguousarray(t.vectors))
    seeds = []
    for rows, refs, sims in windows(t, w, w, only):
        close = (sims >= config.similarity).numpy()
        times = t.times[rows]
        local = np.count_nonzero(close & (np.abs(t.times[refs][None, :] - times[:, None]) <= w), 1)
        history = np.minimum(base_span, times - w - first)
        candidate = (local >= config.min_tickets) & (history >= DAY)
        wanted = np.flatnonzero(candidate if only is None else candidate & only[rows])
        if not len(wanted):  # too few look-alikes, or too little history to know the normal rate
            continue
        lo = int(np.searchsorted(t.times, times[wanted[0]] - base_span, side="left"))
        hi = int(np.searchsorted(t.times, times[wanted[-1]] - w, side="left"))
        with torch.no_grad():
            near = (vectors[rows.start + wanted] @ vectors[lo:hi].T >= config.similarity).numpy()
        dt = t.times[lo:hi][None, :] - times[wanted][:, None]
        before = np.count_nonzero(near & (dt < -w) & (dt >= -base_span), axis=1)
        rate = before * (2 * w) / history[wanted]  # expected similar tickets per ± window
        burst = local[wanted] >= config.burst_factor * np.maximum(rate, 1.0)
        seeds.extend((rows.start + wanted[burst]).tolist())
    return np.array(seeds, dtype=np.int64)


def find_incidents(
    t: Tickets, config: IncidentConfig, seeds: np.ndarray | None = None
) -> list[Incident]:
    """Group burst tickets (``seeds``: their rows, ascending; default ``burst_rows``) into
    incidents and link later similar tickets to them."""
    seeds = burst_rows(t, config) if seeds is None else seeds
    if not len(seeds):
        return []
    labels = connected(len(seeds), seed_pairs(t, seeds, config))
    groups: dict[int, list[int]] = {}
    for k in range(len(seeds)):
        groups.setdefault(int(labels[k]), []).append(int(seeds[k]))
    incidents = []
    for parts in _merge_overlapping(t, sorted(groups.values(), key=min), config):
        members = sorted(m for part in parts for m in part)
        if len(members) < config.min_tickets:
            continue
        first = t.ids[members[0]]
        label = Counter(t.subjects[m] or "" for m in members).most_common(1)[0][0]
        incidents.append(
            Incident(
                "inc-" + hashlib.md5(first.encode()).hexdigest()[:10],
                members,
                label=label,
                started_at=float(t.times[members[0]]),
                ended_at=float(t.times[members[-1]]),
                parts=parts,
            )
        )
    _link_later(t, incidents, config)
    return sorted(incidents, key=lambda inc: inc.started_at)


def keep_incident_ids(
    incidents: list[Incident], ids: list[str], before: dict[str, set[str]]
) -> list[Incident]:
    """Give each of ``incidents`` (rows of tickets ``ids``) the id of the stored incident it
    shares the most burst tickets with (``before``: incident id → its burst ticket ids), each
    stored id to one incident at most, the largest overlap first (ties: the earlier incident);
    an incident that shares none keeps its first-ticket id (``inc-`` + md5 of that ticket's
    id, 10 hex digits), made unique with its next tickets when taken. So an incident keeps its
    id while its tickets change — a late ticket that becomes its first one, merges, splits —
    and the same tickets keep the same ids. Returns ``incidents``, ids set in place."""
    owner = {ticket: incident_id for incident_id, tickets in before.items() for ticket in tickets}
    overlaps = []
    for n, incident in enumerate(incidents):
        shared = Counter(owner[ids[m]] for m in incident.members if ids[m] in owner)
        overlaps += [(-count, n, incident_id) for incident_id, count in shared.items()]
    given: dict[int, str] = {}
    for _, n, incident_id in sorted(overlaps):
        if n not in given and incident_id not in given.values():
            given[n] = incident_id
    taken = set(given.values())
    for n, incident in enumerate(incidents):
        if n in given:
            incident.incident_id = given[n]
            continue
        key = ""
        for m in incident.members:  # the first ticket's id, then as many more as it takes
            key += ids[m]
            incident.incident_id = "inc-" + hashlib.md5(key.encode()).hexdigest()[:10]
            if incident.incident_id not in taken:
                break
        taken.add(incident.incident_id)
    return incidents


def seed_pairs(
    t: Tickets, seeds: np.ndarray, config: IncidentConfig, block: int = 2048
) -> np.ndarray:
    """(m, 2) pairs (i, j), i < j, of positions in ``seeds`` (rows, ascending) whose tickets are
    near-identical (cosine ≥ ``similarity``) and within 2 × ``window_hours`` of each other.
    Each block of ``block`` seeds is compared only with the seeds up to that far after it, so
    the work grows with seeds × seeds-per-window, not seeds² (32k seeds at 1M tickets: a 1 GB
    matrix otherwise)."""
    import torch

    vectors = torch.from_numpy(np.ascontiguousarray(t.vectors[seeds]))
    times = t.times[seeds]
    reach = 2 * config.window_hours * HOUR
    found = [np.zeros((0, 2), np.int64)]
    for a in range(0, len(seeds), block):
        b = min(a + block, len(seeds))
        hi = int(np.searchsorted(times, times[b - 1] + reach, side="right"))
        with torch.no_grad():
            close = (vectors[a:b] @ vectors[a:hi].T >= config.similarity).numpy()
        i = np.arange(a, b)[:, None]
        j = np.arange(a, hi)[None, :]
        keep = close & (j > i) & (times[a:hi][None, :] - times[a:b][:, None] <= reach)
        rows, cols = np.nonzero(keep)
        found.append(np.stack([rows + a, cols + a], axis=1))
    return np.concatenate(found)


def _merge_overlapping(
    t: Tickets, groups: list[list[int]], config: IncidentConfig
) -> list[list[list[int]]]:
    """Bursts whose times overlap are one incident: the same outage is reported in several
    wordings and languages (the English-only encoder cannot tell they match)."""
    merged: list[list[list[int]]] = []
    reach = config.window_hours * HOUR
    for group in groups:  # sorted by first ticket
        start = t.times[min(group)]
        if merged and start <= max(t.times[m] for p in merged[-1] for m in p) + reach:
            merged[-1].append(group)
        else:
            merged.append([group])
    return merged


def _link_later(t: Tickets, incidents: list[Incident], config: IncidentConfig) -> None:
    import torch

    taken = {m for inc in incidents for m in inc.members}
    for inc in incidents:
        centroids = np.stack([t.vectors[part].mean(axis=0) for part in inc.parts])
        centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
        lo = int(np.searchsorted(t.times, inc.started_at, side="left"))
        hi = int(np.searchsorted(t.times, inc.ended_at + config.link_hours * HOUR, side="right"))
        with torch.no_grad():
            block = torch.from_numpy(t.vectors[lo:hi]) @ torch.from_numpy(centroids).T
            scores = block.max(dim=1).values.numpy()
        for k in np.flatnonzero(scores >= config.similarity):
            row = lo + int(k)
            if row not in taken:
                inc.linked.append((row, round(float(scores[k]), 4)))
                taken.add(row)
