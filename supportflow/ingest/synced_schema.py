"""The synced Zendesk schemas' catalogue (table and column names per connector) and the
small value conversions the reader needs. Sources: Fivetran's Zendesk Support schema and
``fivetran/dbt_zendesk_source``; Airbyte's Zendesk Support source stream schemas."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson

from supportflow.ingest.flavours import Flavour

# Logical table → table name, per connector.
TABLES: dict[Flavour, dict[str, str]] = {
    Flavour.fivetran: {
        "tickets": "ticket",
        "comments": "ticket_comment",
        "users": "user",
        "history": "ticket_field_history",
        "tags": "ticket_tag",
        "ratings": "satisfaction_rating",
    },
    Flavour.airbyte: {
        "tickets": "tickets",
        "comments": "ticket_comments",
        "users": "users",
        "audits": "ticket_audits",
        "fields": "ticket_fields",
    },
}
# Columns each logical table needs (any one of a tuple).
REQUIRED: dict[str, tuple[tuple[str, ...], ...]] = {
    "tickets": (("id",),),
    "comments": (("ticket_id",), ("id",)),
    "users": (("id",), ("role",)),
    "history": (("ticket_id",), ("field_name",), ("updated",), ("value",)),
    "tags": (("ticket_id",), ("tag", "tags")),
    "ratings": (("ticket_id",), ("score",)),
    "audits": (("ticket_id",), ("id",)),
    "fields": (("id",), ("title", "raw_title")),
}
# Keys extracted from an ``_airbyte_data`` JSON record to sort, join and dedupe in SQL.
BLOB_KEYS = {
    "tickets": ("id", "updated_at"),
    "comments": ("id", "ticket_id", "author_id", "created_at"),
    "users": ("id", "role", "updated_at"),
    "audits": ("id", "ticket_id", "author_id", "created_at"),
    "fields": ("id", "title", "raw_title"),
}
# Fivetran ``ticket`` columns the connector documents (the rest are custom fields).
FIVETRAN_TICKET_COLUMNS = {
    "id", "url", "external_id", "type", "subject", "raw_subject", "description", "priority",
    "status", "recipient", "requester_id", "submitter_id", "assignee_id", "organization_id",
    "group_id", "brand_id", "collaborator_ids", "follower_ids", "email_cc_ids", "forum_topic_id",
    "problem_id", "has_incidents", "is_public", "due_at", "ticket_form_id", "allow_channelback",
    "allow_attachments", "merged_ticket_ids", "custom_status_id", "from_messaging_channel",
    "followup_ids", "sharing_agreement_ids", "generated_timestamp", "created_at", "updated_at",
    "via_channel",
}  # fmt: skip
AIRBYTE_PREFIXES = ("_airbyte", "_ab_")  # bookkeeping columns Airbyte adds
INTERNAL_PREFIXES = ("_fivetran", *AIRBYTE_PREFIXES, "system_", "via_", "__")
CORE_TICKET_KEYS = (
    "id", "created_at", "updated_at", "subject", "description", "status", "priority",
    "requester_id", "assignee_id",
)  # fmt: skip
# Ticket, comment and audit keys that hold objects or lists (JSON text in CSV and JSON columns).
NESTED_KEYS = {
    "via", "satisfaction_rating", "custom_fields", "fields", "tags", "collaborator_ids",
    "follower_ids", "email_cc_ids", "followup_ids", "sharing_agreement_ids", "events",
    "metadata", "attachments", "uploads", "dates",
}  # fmt: skip
TRUE = {"true", "t", "1", "yes", "y"}
FALSE = {"false", "f", "0", "no", "n"}
SUFFIXES = ((".parquet", "parquet"), (".csv", "csv"), (".csv.gz", "csv"))


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _bool(value: Any) -> bool | None:
    """A boolean from a typed column or its text (CSV: true/false, t/f, 1/0)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return bool(value)
    text = str(value).strip().lower()
    return True if text in TRUE else False if text in FALSE else None


def _nested(value: Any) -> Any:
    """An object or list kept as JSON text (CSV, JSON columns) parsed; other values as they are."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
    return value


def _tag_list(value: Any) -> Any:
    """A tags value of the field history: a JSON list, or tags separated by spaces."""
    if value is None or isinstance(value, list):
        return value
    parsed = _nested(value)
    return parsed if isinstance(parsed, list) else str(value).split()


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", "replace")
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def ticket_json(ticket: dict) -> bytes:
    """One ticket as a line of JSON (naive timestamps are UTC, as the connectors write them)."""
    return orjson.dumps(ticket, default=_json_default, option=orjson.OPT_NAIVE_UTC)
