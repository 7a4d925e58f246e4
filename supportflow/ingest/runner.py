"""Ingest many files into the warehouse: expand folders, load each file, collect failures."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from supportflow.ingest import lookups_store
from supportflow.ingest.load import BatchReport, ingest_file
from supportflow.ingest.mapping import load_mapping
from supportflow.ingest.sources import SUFFIX_FORMATS, Format, SourceError
from supportflow.ingest.zendesk import Lookups
from supportflow.ingest.zendesk_files import read_lookups
from supportflow.ingest.zendesk_shape import Shape
from supportflow.settings import Settings
from supportflow.warehouse import connect

log = logging.getLogger("supportflow.ingest")


@dataclass
class IngestOutcome:
    reports: list[BatchReport] = field(default_factory=list)
    failures: list[SourceError] = field(default_factory=list)
    lookups: list[str] = field(default_factory=list)  # "users.json: 120 users (lookup)"


def split_lookups(files: list[Path], fmt: Format | None) -> tuple[list[Path], Lookups, list[str]]:
    """Zendesk users and ticket_fields files among ``files`` → one ``Lookups`` (roles, custom
    field titles) for the ticket files; returns (ticket files, lookups, one line per lookup)."""
    lookups, rest, lines = Lookups(), [], []
    for path in files:
        if fmt in (None, Format.zendesk) and path.suffix.lower() in (".json", ".jsonl", ".ndjson"):
            try:
                shape, n = read_lookups(path, lookups)
            except (OSError, ValueError):
                shape, n = Shape.unknown, 0  # the loader reports the file properly
            if shape in (Shape.users, Shape.ticket_fields):
                lines.append(f"{path.name}: {n:,} {shape.value} (a lookup for roles and fields)")
                continue
        rest.append(path)
    return rest, lookups, lines


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
    files, lookups, outcome.lookups = split_lookups(expand_paths(paths), fmt)
    for line in outcome.lookups:
        log.info(line)
    with connect(settings) as con:
        stored_source = source or chosen.source or "zendesk"
        lookups_store.save(con, lookups, settings.salt(), stored_source)
        if lookups_store.load_fields(con, lookups, stored_source):
            log.info("custom field names from earlier ticket_fields files are used")
        for path in files:
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
                    lookups=lookups,
                )
            except SourceError as exc:
                log.error("cannot ingest %s", exc)
                outcome.failures.append(exc)
                continue
            outcome.reports.append(report)
            if report.skipped_as_duplicate and Path(report.file) != path:
                log.info("%s: the same bytes as %s", path, report.file)  # a copy, renamed
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


NOTE_TITLES = {
    "unused_fields": "fields no mapping used",
    "coerced_to_null": "values set to NULL",
    "unknown_values": "unknown values (loaded as NULL or kept raw)",
    "event_skipped": "events skipped",
    "event_types_kept_as_other": "event types kept as 'other'",
    "cut_to_limit": "cut at a size limit (the source file keeps them)",
    "flags": "flagged",
}


def describe_notes(notes: dict | None) -> list[str]:
    """One line per kind of note in a batch report (nothing is dropped without a line)."""
    lines = []
    for kind, title in NOTE_TITLES.items():
        items = (notes or {}).get(kind)
        if not items:
            continue
        if kind == "unknown_values":
            parts = [
                f"{field} " + ", ".join(f"{v!r} ×{n}" for v, n in values.items())
                for field, values in items.items()
            ]
        else:
            parts = [f"{k} ×{v:,}" for k, v in items.items()]
        lines.append(f"{title}: " + "; ".join(parts))
    return lines
