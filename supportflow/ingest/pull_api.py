"""The Zendesk HTTP client: credentials from the environment (never logged or shown), timeouts,
connection reuse, and retries that honour ``429`` + ``Retry-After`` and back off on 5xx and
connection errors (httpx + tenacity; see ``pull`` for why not dlt)."""

from __future__ import annotations

import base64
import email.utils
import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from supportflow.ingest.pull_config import SOURCE, PullConfig, PullError

log = logging.getLogger("supportflow.pull")


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
