"""What readers hand the loader: records as received (``RawRecord``), batches of them as
columns (``RawBatch``), and ``SourceError`` for a file that cannot be read at all."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path


class SourceError(RuntimeError):
    """The file as a whole cannot be read; nothing from it is loaded. The reason is redacted
    (it may quote a header or a value) before it reaches a message, a log or Prefect's state."""

    def __init__(self, path: Path, reason: str):
        from supportflow.ingest.redact import redact_texts

        reason = redact_texts([reason])[0]
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


@dataclass(slots=True)
class RawRecord:
    """One record as received (``raw``), as JSON for validation (``doc``; None: raw is JSON),
    or with the ``error`` that kept it from being read. ``raw_chars``: the record's full length
    in characters when ``raw`` keeps only its start (a record over ``bounds.KEEP_CHARS``);
    None when ``raw`` is whole. ``events``: a large record's events as JSON arrays of about
    ``bounds.PIECE_CHARS`` each, staged apart from ``doc`` (which then has no ``events``)."""

    record_no: int
    raw: str
    doc: str | None = None
    error: str | None = None
    raw_chars: int | None = None
    events: list[str] | None = None


@dataclass(slots=True)
class RawBatch:
    """Consecutive records as columns (what the loader hands to DuckDB in one go)."""

    record_no: list[int]
    raw: list[str]
    doc: list[str | None]
    error: list[str | None]
    raw_chars: list[int | None] | None = None  # None: every ``raw`` is whole
    events: list[list[str] | None] | None = None  # None: no record has events in pieces

    @classmethod
    def of(cls, records: list[RawRecord]) -> RawBatch:
        return cls(
            [r.record_no for r in records],
            [r.raw for r in records],
            [r.doc for r in records],
            [r.error for r in records],
            [r.raw_chars for r in records],
            [r.events for r in records] if any(r.events for r in records) else None,
        )

    def event_pieces(self) -> tuple[list[int], list[int], list[str]]:
        """(record_no, piece number, JSON array) of every staged piece of events."""
        numbers: list[int] = []
        pieces: list[int] = []
        texts: list[str] = []
        for record_no, events in zip(self.record_no, self.events or [], strict=False):
            for i, text in enumerate(events or []):
                numbers.append(record_no)
                pieces.append(i)
                texts.append(text)
        return numbers, pieces, texts

    def full_lengths(self) -> list[int | None]:
        """``raw_chars`` for every record (None where ``raw`` is whole)."""
        return self.raw_chars if self.raw_chars is not None else [None] * len(self.record_no)

    def records(self) -> list[RawRecord]:
        events = self.events if self.events is not None else [None] * len(self.record_no)
        return [
            RawRecord(*row)
            for row in zip(
                self.record_no,
                self.raw,
                self.doc,
                self.error,
                self.full_lengths(),
                events,
                strict=True,
            )
        ]


# A batch is also cut at this many characters: Zendesk tickets with their comments and audits
# are ~10× the size of a flat row, and Python holds a batch three times (records, columns, Arrow).
BATCH_BYTES = 64 << 20


def batched(records: Iterable[RawRecord], size: int) -> Iterator[RawBatch]:
    """Records in batches of ``size`` records or ``BATCH_BYTES`` characters, whichever first."""
    batch: list[RawRecord] = []
    held = 0
    for record in records:
        batch.append(record)
        held += len(record.raw) + len(record.doc or "") + sum(map(len, record.events or ()))
        if len(batch) >= size or held >= BATCH_BYTES:
            yield RawBatch.of(batch)
            batch, held = [], 0
    if batch:
        yield RawBatch.of(batch)
