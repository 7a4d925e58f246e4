"""Zendesk exports as Zendesk writes them, flattened onto supportflow's canonical ticket fields.

Shapes (detected from the content, never from the suffix; references: Zendesk Support API —
Incremental Exports, Tickets, Ticket Comments, Ticket Audits, Users, Ticket Fields; Zendesk help
"Exporting data to a JSON, CSV, or XML file"):

- ``tickets`` page: ``{"tickets": [...], "users": [...]?, "after_cursor"/"end_of_stream"}`` (cursor
  based Incremental Ticket Export) or ``{"tickets": [...], "next_page", "end_time"}`` (time based),
  or a List Tickets page; comments and audits may be embedded per ticket (``comments``,
  ``audits``), which is how data engineers attach them;
- the account JSON export: one ticket per line (NDJSON) in a file named ``tickets.json``;
- ``{"audits": [...]}`` (Ticket Audits), ``{"ticket_events": [...]}`` (Incremental Ticket Event
  Export with ``include=comment_events``) and ``{"comments": [...]}`` (Ticket Comments, each with
  the ``ticket_id`` it was listed for): events of tickets loaded elsewhere;
- ``{"users": [...]}`` and ``{"ticket_fields": [...]}``: lookups, never stored (users hold PII).

Semantics (each one a stated rule, see ``author_role``, ``audit_events``):
- comment author → role: the ticket's requester is the customer; an Answer Bot channel → bot;
  with a users lookup, role ``end-user`` → customer and ``agent``/``admin`` → agent; the
  Zendesk system user (id -1) and ``via.channel`` ``rule``/``system`` → system; ``api`` → bot;
  any other author → agent, or the customer when the author's key equals the ticket's customer
  key (events exported apart from their tickets; counted as inferred).
- ``public: false`` = internal note; ``html_body`` → text when ``body``/``plain_body`` are missing.
- audit events: ``Comment`` → comment; ``Create``/``Change`` of ``status`` → status (out of
  solved/closed → reopen), of ``assignee_id`` → assign, of ``tags`` gaining an escalation tag →
  escalate; any other field → ``field_change`` (field, from, to); ``SatisfactionRating`` → csat;
  an Answer Bot audit → self_service; every other event type (Notification, Cc, …: "Events may be
  added at any time", the audit events reference) → ``other`` with its raw type kept.
- language: the requester's ``locale`` from a users lookup (Zendesk keeps it on the user).
- custom fields by id: resolved through ``ticket_fields`` titles (a title naming a canonical
  field: Category, Queue, Sentiment, Customer tier) or the mapping's ``custom_fields``.

Kept as one module (~380 lines): tickets, comments and audits are flattened with the same
lookups, stats and role rules, and read best as one statement of the Zendesk mapping.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

# Canonical field ← Zendesk ticket key (dotted paths reach into objects).
TICKET_PATHS = {
    "id": "id",
    "created_at": "created_at",
    "updated_at": "updated_at",
    "channel": "via.channel",
    "customer_id": "requester_id",
    "subject": "subject",
    "body": "description",
    "status": "status",
    "priority": "priority",
    "tags": "tags",
    "assignee_id": "assignee_id",
    "csat": "satisfaction_rating.score",
}
# Ticket keys read by the flattener itself (events, lookups) or that only repeat another key.
READ_KEYS = {"comments", "audits", "custom_fields", "satisfaction_rating", "via", "requester_id"}
REPEATS = {"url", "raw_subject", "fields", "generated_timestamp"}
# Custom-field titles (lower case, spaces as underscores) that name a canonical field.
TITLE_FIELDS = {
    "category": "category",
    "queue": "queue",
    "sentiment": "sentiment",
    "customer_tier": "customer_tier",
    "tier": "customer_tier",
    "language": "language",
}
SYSTEM_USER_ID = -1  # Zendesk's own user in audits (triggers, automations)
SYSTEM_CHANNELS = {"rule", "system", "sample_ticket"}
SENT_BY_SYSTEM = {"Notification", "NotificationWithCc", "Cc", "FollowerChange", "Push", "Error"}
CLOSED = {"solved", "closed"}
ESCALATION_TAGS = {"escalated", "escalation", "tier2", "tier_2"}
AUDIT_KINDS = {"status": "status", "assignee_id": "assign"}
_TAG = re.compile(r"<[^>]+>")
_BREAK = re.compile(r"<\s*(br|/p|/div|/li|/h[1-6])\s*/?>", re.I)


def name_forms(name: str, role: object) -> set[str]:
    """The forms of a user's name to redact: the full name (two characters or more: "王芳"), and
    for end-users (customers) each part of three letters or more that starts upper-case, split
    at spaces and hyphens ("Hi Anna," quotes the first name; "Marie" of "Anne-Marie"). Agents'
    single name parts are kept: they sign replies with them and are the team's, not the
    customers', data."""
    full = " ".join(name.split())
    forms = {full} if len(full) >= 2 else set()
    if role in (None, "end-user", "end_user"):
        parts = set(full.split(" ")) | set(re.split(r"[\s\-\u2010\u2011]+", full))
        forms |= {p for p in parts if len(p) >= 3 and p[0].isupper()}
    return forms


