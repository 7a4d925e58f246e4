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

import base64
import email.utils
import logging
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import duckdb
import httpx
import orjson
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from supportflow.ingest.load import BatchReport, ingest_file
from supportflow.ingest.sources import Format, SourceError
from supportflow.settings import Settings
from supportflow.warehouse import connect

log = logging.getLogger("supportflow.pull")

SOURCE = "zendesk"
TICKETS = "tickets"
EVENTS = "ticket_events"
TICKETS_PATH = "/api/v2/incremental/tickets/cursor.json"
EVENTS_PATH = "/api/v2/incremental/ticket_events.json"
TEMP_FOLDER = "pull_tmp"
START_PREFIX = "start_time:"
# Zendesk exports nothing from the last minute; a start_time must lie before it.
MIN_START_AGE_S = 60
# Moves to a numbered migration in supportflow/migrations.py (one table, no data to migrate).
SUBDOMAIN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


class PullError(RuntimeError):
    """The pull stopped with a one-line reason; pages loaded before it stay loaded and the stored
    position points at the first page not loaded. ``transient`` errors (rate limits, 5xx,
    connection trouble) are worth retrying later; the others need a change of settings."""

    def __init__(self, message: str, *, transient: bool = False):
        super().__init__(message)
        self.transient = transient


class _Transient(Exception):
    """One failed try that may succeed later (retried inside a request)."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


# ── credentials ──────────────────────────────────────────────────────────────────────────────


class ZendeskCredentials:
    """An API token (basic auth ``email/token:TOKEN``) or an OAuth access token (bearer).

    The secret lives only in this object: its repr and str mask it, it refuses to be pickled
    (so it can never reach a Prefect result, a cache or a subprocess), and :meth:`scrub` removes
    it, in every form that goes over the wire, from any text.
    """

    __slots__ = ("_secret", "email", "kind")

    def __init__(self, *, kind: str, secret: str, email: str | None = None):
        if kind not in {"api_token", "oauth"}:
            raise ValueError(f"unknown credential kind {kind!r}")
        if kind == "api_token" and not email:
            raise PullError(
                "ZENDESK_API_TOKEN needs the agent's email: pass --email or set ZENDESK_EMAIL"
            )
        self.kind = kind
        self.email = email
        self._secret = secret

    @classmethod
    def from_environment(
        cls, email: str | None = None, environ: Mapping[str, str] | None = None
    ) -> ZendeskCredentials:
        """Credentials from ``ZENDESK_API_TOKEN`` (+ ``email`` or ``ZENDESK_EMAIL``) or, failing
        that, ``ZENDESK_OAUTH_TOKEN``; raises :class:`PullError` saying what to set."""
        env = os.environ if environ is None else environ
        email = email or env.get("ZENDESK_EMAIL") or None
        api_token = (env.get("ZENDESK_API_TOKEN") or "").strip()
        oauth = (env.get("ZENDESK_OAUTH_TOKEN") or "").strip()
        if api_token and (email or not oauth):
            return cls(kind="api_token", secret=api_token, email=email)
        if oauth:
            return cls(kind="oauth", secret=oauth)
        raise PullError(
            "no Zendesk credentials: set ZENDESK_API_TOKEN and ZENDESK_EMAIL (or --email), "
            "or ZENDESK_OAUTH_TOKEN"
        )

    def authorization(self) -> str:
        """The ``Authorization`` header value."""
        if self.kind == "oauth":
            return f"Bearer {self._secret}"
        pair = f"{self.email}/token:{self._secret}".encode()
        return "Basic " + base64.b64encode(pair).decode()

    def _forms(self) -> list[str]:
        value = self.authorization()
        forms = {self._secret, value, value.split(" ", 1)[1]}
        if self.kind == "api_token":
            forms.add(f"{self.email}/token:{self._secret}")
        return sorted((f for f in forms if len(f) >= 4), key=len, reverse=True)

    def scrub(self, text: str) -> str:
        """``text`` with every form of the secret replaced by ``***``."""
        for form in self._forms():
            text = text.replace(form, "***")
        return text

    def __repr__(self) -> str:
        return f"ZendeskCredentials(kind={self.kind!r}, email={self.email!r}, secret='***')"

    __str__ = __repr__

    def __reduce__(self):
        raise TypeError("ZendeskCredentials cannot be pickled: read them from the environment")


class _ZendeskAuth(httpx.Auth):
    """Sets the Authorization header on each request (httpx masks it in reprs of headers)."""

    def __init__(self, credentials: ZendeskCredentials):
        self._credentials = credentials

    def auth_flow(self, request: httpx.Request) -> Iterator[httpx.Request]:
        request.headers["Authorization"] = self._credentials.authorization()
        yield request

    def __repr__(self) -> str:
        return f"_ZendeskAuth({self._credentials!r})"


# ── configuration ────────────────────────────────────────────────────────────────────────────


def parse_start(value: str | int | date | datetime | None) -> int | None:
    """A start point as Unix seconds (UTC): a date (``2026-01-01``), an ISO-8601 time (naive
    means UTC), or Unix seconds. It must lie at least a minute in the past (Zendesk's rule)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day, tzinfo=UTC)
    elif isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
        moment = datetime.fromtimestamp(int(value), tz=UTC)
    else:
        try:
            parsed = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError:
            raise PullError(
                f"start {value!r} is neither a date (YYYY-MM-DD), an ISO-8601 time nor Unix seconds"
            ) from None
        moment = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    seconds = int(moment.timestamp())
    if seconds > time.time() - MIN_START_AGE_S:
        raise PullError(
            f"start {moment.isoformat()} is not at least a minute in the past; "
            "Zendesk exports nothing newer"
        )
    return max(seconds, 0)


@dataclass(frozen=True)
class PullConfig:
    """What to pull and how hard to try. Holds no secret (credentials come from the environment).

    ``start`` (Unix seconds) is where a stream with no stored position begins; once a position is
    stored it is ignored unless ``restart`` is set. ``max_tries`` bounds the tries per request;
    waits grow exponentially from ``backoff_s`` up to ``backoff_cap_s``, and a ``Retry-After``
    header (capped at ``retry_after_cap_s``) replaces the computed wait.
    """

    subdomain: str
    start: int | None = None
    base_url: str | None = None
    email: str | None = None
    events: bool = True
    restart: bool = False
    max_tries: int = 5
    backoff_s: float = 1.0
    backoff_cap_s: float = 60.0
    retry_after_cap_s: float = 600.0
    timeout_s: float = 60.0

    def __post_init__(self) -> None:
        subdomain = self.subdomain.strip().lower()
        if subdomain.endswith(".zendesk.com"):
            subdomain = subdomain.removesuffix(".zendesk.com")
        if not SUBDOMAIN.match(subdomain):
            raise PullError(
                f"subdomain {self.subdomain!r} is not a Zendesk subdomain "
                "(letters, digits and dashes, e.g. acme for https://acme.zendesk.com)"
            )
        object.__setattr__(self, "subdomain", subdomain)
        if self.base_url is not None:
            parts = urlsplit(self.base_url)
            if parts.scheme not in {"http", "https"} or not parts.hostname:
                raise PullError(f"base URL {self.base_url!r} is not an http(s) URL")
            if parts.username or parts.password:
                raise PullError(
                    "the base URL must not carry credentials; set ZENDESK_API_TOKEN and "
                    "ZENDESK_EMAIL, or ZENDESK_OAUTH_TOKEN, in the environment"
                )
        if self.max_tries < 1:
            raise PullError("max_tries must be at least 1")

    @property
    def url(self) -> str:
        """The API root: ``--base-url`` as given, else ``https://<subdomain>.zendesk.com``."""
        return (self.base_url or f"https://{self.subdomain}.zendesk.com").rstrip("/")


# ── reports ──────────────────────────────────────────────────────────────────────────────────


@dataclass
class StreamReport:
    """One stream of one run: pages and records served, and what the loader made of them."""

    stream: str
    pages: int = 0
    received: int = 0
    records_in: int = 0
    records_loaded: int = 0
    records_updated: int = 0
    records_unchanged: int = 0
    records_quarantined: int = 0
    events_loaded: int = 0
    pages_already_loaded: int = 0
    started_from: str = ""
    position: str | None = None
    seconds: float = 0.0

    def add(self, report: BatchReport) -> None:
        """Count one loaded page."""
        self.records_in += report.records_in
        self.records_loaded += report.records_loaded
        self.records_updated += report.records_updated
        self.records_unchanged += report.records_unchanged
        self.records_quarantined += report.records_quarantined
        self.events_loaded += report.events_loaded
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


# ── HTTP ─────────────────────────────────────────────────────────────────────────────────────


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delay-seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(float(value.strip()), 0.0)
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max((moment - datetime.now(UTC)).total_seconds(), 0.0)


def _error_detail(response: httpx.Response) -> str:
    """Zendesk's own error words, if the body is its JSON error (short, one line)."""
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return ""
    if not isinstance(body, dict):
        return ""
    error = body.get("error")
    if isinstance(error, dict):
        error = error.get("title") or error.get("message")
    words = " ".join(str(x) for x in (error, body.get("description")) if x)
    return (": " + " ".join(words.split())[:200]) if words else ""


class ZendeskApi:
    """GETs against the API root with retries; returns each page's bytes and parsed JSON."""

    def __init__(
        self,
        config: PullConfig,
        credentials: ZendeskCredentials,
        *,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ):
        self.config = config
        self.credentials = credentials
        self.sleep = sleep
        self.client = httpx.Client(
            base_url=config.url,
            auth=_ZendeskAuth(credentials),
            timeout=httpx.Timeout(config.timeout_s, connect=min(config.timeout_s, 15.0)),
            headers={"Accept": "application/json", "User-Agent": "supportflow-pull"},
            follow_redirects=False,
            transport=transport,
        )
        self._backoff = wait_exponential_jitter(
            initial=config.backoff_s, max=config.backoff_cap_s, jitter=config.backoff_s / 2
        )

    def close(self) -> None:
        """Close the connection pool."""
        self.client.close()

    def __repr__(self) -> str:
        return f"ZendeskApi(url={self.config.url!r}, credentials={self.credentials!r})"

    def get(self, path: str, params: dict[str, Any]) -> tuple[bytes, dict]:
        """One page: retried on 429 (waiting ``Retry-After``), 5xx and connection errors, then a
        one-line :class:`PullError`; other 4xx fail at once with the reason."""
        tries = self.config.max_tries
        retrying = Retrying(
            stop=stop_after_attempt(tries),
            wait=self._wait,
            retry=retry_if_exception_type(_Transient),
            sleep=self.sleep,
            before_sleep=self._log_retry,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    return self._once(path, params)
        except _Transient as exc:
            raise PullError(
                f"GET {self.config.url}{path} failed {tries} times; last: {exc}", transient=True
            ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _Transient) and exc.retry_after is not None:
            return min(exc.retry_after, self.config.retry_after_cap_s)
        return self._backoff(state)

    def _log_retry(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        log.warning(
            "%s: %s; retrying in %.1f s (try %d of %d)",
            SOURCE,
            self.credentials.scrub(str(exc)),
            wait,
            state.attempt_number + 1,
            self.config.max_tries,
        )

    def _once(self, path: str, params: dict[str, Any]) -> tuple[bytes, dict]:
        scrub = self.credentials.scrub
        try:
            response = self.client.get(path, params=params)
        except httpx.TimeoutException as exc:
            raise _Transient(f"timed out ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            raise _Transient(
                f"connection failed ({type(exc).__name__}: {scrub(str(exc))})"
            ) from None
        status = response.status_code
        what = f"HTTP {status} {response.reason_phrase}".rstrip()
        if status == 429 or status == 503:
            raise _Transient(what, retry_after=_retry_after(response.headers.get("Retry-After")))
        if status >= 500:
            raise _Transient(what)
        if status == 401:
            raise PullError(
                f"Zendesk refused the credentials ({what}); check ZENDESK_EMAIL and "
                "ZENDESK_API_TOKEN, or ZENDESK_OAUTH_TOKEN"
            )
        if status == 403:
            raise PullError(
                f"Zendesk forbids the incremental export to this user ({what}); it needs an admin"
                + scrub(_error_detail(response))
            )
        if status == 404:
            raise PullError(f"{self.config.url}{path} not found ({what}); check the subdomain")
        if 300 <= status < 400:
            raise PullError(f"{self.config.url}{path} redirects ({what}); check --base-url")
        if status >= 400:
            raise PullError(f"GET {self.config.url}{path}: {what}" + scrub(_error_detail(response)))
        try:
            doc = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise _Transient(f"{what} but the body is not JSON (cut short?)") from None
        if not isinstance(doc, dict):
            raise PullError(f"GET {self.config.url}{path}: expected a JSON object, got {type(doc)}")
        return response.content, doc


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
