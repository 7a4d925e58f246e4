"""One file's batch: its identity (fingerprint), its report and its ingest_batches row."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import orjson

from supportflow.ingest.mapping import Mapping
from supportflow.ingest.sources import Format


@dataclass(kw_only=True)
class LoadCounts:
    """Records in and what the loader made of them (one file, or a pull stream's pages);
    ``records_in`` always equals the sum of the four outcomes."""

    records_in: int = 0
    records_loaded: int = 0
    records_updated: int = 0
    records_unchanged: int = 0
    records_quarantined: int = 0
    events_loaded: int = 0

    @property
    def balanced(self) -> bool:
        return self.records_in == (
            self.records_loaded
            + self.records_updated
            + self.records_unchanged
            + self.records_quarantined
        )

    def add_counts(self, other: LoadCounts) -> None:
        """Add ``other``'s counts to these."""
        for f in fields(LoadCounts):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


@dataclass
class BatchReport(LoadCounts):
    """What one file contributed."""

    batch_id: str
    source: str
    format: str
    file: str
    file_sha256: str
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    finished_at: datetime | None = None
    skipped_as_duplicate: bool = False
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    # Nothing silently dropped: source fields no mapping used, values coerced to NULL per
    # field, unknown vocabulary values, skipped events, flags (see ``load.collect_notes``).
    notes: dict[str, dict] = field(default_factory=dict)

    def as_dict(self) -> dict:
        out = asdict(self)
        out["started_at"] = self.started_at.isoformat()
        out["finished_at"] = self.finished_at.isoformat() if self.finished_at else None
        return out


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def batch_identity(path: Path, fmt: Format, mapping: Mapping, source: str) -> tuple[str, str]:
    """(batch_id, file sha256): the same bytes under the same source and mapping → same batch."""
    sha = file_sha256(path)
    key = f"{sha}|{fmt}|{source}|{mapping.model_dump_json()}"
    return f"{source}-{hashlib.sha256(key.encode()).hexdigest()[:16]}", sha


def insert_batch(con: duckdb.DuckDBPyConnection, r: BatchReport) -> None:
    """The report's ``landing.ingest_batches`` row (inside the batch's transaction)."""
    con.execute(
        "INSERT INTO landing.ingest_batches VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            r.batch_id,
            r.source,
            r.format,
            r.file,
            r.file_sha256,
            r.records_in,
            r.records_loaded,
            r.records_updated,
            r.records_unchanged,
            r.records_quarantined,
            r.events_loaded,
            r.started_at,
            r.finished_at,
            orjson.dumps(r.notes).decode() if r.notes else None,
        ],
    )


def previous_batch(con: duckdb.DuckDBPyConnection, batch_id: str) -> BatchReport | None:
    """The report of a batch already loaded (the same file again), or None."""
    rows = con.execute(  # fetchall: a half-read result would block later con.sql calls
        """SELECT batch_id, source, format, file, file_sha256, records_in,
                                records_quarantined
                         FROM landing.ingest_batches WHERE batch_id = ?""",
        [batch_id],
    ).fetchall()
    if not rows:
        return None
    (row,) = rows
    bid, source, fmt, file, sha, n_in, n_quarantined = row
    return BatchReport(
        batch_id=bid,
        source=source,
        format=fmt,
        file=file,
        file_sha256=sha,
        records_in=n_in,
        records_unchanged=n_in - n_quarantined,
        records_quarantined=n_quarantined,
        finished_at=datetime.now(UTC),
        skipped_as_duplicate=True,
    )