@dataclass
class Lookups:
    """What other files of the same export tell about a ticket file (never stored)."""

    user_roles: dict[str, str] = field(default_factory=dict)  # user id → end-user|agent|admin
    user_languages: dict[str, str] = field(default_factory=dict)  # user id → "de" (locale)
    field_names: dict[str, str] = field(default_factory=dict)  # custom field id → canonical
    field_titles: dict[str, str] = field(default_factory=dict)  # custom field id → title
    user_names: set[str] = field(default_factory=set)  # redacted from texts, never stored

    def add_users(self, users: Iterable[dict]) -> int:
        n = 0
        for user in users:
            if isinstance(user, dict) and isinstance(user.get("name"), str):
                self.user_names.update(name_forms(user["name"], user.get("role")))
            if isinstance(user, dict) and user.get("id") is not None and user.get("role"):
                self.user_roles[str(user["id"])] = str(user["role"])
                if isinstance(user.get("locale"), str) and user["locale"]:
                    self.user_languages[str(user["id"])] = user["locale"].split("-")[0].lower()
                n += 1
        return n

    def add_ticket_fields(self, fields: Iterable[dict]) -> int:
        n = 0
        for f in fields:
            if not isinstance(f, dict) or f.get("id") is None:
                continue
            title = str(f.get("title") or f.get("raw_title") or "").strip()
            self.field_titles[str(f["id"])] = title
            canonical = TITLE_FIELDS.get(re.sub(r"[\s-]+", "_", title.lower()))
            if canonical:
                self.field_names[str(f["id"])] = canonical
            n += 1
        return n


# Distinct unused keys counted by name per file; beyond, they are counted together (a ticket
# with a million custom fields must not make a million counters).
MAX_UNUSED_KEYS = 1_000
OTHER_KEYS = "(other keys)"


@dataclass
class FlattenStats:
    """Counts the batch report shows: keys nobody used, roles inferred, event types kept raw,
    and what the readers cut at a size limit (``bounds``: ``cut_values`` {what: records})."""

    unused_fields: Counter = field(default_factory=Counter)
    roles_inferred: int = 0
    other_event_types: Counter = field(default_factory=Counter)
    field_changes: Counter = field(default_factory=Counter)
    cut_values: Counter = field(default_factory=Counter)
    # Arrays Zendesk writes (comments, audits, custom_fields, an audit's events…) that held
    # something else: read as empty, counted ({key: records}, batch notes ``coerced_to_null``).
    wrong_types: Counter = field(default_factory=Counter)

    def items(self, owner: dict, key: str, label: str | None = None) -> list:
        """``owner[key]`` when it is an array; else ``[]``, counted under ``label`` (default
        ``key``) when it held anything."""
        value = owner.get(key)
        if isinstance(value, list):
            return value
        if value not in (None, "", {}, False):
            self.wrong_types[label or key] += 1
        return []

    def note_unused(self, key: str) -> None:
        """Count one record's unused ``key`` (under ``OTHER_KEYS`` past ``MAX_UNUSED_KEYS``
        distinct keys)."""
        if key not in self.unused_fields and len(self.unused_fields) >= MAX_UNUSED_KEYS:
            key = OTHER_KEYS
        self.unused_fields[key] += 1


def html_to_text(value: str) -> str:
    """Plain text of a Zendesk ``html_body``: block ends become newlines, entities decoded."""
    return html.unescape(_TAG.sub("", _BREAK.sub("\n", value))).strip()


def comment_text(comment: dict) -> str | None:
    """``body``, else ``plain_body``, else ``html_body`` as text (rich-text comments)."""
    for key in ("body", "plain_body"):
        if isinstance(comment.get(key), str) and comment[key].strip():
            return comment[key]
    if isinstance(comment.get("html_body"), str):
        return html_to_text(comment["html_body"])
    return comment.get("body")


