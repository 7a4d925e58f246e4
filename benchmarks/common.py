"""Benchmark results in the agreed JSON shape (ARCHITECTURE §8)."""

from __future__ import annotations

import json
import operator
import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
DATA = Path(__file__).resolve().parent / "data"
CHECKS = {
    "==": operator.eq,
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
}


def git_sha() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def write_result(bench: str, params: dict, figures: dict, targets: dict) -> dict:
    """Write ``benchmarks/results/<bench>.json``; ``met`` is true when every target holds."""
    met = all(CHECKS[op](figures[name], bound) for name, (op, bound) in targets.items())
    result = {
        "bench": bench,
        "when": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "git": git_sha(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "params": params,
        "figures": figures,
        "targets": {k: list(v) for k, v in targets.items()},
        "met": met,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{bench}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return result
