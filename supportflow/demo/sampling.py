"""Sampling helpers for the demo generator: the fixed clock, fast weighted choice, timestamps."""

from __future__ import annotations

import random
import time
from bisect import bisect
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import accumulate

END = datetime(2026, 10, 31, tzinfo=UTC).timestamp()  # demo time ends here, never "now"
HOUR = 3600.0
DAY = 86400.0


@dataclass(frozen=True)
class Incident:
    start: float
    hours: float
    variant: int


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


def weighted(rng: random.Random, pairs: tuple[tuple[str, float], ...]) -> str:
    picker = _PICKERS.get(id(pairs))
    if picker is None:
        picker = _PICKERS[id(pairs)] = Picker([p[0] for p in pairs], [p[1] for p in pairs])
    return picker(rng)


_PICKERS: dict[int, Picker] = {}
