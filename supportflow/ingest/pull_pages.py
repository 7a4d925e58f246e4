"""The two incremental streams page by page: positions in ``landing.pull_state`` (cursor or
end_time), each page written to a private temp file, loaded as one batch and deleted, and the
position stored only after its page is committed."""

from __future__ import annotations

import logging
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb

from supportflow.ingest.batch import BatchReport, LoadCounts
from supportflow.ingest.load import ingest_file
from supportflow.ingest.pull_api import ZendeskApi
from supportflow.ingest.pull_config import SOURCE, PullConfig, PullError
from supportflow.ingest.sources import Format, SourceError
from supportflow.settings import Settings

log = logging.getLogger("supportflow.pull")

TICKETS_PATH = "/api/v2/incremental/tickets/cursor.json"
EVENTS_PATH = "/api/v2/incremental/ticket_events.json"
TICKETS = "tickets"
EVENTS = "ticket_events"
TEMP_FOLDER = "pull_tmp"
START_PREFIX = "start_time:"

# ── reports ──────────────────────────────────────────────────────────────────────────────────


@dataclass
class StreamReport(LoadCounts):
    """One stream of one run: pages and records served, and what the loader made of them."""

    stream: str
    pages: int = 0
    received: int = 0
    pages_already_loaded: int = 0
    started_from: str = ""
    position: str | None = None
    seconds: float = 0.0

    def add(self, report: BatchReport) -> None:
        """Count one loaded page."""
        self.add_counts(report)
        self.pages_already_loaded += int(report.skipped_as_duplicate)


@dataclass
class PullResult:
    """A whole run: the API root it read and one report per stream."""

    subdomain: str
    url: str
    streams: list[StreamReport] = field(default_factory=list)

    def as_dict(self) -> dict:
        """Plain data (for a flow result or JSON)."""
        return asdict(self)


# ── state ────────────────────────────────────────────────────────────────────────────────────


def read_position(con: duckdb.DuckDBPyConnection, stream: str, source: str = SOURCE) -> str | None:
    """The stored position of a stream (a cursor, an end_time, or ``start_time:<epoch>``)."""
    row = con.execute(
        "SELECT cursor FROM landing.pull_state WHERE source = ? AND stream = ?", [source, stream]
    ).fetchone()
    return row[0] if row else None


def store_position(
    con: duckdb.DuckDBPyConnection, stream: str, position: str, source: str = SOURCE
) -> None:
    """Record where the next pull of a stream starts (call only after its page is loaded)."""
    con.execute(
        """INSERT INTO landing.pull_state VALUES (?, ?, ?, now())
           ON CONFLICT (source, stream) DO UPDATE
           SET cursor = excluded.cursor, updated_at = excluded.updated_at""",
        [source, stream, position],
    )


# ── the pull ─────────────────────────────────────────────────────────────────────────────────


class _Pages:
    """Writes a page to a private temp file, loads it, deletes it, and counts it."""

    def __init__(self, con, settings: Settings, started: float):
        self.con = con
        self.settings = settings
        self.started = started
        self.folder = settings.home.resolve() / TEMP_FOLDER
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.folder.chmod(0o700)  # also when an older run or a person made it

    def remove_leftovers(self) -> int:
        """Delete page files a killed run left behind (raw text must not stay on disk)."""
        stale = list(self.folder.glob(f"{SOURCE}-*.json"))
        for path in stale:
            path.unlink(missing_ok=True)
        return len(stale)

    def load(self, stream: StreamReport, body: bytes, served: int, noun: str) -> None:
        stream.pages += 1
        stream.received += served
        if served == 0:
            self._progress(stream, noun, "empty page")
            return
        fd, name = tempfile.mkstemp(
            prefix=f"{SOURCE}-{stream.stream}-p{stream.pages:05d}-", suffix=".json", dir=self.folder
        )
        path = Path(name)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(body)
            try:
                report = ingest_file(
                    self.con,
                    path,
                    fmt=Format.zendesk,
                    source=SOURCE,
                    settings=self.settings,
                    label=f"zendesk-api:{stream.stream}:page-{stream.pages}",
                )
            except SourceError as exc:
                raise PullError(
                    f"{stream.stream} page {stream.pages} could not be loaded: {exc.reason}"
                ) from None
        finally:
            path.unlink(missing_ok=True)
        stream.add(report)
        if report.skipped_as_duplicate:
            detail = "already loaded"
        else:
            detail = (
                f"{report.records_loaded} loaded, {report.records_updated} updated, "
                f"{report.records_unchanged} unchanged, {report.records_quarantined} quarantined, "
                f"{report.events_loaded} events"
            )
        self._progress(stream, noun, detail, served)

    def _progress(self, stream: StreamReport, noun: str, detail: str, served: int = 0) -> None:
        log.info(
            "%s %s page %d: %s %s (%s); %d pages, %s %s in %.1f s",
            SOURCE,
            stream.stream,
            stream.pages,
            f"{served:,}",
            noun,
            detail,
            stream.pages,
            f"{stream.received:,}",
            noun,
            time.perf_counter() - self.started,
        )


