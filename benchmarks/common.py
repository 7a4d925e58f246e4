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


# the instruction sets that decide int8 and fp32 kernel speed (ONNX Runtime, torch): AVX2 only,
# AVX-512, VNNI (int8 dot products) or AMX; the same bench differs by ~1.5x between such CPUs
ISA_PREFIXES = ("avx2", "avx512f", "avx512vnni", "avx512_vnni", "avxvnni", "amx")


def machine() -> dict:
    """The machine a result was measured on: CPUs, Python, CPU model, the kernel-relevant
    instruction sets (``ISA_PREFIXES``, from py-cpuinfo) and the 1-minute load average at the
    end (a shared box's other work shows there)."""
    import cpuinfo

    info = cpuinfo.get_cpu_info()
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "cpu": info.get("brand_raw", "unknown"),
        "isa": sorted(f for f in info.get("flags", []) if f.startswith(ISA_PREFIXES)),
        "load_1m": round(os.getloadavg()[0], 2),
    }


def write_result(bench: str, params: dict, figures: dict, targets: dict) -> dict:
    """Write ``benchmarks/results/<bench>.json``; ``met`` is true when every target holds."""
    met = all(CHECKS[op](figures[name], bound) for name, (op, bound) in targets.items())
    result = {
        "bench": bench,
        "when": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "git": git_sha(),
        "machine": machine(),
        "params": params,
        "figures": figures,
        "targets": {k: list(v) for k, v in targets.items()},
        "met": met,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{bench}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return result


def retrieval_figures(hits: list, relevant: list[set[str]], prefix: str = "") -> dict[str, float]:
    """recall@1, recall@k (k = the hits per query, 5 in our benches) and MRR of ranked article
    hits (each with ``rank`` and ``article_id``) against each query's relevant article ids;
    keys ``<prefix>recall_at_1``, ``<prefix>recall_at_5``, ``<prefix>mrr``, rounded to 4
    places; zeros for no queries. MRR as in Voorhees (TREC-8 QA): mean of 1/rank of the first
    relevant hit, 0 when none is returned."""
    r1 = r5 = rr = 0.0
    for found, good in zip(hits, relevant, strict=True):
        ranks = [h.rank for h in found if h.article_id in good]
        if ranks:
            r5 += 1
            r1 += ranks[0] == 1
            rr += 1 / ranks[0]
    n = max(len(hits), 1)
    return {
        f"{prefix}recall_at_1": round(r1 / n, 4),
        f"{prefix}recall_at_5": round(r5 / n, 4),
        f"{prefix}mrr": round(rr / n, 4),
    }
