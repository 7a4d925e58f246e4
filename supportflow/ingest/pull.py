"""Pull tickets and ticket events live from Zendesk's Incremental Export API into the warehouse.

Two streams, each resumable from a position stored in ``landing.pull_state``:

- ``tickets`` — the cursor-based Incremental Ticket Export
  (``GET /api/v2/incremental/tickets/cursor.json?start_time=…`` then ``?cursor=…``) with the
  ``users`` sideload, so the reader knows every requester's and agent's role. The position is the
  page's ``after_cursor`` (``start_time:<epoch>`` until Zendesk has handed out a cursor).
- ``ticket_events`` — the time-based Incremental Ticket Event Export
  (``GET /api/v2/incremental/ticket_events.json?start_time=…&include=comment_events``) for
  comments and field changes. The position is the page's ``end_time``, the next ``start_time``.

Every page is written to a private temporary file under the supportflow home, loaded with
:func:`supportflow.ingest.load.ingest_file` (validation, redaction, idempotent merge) and deleted
at once, so raw customer text never stays on disk. The position moves only after its page is
committed: a run killed at any point re-reads at most the page it was loading, which the loader
recognises (same bytes: already ingested; same tickets: unchanged), so there is no duplicate and
no gap.

Why httpx + tenacity rather than dlt: dlt's ``rest_api`` source would handle the pagination and
the incremental state, but it loads into tables of its own. Our contract is that PII is redacted
before anything is stored and that one loader (``ingest_file``) owns validation, redaction, dedupe
and batch accounting for every source; with dlt the raw text would land in dlt's tables first and
its state would live apart from the pages it describes. Two small, well-kept libraries give us the
parts we need — an HTTP client with timeouts and connection reuse, and a retry policy that honours
``429`` + ``Retry-After`` and backs off on 5xx and connection errors — with nothing stored but
what the loader stores.

Secrets: the API token is read from the environment (``ZENDESK_API_TOKEN`` with ``ZENDESK_EMAIL``
→ basic auth ``email/token:TOKEN``, or ``ZENDESK_OAUTH_TOKEN`` → bearer) and is never put into a
log line, an error message, a stored row, a flow parameter or the repr of any object here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import httpx

from supportflow.ingest.pull_api import ZendeskApi, ZendeskCredentials
from supportflow.ingest.pull_config import SOURCE, PullConfig, PullError, parse_start
from supportflow.ingest.pull_pages import (
    EVENTS,
    EVENTS_PATH,
    TEMP_FOLDER,
    TICKETS,
    TICKETS_PATH,
    PullResult,
    StreamReport,
    _Pages,
    _pull_events,
    _pull_tickets,
    read_position,
    store_position,
)
from supportflow.settings import Settings
from supportflow.warehouse import connect

__all__ = [  # the pieces live in pull_config, pull_api and pull_pages; callers import them here
    "EVENTS",
    "EVENTS_PATH",
    "TEMP_FOLDER",
    "TICKETS",
    "TICKETS_PATH",
    "PullConfig",
    "PullError",
    "PullResult",
    "StreamReport",
    "ZendeskApi",
    "ZendeskCredentials",
    "describe",
    "parse_start",
    "pull_incremental",
    "read_position",
    "store_position",
]

log = logging.getLogger("supportflow.pull")


def pull_incremental(
    config: PullConfig,
    *,
    settings: Settings | None = None,
    credentials: ZendeskCredentials | None = None,
    sleep: Callable[[float], None] = time.sleep,
    transport: httpx.BaseTransport | None = None,
) -> PullResult:
    """Pull every ticket (then every ticket event) changed since the stored positions.

    Raises :class:`PullError` with a one-line reason; what was loaded before stays loaded and
    the next run resumes from the first page not loaded.
    """
    settings = settings or Settings()
    credentials = credentials or ZendeskCredentials.from_environment(config.email)
    result = PullResult(subdomain=config.subdomain, url=config.url)
    api = ZendeskApi(config, credentials, sleep=sleep, transport=transport)
    try:
        with connect(settings) as con:  # holds the warehouse's writer lock for the whole run
            pages = _Pages(con, settings, time.perf_counter())
            if removed := pages.remove_leftovers():
                log.info("%s: removed %d page file(s) left by an interrupted run", SOURCE, removed)
            log.info("%s: pulling from %s", SOURCE, config.url)
            result.streams.append(_pull_tickets(api, pages, config))
            if config.events:
                result.streams.append(_pull_events(api, pages, config))
    except PullError as exc:
        raise PullError(credentials.scrub(str(exc)), transient=exc.transient) from None
    finally:
        api.close()
    return result


def describe(stream: StreamReport) -> str:
    """One line per stream for people: pages, records served and what the loader made of them."""
    noun = "tickets" if stream.stream == TICKETS else "events"
    text = (
        f"{stream.stream}: {stream.pages} page(s), {stream.received:,} {noun} served; "
        f"{stream.records_in:,} in = {stream.records_loaded:,} loaded + "
        f"{stream.records_updated:,} updated + {stream.records_unchanged:,} unchanged + "
        f"{stream.records_quarantined:,} quarantined; {stream.events_loaded:,} events loaded"
    )
    if stream.pages_already_loaded:
        text += f"; {stream.pages_already_loaded} page(s) already loaded"
    return text + f" ({stream.seconds:.1f} s)"