def _starting_point(stored: str | None, config: PullConfig, stream: str) -> str:
    """The stored position, or ``start_time:<epoch>`` from the config when there is none."""
    if stored is not None and not config.restart:
        return stored
    if config.start is None:
        why = "--restart needs" if config.restart else f"no stored position for {stream}: pass"
        raise PullError(f"{why} --start (e.g. --start 2026-01-01) to say where the pull begins")
    return f"{START_PREFIX}{config.start}"


def _pull_tickets(api: ZendeskApi, pages: _Pages, config: PullConfig) -> StreamReport:
    """Walk the cursor-based ticket export to ``end_of_stream``, storing each next cursor."""
    con = pages.con
    report = StreamReport(TICKETS)
    position = _starting_point(read_position(con, TICKETS), config, TICKETS)
    report.started_from = position if position.startswith(START_PREFIX) else "stored cursor"
    began = time.perf_counter()
    while True:
        if position.startswith(START_PREFIX):
            params = {"start_time": int(position.removeprefix(START_PREFIX))}
        else:
            params = {"cursor": position}
        params["include"] = "users"
        body, page = api.get(TICKETS_PATH, params)
        tickets = page.get("tickets")
        if not isinstance(tickets, list):
            raise PullError(
                f'{TICKETS} page {report.pages + 1}: no "tickets" array in the response'
            )
        pages.load(report, body, len(tickets), "tickets")
        after = str(page.get("after_cursor") or "")
        end = page.get("end_of_stream") is True
        if after and after == position and not end:
            raise PullError(f"{TICKETS}: Zendesk returned the same cursor again without an end")
        if after:
            position = after
            store_position(con, TICKETS, position)
        elif position.startswith(START_PREFIX):
            store_position(con, TICKETS, position)  # no cursor handed out yet: start here again
        if end or not after:
            break
    report.position = read_position(con, TICKETS)
    report.seconds = round(time.perf_counter() - began, 3)
    return report


def _pull_events(api: ZendeskApi, pages: _Pages, config: PullConfig) -> StreamReport:
    """Walk the time-based event export to ``end_of_stream``, storing each page's end_time."""
    con = pages.con
    report = StreamReport(EVENTS)
    position = _starting_point(read_position(con, EVENTS), config, EVENTS)
    report.started_from = position if position.startswith(START_PREFIX) else f"end_time {position}"
    start = int(position.removeprefix(START_PREFIX))
    began = time.perf_counter()
    while True:
        body, page = api.get(EVENTS_PATH, {"start_time": start, "include": "comment_events"})
        events = page.get("ticket_events")
        if not isinstance(events, list):
            raise PullError(
                f'{EVENTS} page {report.pages + 1}: no "ticket_events" array in the response'
            )
        pages.load(report, body, len(events), "events")
        end_time = page.get("end_time")
        if end_time is None:  # nothing exported: the next run asks from the same time
            store_position(con, EVENTS, str(start))
            break
        end_time = int(end_time)
        store_position(con, EVENTS, str(end_time))
        if page.get("end_of_stream") is True:
            break
        if end_time <= start:
            raise PullError(
                f"{EVENTS}: the export did not move past start_time={start} "
                "(more events in one second than fit on a page?)"
            )
        start = end_time
    report.position = read_position(con, EVENTS)
    report.seconds = round(time.perf_counter() - began, 3)
    return report
