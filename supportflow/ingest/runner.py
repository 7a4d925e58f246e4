"""Ingest many files into the warehouse: expand folders, load each file, collect failures."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from supportflow.ingest.load import BatchReport, ingest_file
from supportflow.ingest.mapping import load_mapping
from supportflow.ingest.sources import SUFFIX_FORMATS, Format, SourceError
from supportflow.settings import Settings
from supportflow.warehouse import connect

log = logging.getLogger("supportflow.ingest")


@dataclass
class IngestOutcome:
    reports: list[BatchReport] = field(default_factory=list)
    failures: list[SourceError] = field(default_factory=list)


def expand_paths(paths: list[Path]) -> list[Path]:
    """Files as given, and files with a known export suffix inside given folders (sorted)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.iterdir() if p.suffix.lower() in SUFFIX_FORMATS))
        else:
            files.append(path)
    return files


def ingest_paths(
    paths: list[Path],
    *,
    fmt: Format | None = None,
    mapping: str | None = None,
    source: str | None = None,
    settings: Settings | None = None,
) -> IngestOutcome:
    """Load every file; an unreadable file is recorded as a failure and the others still load."""
    settings = settings or Settings()
    chosen = load_mapping(mapping)
    outcome = IngestOutcome()
    with connect(settings) as con:
        for path in expand_paths(paths):
            log.info("ingesting %s", path)
            try:
                report = ingest_file(
                    con,
                    path,
                    fmt=fmt,
                    mapping=chosen,
                    source=source,
                    settings=settings,
                    progress=lambda n, p=path: log.info("%s: %s records read", p.name, f"{n:,}"),
                )
            except SourceError as exc:
                log.error("cannot ingest %s", exc)
                outcome.failures.append(exc)
                continue
            outcome.reports.append(report)
            log.info(describe(report))
    return outcome


def describe(r: BatchReport) -> str:
    if r.skipped_as_duplicate:
        return f"{r.file}: already ingested as batch {r.batch_id}; nothing changed"
    text = (
        f"{r.file}: {r.records_in:,} in = {r.records_loaded:,} loaded + {r.records_updated:,} "
        f"updated + {r.records_unchanged:,} unchanged + {r.records_quarantined:,} quarantined; "
        f"{r.events_loaded:,} events"
    )
    if r.quarantine_reasons:
        text += "; quarantine reasons: " + ", ".join(
            f"{k} ×{v}" for k, v in r.quarantine_reasons.items()
        )
    return text