def pick(doc: dict, path: str) -> Any:
    """``doc["a"]["b"]`` for path ``a.b``; None when any step is missing or not an object."""
    if "." not in path:
        return doc.get(path)
    value: Any = doc
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def author_role(
    author_id: Any, requester_id: Any, channel: Any, lookups: Lookups, stats: FlattenStats
) -> str | None:
    """Role of a comment's or audit's author (rules in the module docstring); None when only
    the author id is known, so the loader compares its key with the ticket's customer key."""
    if author_id is not None and requester_id is not None and str(author_id) == str(requester_id):
        return "customer"
    if str(channel or "").startswith("answer_bot"):
        return "bot"
    role = lookups.user_roles.get(str(author_id)) if author_id is not None else None
    if role == "end-user":
        return "customer"
    if role in ("agent", "admin"):
        return "agent"
    if str(author_id) == str(SYSTEM_USER_ID) or channel in SYSTEM_CHANNELS:
        return "system"
    if channel == "api":
        return "bot"
    if author_id is None:
        return "system"
    stats.roles_inferred += 1
    return None  # resolved in SQL: the ticket's customer, else an agent (validate.EVENT_ROLE)


def _comment_event(
    c: dict, created_at: Any, requester: Any, lookups: Lookups, stats: FlattenStats
) -> dict:
    channel = pick(c, "via.channel")
    return {
        "id": f"c{c.get('id')}",
        "created_at": c.get("created_at") or created_at,
        "kind": "comment",
        "author_role": c.get("author_role")
        or author_role(c.get("author_id"), requester, channel, lookups, stats),
        "public": c.get("public"),
        "body": comment_text(c),
        "author_id": c.get("author_id"),
    }


def audit_events(audit: dict, requester: Any, lookups: Lookups, stats: FlattenStats) -> list[dict]:
    """Canonical events of one audit (rules in the module docstring)."""
    created = audit.get("created_at")
    channel = pick(audit, "via.channel")
    role = author_role(audit.get("author_id"), requester, channel, lookups, stats)
    bot_audit = str(channel or "").startswith("answer_bot")
    out = []
    events = stats.items(audit, "events", "audits.events")
    for i, event in enumerate(events):
        if not isinstance(event, dict):
            continue
        etype = str(event.get("type") or event.get("event_type") or "")
        if etype in ("Comment", "VoiceComment"):
            if not _is_id(event.get("author_id")):  # Zendesk ids are integers: the audit's
                event = {**event, "author_id": audit.get("author_id")}
            if "via" not in event and channel:  # a comment arrives through its audit's channel
                event = {**event, "via": {"channel": channel}}
            out.append(_comment_event(event, created, requester, lookups, stats))
            continue
        own_channel = pick(event, "via.channel")
        # Notifications are sent by triggers and automations, whoever's audit holds them.
        event_role = "system" if own_channel in SYSTEM_CHANNELS or etype in SENT_BY_SYSTEM else role
        base = {
            "id": f"a{audit.get('id')}.{event.get('id', i)}",
            "created_at": created,
            "author_role": event_role,
            "author_id": audit.get("author_id"),
            "public": False,
        }
        name = event.get("field_name")
        if etype in ("Create", "Change") and name:
            change = _change(str(name), event, stats)
            out.append({**base, **change})
        elif etype == "SatisfactionRating":
            out.append({**base, "kind": "csat", "detail": {"score": event.get("score")}})
        else:
            stats.other_event_types[etype or "(no type)"] += 1
            out.append({**base, "kind": "other", "detail": {"type": etype or None}})
    if bot_audit:
        solved = any(
            e.get("field_name") == "status" and e.get("value") in CLOSED
            for e in events
            if isinstance(e, dict)
        )
        out.append(
            {
                "id": f"a{audit.get('id')}.self_service",
                "created_at": created,
                "author_role": "bot",
                "public": True,
                "kind": "self_service",
                "detail": {"outcome": "resolved" if solved else "not_resolved", "channel": channel},
            }
        )
    return out


def _change(name: str, event: dict, stats: FlattenStats) -> dict:
    new, old = event.get("value"), event.get("previous_value")
    if name == "status":
        kind = "reopen" if old in CLOSED and new not in CLOSED else "status"
        return {"kind": kind, "detail": {"value": new, "previous_value": old}}
    if name == "assignee_id":
        return {"kind": "assign", "detail": {"assignee_id": new}}
    if name == "tags" and isinstance(new, list):
        before = {t for t in old if isinstance(t, str)} if isinstance(old, list) else set()
        gained = {t for t in new if isinstance(t, str)} - before
        if gained & ESCALATION_TAGS:
            return {"kind": "escalate", "detail": {"tags_added": sorted(gained)}}
    stats.field_changes[name] += 1
    return {"kind": "field_change", "detail": {"field": name, "from": old, "to": new}}


def flatten_ticket(
    ticket: dict,
    lookups: Lookups,
    stats: FlattenStats,
    columns: dict[str, str] | None = None,
    custom_fields: dict[str, str] | None = None,
) -> dict:
    """One Zendesk ticket → canonical fields plus ``events`` (comments and audit events).

    ``columns`` (the mapping's canonical field → Zendesk key or dotted path) override the
    defaults; ``custom_fields`` (id → canonical field) override ``ticket_fields`` titles.
    """
    paths = {**TICKET_PATHS, **(columns or {})}
    flat = {f: pick(ticket, p) for f, p in paths.items()}
    comments = stats.items(ticket, "comments")
    if not flat.get("body"):
        first = next(iter(comments), None)
        if isinstance(first, dict):
            flat["body"] = comment_text(first)
    rating = ticket.get("satisfaction_rating")
    if rating is not None and not isinstance(rating, dict):
        flat["csat"] = rating
    names = {**lookups.field_names, **{str(k): v for k, v in (custom_fields or {}).items()}}
    for cf in stats.items(ticket, "custom_fields"):
        if not isinstance(cf, dict):
            continue
        target = names.get(str(cf.get("id")))
        if target and target not in (columns or {}) and flat.get(target) is None:
            flat[target] = cf.get("value")
        elif cf.get("value") not in (None, "", [], False):
            stats.note_unused(f"custom_fields.{cf.get('id')}")
    used = {p.split(".")[0] for p in paths.values()} | READ_KEYS | REPEATS
    for key, value in ticket.items():
        if key not in used and value not in (None, "", [], {}, False):
            stats.note_unused(key)
    requester = ticket.get("requester_id")
    if flat.get("language") is None and requester is not None:  # the requester's locale
        flat["language"] = lookups.user_languages.get(str(requester))
    events = [
        _comment_event(c, None, requester, lookups, stats) for c in comments if isinstance(c, dict)
    ]
    for audit in stats.items(ticket, "audits"):
        if isinstance(audit, dict):
            events.extend(audit_events(audit, requester, lookups, stats))
    if ticket.get("status") == "deleted":
        flat["deleted"] = True
    flat["events"] = _dedupe(events)
    return flat


def _as_list(value: Any) -> list:
    """``value`` when it is an array, else empty (a wrong type in an optional key)."""
    return value if isinstance(value, list) else []


def _is_id(value: Any) -> bool:
    """A Zendesk user id: an integer, or its text."""
    return isinstance(value, int) or (isinstance(value, str) and value.lstrip("-").isdigit())


def _dedupe(events: list[dict]) -> list[dict]:
    """A comment embedded and repeated in an audit's Comment event is one event."""
    seen, out = set(), []
    for e in events:
        if e["id"] in seen:
            continue
        seen.add(e["id"])
        out.append(e)
    return out


def comment_event(comment: dict, lookups: Lookups, stats: FlattenStats) -> dict:
    """One comment exported apart from its ticket (its requester is not known here)."""
    return _comment_event(comment, None, None, lookups, stats)


def ticket_event_records(item: dict, lookups: Lookups, stats: FlattenStats) -> tuple[Any, list]:
    """One Incremental Ticket Event Export item → (ticket id, canonical events).

    The item is an audit in all but name: ``updater_id`` is its author, ``child_events`` its
    events (``event_type`` instead of ``type``).
    """
    audit = {
        "id": item.get("id"),
        "created_at": item.get("created_at") or item.get("timestamp"),
        "author_id": item.get("updater_id"),
        "via": item.get("via")
        if isinstance(item.get("via"), dict)
        else {"channel": item.get("via")},
        "events": [
            _child_event(c) for c in stats.items(item, "child_events") if isinstance(c, dict)
        ],
    }
    return item.get("ticket_id"), audit_events(audit, None, lookups, stats)


# Keys of a ticket-event child that are not the changed field itself.
CHILD_META = {
    "id", "via", "via_reference_id", "event_type", "type", "previous_value", "added_tags",
    "removed_tags", "field_name", "value", "public", "author_id", "body", "html_body",
    "plain_body", "attachments", "audit_id", "metadata", "comment_present", "comment_public",
    "recipients", "subject", "score", "created_at", "timestamp",
}  # fmt: skip


def _child_event(child: dict) -> dict:
    """A ticket-event child in audit-event form. The export writes a change with the field as
    its key (``{"status": "solved", "previous_value": "open", "event_type": "Change"}``) and tag
    changes with ``added_tags``/``removed_tags``; audits write ``field_name``/``value``."""
    event = {**child, "type": child.get("event_type") or child.get("type")}
    if event["type"] in ("Create", "Change") and "field_name" not in child:
        if "tags" in child or "added_tags" in child or "removed_tags" in child:
            added = _as_list(child.get("added_tags"))
            removed = _as_list(child.get("removed_tags"))
            now = child.get("tags")
            if isinstance(now, list):
                before = [t for t in now if t not in added] + removed
            else:
                now, before = added, removed
            event |= {"field_name": "tags", "value": now, "previous_value": before}
        else:
            field = next((k for k in child if k not in CHILD_META), None)
            if field is not None:
                event |= {"field_name": field, "value": child[field]}
    if event["type"] == "Comment" and "public" not in child and "comment_public" in child:
        event["public"] = child["comment_public"]
    return event
