"""Write a complete demo data set: ticket exports, knowledge base and a manifest."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from supportflow.demo.generator import ALL_FORMATS, generate_tickets
from supportflow.demo.knowledge import write_knowledge_base


def write_demo(
    out: Path,
    *,
    tickets: int,
    days: int,
    seed: int,
    formats: frozenset[str] = ALL_FORMATS,
    workers: int = 2,
    progress: Callable[[int], None] | None = None,
) -> dict:
    """Generate everything into ``out``; ``manifest.json`` records parameters and counts."""
    started = time.perf_counter()
    counts = generate_tickets(
        out,
        tickets=tickets,
        days=days,
        seed=seed,
        formats=formats,
        workers=workers,
        progress=progress,
    )
    kb = write_knowledge_base(out)
    manifest = {
        "params": {"tickets": tickets, "days": days, "seed": seed},
        "formats": sorted(formats),
        "counts": counts,
        "knowledge_base": kb,
        "seconds": round(time.perf_counter() - started, 2),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest
