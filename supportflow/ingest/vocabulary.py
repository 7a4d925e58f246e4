"""The closed vocabularies ingest normalises to, and the SQL helpers both checks share.

Ticket fields (status, priority, channel, CSAT words) and event fields (author role, kind) are
mapped onto these lists in ``validate`` and ``validate_events``; values outside them are
counted in the batch notes, never silently dropped.
"""

from __future__ import annotations

PRIORITIES = ("low", "normal", "high", "urgent")
PRIORITY_SYNONYMS = {
    "medium": "normal",
    "critical": "urgent",
    "p1": "urgent",
    "p2": "high",
    "p3": "normal",
    "p4": "low",
}
STATUSES = ("new", "open", "pending", "hold", "solved", "closed", "deleted")
STATUS_SYNONYMS = {"on-hold": "hold", "on_hold": "hold", "resolved": "solved", "waiting": "pending"}
AUTHOR_ROLES = ("customer", "agent", "bot", "system")
ROLE_SYNONYMS = {
    "end-user": "customer",
    "end_user": "customer",
    "requester": "customer",
    "user": "customer",
    "admin": "agent",
}
# The kinds metrics need, then the open kinds: any other field change, any other event.
EVENT_KINDS = (
    "comment",
    "status",
    "assign",
    "escalate",
    "reopen",
    "csat",
    "self_service",
    "field_change",
    "other",
)
# CSAT (Zendesk satisfaction_rating.score and other desks' words): good / bad; the rest are no
# rating. Numbers: top-two-box on 1–5 (≥ 4), top box on 1–3 (3), ≥ 8 on 1–10.
CSAT_GOOD_WORDS = (
    "good",
    "good_with_comment",
    "great",
    "satisfied",
    "positive",
    "happy",
    "very happy",
    "extremely happy",
    "very satisfied",
    "amazing",
)
CSAT_BAD_WORDS = (
    "bad",
    "bad_with_comment",
    "not good",
    "poor",
    "unhappy",
    "dissatisfied",
    "negative",
    "okay",
    "ok",
    "neutral",
    "very unhappy",
    "extremely unhappy",
    "very dissatisfied",
)
CSAT_NO_RATING = ("offered", "unoffered", "not offered", "received", "none", "n/a", "")
CSAT_GOOD = {3: 3, 5: 4, 10: 8}
# Channels help desks write (Zendesk via.channel and others'); others load and are counted.
CHANNELS = (
    "email",
    "web",
    "chat",
    "phone",
    "voice",
    "api",
    "social",
    "messaging",
    "native_messaging",
    "sms",
    "mobile",
    "mobile_sdk",
    "web_widget",
    "web_form",
    "facebook",
    "twitter",
    "whatsapp",
    "slack",
    "system",
    "rule",
    "sample_ticket",
    "forum",
    "help_center",
    "portal",
    "form",
    "any_channel",
    "instagram_dm",
    "line",
)
NUMBER_TYPES = "('BIGINT', 'UBIGINT', 'DOUBLE', 'HUGEINT')"
BAD_TEXT_TYPES = "('ARRAY', 'OBJECT', 'BOOLEAN')"


def q(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def sql_in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(q(v) for v in values) + ")"


def in_range_sql(ts: str) -> str:
    return (
        f"({ts} >= TIMESTAMPTZ '1990-01-01 00:00:00+00' "
        f"AND {ts} < TIMESTAMPTZ '2100-01-01 00:00:00+00')"
    )


def label_sql(field: str) -> str:
    return f"nullif(lower(trim({field})), '')"


def synonyms_sql(field: str, synonyms: dict[str, str]) -> str:
    cases = " ".join(f"WHEN {label_sql(field)} = {q(k)} THEN {q(v)}" for k, v in synonyms.items())
    return f"CASE {cases} ELSE {label_sql(field)} END"
