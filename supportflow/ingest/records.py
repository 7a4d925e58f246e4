"""Validate and normalise one raw ticket record into the canonical landing shape.

Pure functions: a record either becomes a ``Ticket`` or a ``Rejected`` reason that a person can
act on ("created_at: 'yesterday' is not an ISO-8601 timestamp"). Nothing is guessed silently.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

import orjson

PRIORITIES = ("low", "normal", "high", "urgent")
PRIORITY_SYNONYMS = {
    "medium": "normal",
    "critical": "urgent",
    "p1": "urgent",
    "p2": "high",
    "p3": "normal",
    "p4": "low",
}
STATUSES = ("new", "open", "pending", "hold", "solved", "closed")
AUTHOR_ROLES = ("customer", "agent", "bot", "system")
EVENT_KINDS = ("comment", "status", "assign", "escalate", "reopen", "csat", "self_service")
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
MAX_ID_CHARS = 200


class Rejected(ValueError):
    """A record that cannot be loaded; the message is the quarantine reason."""


@dataclass(slots=True)
class Event:
    event_id: str
    created_at: datetime
    author_role: str
    kind: str
    public: bool | None
    body: str | None
    detail: str | None  # JSON text


@dataclass(slots=True)
class Ticket:
    external_id: str
    created_at: datetime
    updated_at: datetime
    channel: str | None
    customer_key: str | None
    customer_tier: str | None
    language: str | None
    subject: str | None
    body: str | None
    status: str | None
    priority: str | None
    category: str | None
    queue: str | None
    sentiment: str | None
    tags: list[str]
    assignee_key: str | None
    csat: int | None
    events: list[Event] = field(default_factory=list)


def pseudonymise(value: Any, salt: bytes) -> str | None:
    """Salted, keyed hash of an identifier: stable per salt, useless without it."""
    if value is None or value == "":
        return None
    return hashlib.blake2b(str(value).encode(), key=salt[:64], digest_size=12).hexdigest()


def _text(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise Rejected(f"{name}: expected text, got {type(value).__name__}")


def _label(value: Any, name: str) -> str | None:
    text = _text(value, name)
    return text.lower() if text else None


def parse_timestamp(value: Any, name: str, tz: tzinfo = UTC) -> datetime:
    """ISO-8601 text (offset or ``Z``; naive means ``tz``) or epoch seconds, returned in UTC."""
    if value is None or value == "":
        raise Rejected(f"{name}: missing")
    if isinstance(value, bool):
        raise Rejected(f"{name}: expected a timestamp, got a boolean")
    if isinstance(value, (int, float)):
        try:
            parsed = datetime.fromtimestamp(value, tz=UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise Rejected(f"{name}: {value!r} is out of range as epoch seconds") from exc
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError as exc:
            raise Rejected(f"{name}: {value[:40]!r} is not an ISO-8601 timestamp") from exc
    else:
        raise Rejected(f"{name}: expected a timestamp, got {type(value).__name__}")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    parsed = parsed.astimezone(UTC)
    if not EARLIEST <= parsed < LATEST:
        raise Rejected(f"{name}: {parsed.isoformat()} is outside 1990–2100")
    return parsed


def _choice(value: Any, name: str, allowed: tuple[str, ...], synonyms=None) -> str | None:
    label = _label(value, name)
    if label is None:
        return None
    label = (synonyms or {}).get(label, label)
    if label not in allowed:
        raise Rejected(f"{name}: {label[:40]!r} is not one of {', '.join(allowed)}")
    return label


def _tags(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        parts = value.replace(";", ",").split(",")
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        parts = value
    else:
        raise Rejected("tags: expected a list of strings or a comma-separated string")
    return list(dict.fromkeys(p.strip().lower() for p in parts if p.strip()))


def _csat(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        score = int(value) if not isinstance(value, bool) else None
    except (TypeError, ValueError):
        score = None
    if score is None or str(value).strip() not in {str(score), f"{score}.0"} or not 1 <= score <= 5:
        raise Rejected(f"csat: {str(value)[:20]!r} is not an integer from 1 to 5")
    return score


def _external_id(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        raise Rejected("id: missing")
    text = _text(value, "id")
    if not text:
        raise Rejected("id: missing")
    if len(text) > MAX_ID_CHARS:
        raise Rejected(f"id: longer than {MAX_ID_CHARS} characters")
    return text


def normalise_ticket(
    raw: dict[str, Any], *, salt: bytes, tz: tzinfo = UTC, max_body_chars: int = 200_000
) -> Ticket:
    """Turn canonical raw fields (see ``mapping.CANONICAL_FIELDS``) into a ``Ticket`` or raise."""
    external_id = _external_id(raw.get("id"))
    created_at = parse_timestamp(raw.get("created_at"), "created_at", tz)
    updated_raw = raw.get("updated_at")
    updated_at = (
        created_at if updated_raw in (None, "") else parse_timestamp(updated_raw, "updated_at", tz)
    )
    if updated_at < created_at:
        raise Rejected("updated_at: earlier than created_at")
    subject = _text(raw.get("subject"), "subject")
    body = _text(raw.get("body"), "body")
    if not subject and not body:
        raise Rejected("body: missing (a ticket needs a subject or a body)")
    for name, text in (("subject", subject), ("body", body)):
        if text and len(text) > max_body_chars:
            raise Rejected(
                f"{name}: {len(text):,} characters is over the limit of {max_body_chars:,}"
            )
    return Ticket(
        external_id=external_id,
        created_at=created_at,
        updated_at=updated_at,
        channel=_label(raw.get("channel"), "channel"),
        customer_key=pseudonymise(_text(raw.get("customer_id"), "customer_id"), salt),
        customer_tier=_label(raw.get("customer_tier"), "customer_tier"),
        language=_label(raw.get("language"), "language"),
        subject=subject,
        body=body,
        status=_choice(raw.get("status"), "status", STATUSES),
        priority=_choice(raw.get("priority"), "priority", PRIORITIES, PRIORITY_SYNONYMS),
        category=_label(raw.get("category"), "category"),
        queue=_label(raw.get("queue"), "queue"),
        sentiment=_label(raw.get("sentiment"), "sentiment"),
        tags=_tags(raw.get("tags")),
        assignee_key=pseudonymise(_text(raw.get("assignee_id"), "assignee_id"), salt),
        csat=_csat(raw.get("csat")),
        events=[
            normalise_event(e, i, salt=salt, tz=tz, max_body_chars=max_body_chars)
            for i, e in enumerate(raw.get("events") or [])
        ],
    )


def normalise_event(
    raw: Any, index: int, *, salt: bytes, tz: tzinfo = UTC, max_body_chars: int
) -> Event:
    """Validate one ticket event (comment or state change) from a nested export."""
    where = f"events[{index}]"
    if not isinstance(raw, dict):
        raise Rejected(f"{where}: expected an object")
    event_id = _text(raw.get("id"), f"{where}.id")
    if not event_id:
        raise Rejected(f"{where}.id: missing")
    body = _text(raw.get("body"), f"{where}.body")
    if body and len(body) > max_body_chars:
        raise Rejected(f"{where}.body: {len(body):,} characters is over the limit")
    public = raw.get("public")
    if public is not None and not isinstance(public, bool):
        raise Rejected(f"{where}.public: expected true or false")
    return Event(
        event_id=event_id,
        created_at=parse_timestamp(raw.get("created_at"), f"{where}.created_at", tz),
        author_role=_choice(raw.get("author_role"), f"{where}.author_role", AUTHOR_ROLES)
        or "system",
        kind=_choice(raw.get("kind"), f"{where}.kind", EVENT_KINDS) or "comment",
        public=public,
        body=body,
        detail=_detail(raw.get("detail"), salt),
    )


def _detail(value: Any, salt: bytes) -> str | None:
    """Event detail as JSON text, with any ``*_id`` person identifiers pseudonymised."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise Rejected("detail: expected an object")
    clean = {
        (k[:-3] + "_key" if k.endswith("_id") and k != "article_id" else k): (
            pseudonymise(v, salt) if k.endswith("_id") and k != "article_id" else v
        )
        for k, v in value.items()
    }
    return orjson.dumps(clean).decode()
