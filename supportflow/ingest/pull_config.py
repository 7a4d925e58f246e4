"""What a Zendesk pull is asked to do (``PullConfig``, ``parse_start``) and how it fails
(``PullError``); see ``pull`` for the whole story."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from urllib.parse import urlsplit

SOURCE = "zendesk"  # ticket ids zendesk:<id>, as from exports and synced schemas
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
