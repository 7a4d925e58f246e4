"""Zendesk-API-shaped tickets rebuilt from a synced schema: one query per table, streamed side by
side in ticket order and merged per ticket (comments, field history or audits, roles).

One class with the SQL per table and the Python that merges those rows per ticket: they change
together whenever a connector's columns do, which keeps this module at ~370 lines.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import duckdb

from supportflow.ingest.flavours import Flavour
from supportflow.ingest.synced_schema import (
    AIRBYTE_PREFIXES,
    CORE_TICKET_KEYS,
    FIVETRAN_TICKET_COLUMNS,
    INTERNAL_PREFIXES,
    NESTED_KEYS,
    _bool,
    _first_line,
    _nested,
    _tag_list,
)
from supportflow.ingest.synced_tables import SyncedSchemaError, SyncedTables
from supportflow.ingest.zendesk import Lookups

ROWS_PER_READ = 10_000


class _Grouped:
    """Rows ordered by ``__key`` (NULLs last), handed out per key; rows of keys never asked for
    (no such ticket) are counted as ``orphans``."""

    def __init__(self, reader, on_error: Callable[[Exception], Exception]):
        self._rows = self._iter(reader)
        self._on_error = on_error
        self.orphans = 0
        self._head = self._next()

    @staticmethod
    def _iter(reader) -> Iterator[dict]:
        for batch in reader:
            yield from batch.to_pylist()

    def _next(self) -> dict | None:
        try:
            return next(self._rows, None)
        except duckdb.Error as exc:
            raise self._on_error(exc) from None

    def __iter__(self) -> Iterator[dict]:
        """Every row in order (for the ticket stream, which is not grouped)."""
        while self._head is not None:
            row, self._head = self._head, self._next()
            yield row

    def take(self, key: int) -> list[dict]:
        out = []
        while self._head is not None:
            head_key = self._head["__key"]
            if head_key is None or head_key > key:
                break
            if head_key < key:
                self.orphans += 1
            else:
                out.append(self._head)
            self._head = self._next()
        return out

    def drain(self) -> int:
        while self._head is not None:
            self.orphans += 1
            self._head = self._next()
        return self.orphans


class SyncedSource(SyncedTables):
    """A synced Zendesk schema opened for reading (arguments and errors: ``SyncedTables``);
    ``records()`` yields each ticket rebuilt in the Zendesk API's shape with its authors' roles.
    """

    def _roles_sql(self) -> str:
        if "users" not in self.tables:
            return "(SELECT NULL::BIGINT AS k, NULL::VARCHAR AS role WHERE false)"
        return f"""(SELECT TRY_CAST(u.id AS BIGINT) AS k,
                           arg_max(CAST(u.role AS VARCHAR), {self._latest("users", "u")}) AS role
                    FROM sf_users u WHERE u.id IS NOT NULL GROUP BY ALL)"""

    def _tickets_sql(self) -> str:
        latest = self._latest("tickets", "t")
        joins, extra = [], []
        if "tags" in self.tables:
            tag = self._col("tags", "g", "tag", "tags")
            joins.append(f"""LEFT JOIN (
                SELECT TRY_CAST(g.ticket_id AS BIGINT) AS k,
                       list_sort(list_distinct(list(CAST({tag} AS VARCHAR)))) AS tags
                FROM sf_tags g WHERE {tag} IS NOT NULL AND NOT {self._deleted("tags", "g")}
                GROUP BY ALL) tg ON tg.k = t.__key""")
            extra.append("tg.tags AS __tags")
        csat = []
        if "ratings" in self.tables:
            joins.append(f"""LEFT JOIN (
                SELECT TRY_CAST(r.ticket_id AS BIGINT) AS k,
                       arg_max(CAST(r.score AS VARCHAR), {self._latest("ratings", "r")}) AS score
                FROM sf_ratings r WHERE NOT {self._deleted("ratings", "r")}
                GROUP BY ALL) sr ON sr.k = t.__key""")
            csat.append("sr.score")
        if "history" in self.tables:
            joins.append("""LEFT JOIN (
                SELECT TRY_CAST(h.ticket_id AS BIGINT) AS k,
                       arg_max(CAST(h.value AS VARCHAR),
                               coalesce(TRY_CAST(h.updated AS TIMESTAMPTZ),
                                        TIMESTAMPTZ '1970-01-01')) AS score
                FROM sf_history h WHERE h.field_name = 'satisfaction_score'
                GROUP BY ALL) sh ON sh.k = t.__key""")
            csat.append("sh.score")
        if csat:
            extra.append(f"coalesce({', '.join(csat)}) AS __csat")
        extra_sql = "".join(f", {e}" for e in extra)
        return f"""
            WITH t AS (
                SELECT *, TRY_CAST(t.id AS BIGINT) AS __key,
                       {self._deleted("tickets", "t")} AS __deleted
                FROM sf_tickets t
                QUALIFY t.id IS NULL OR row_number() OVER (
                    PARTITION BY CAST(t.id AS VARCHAR) ORDER BY {latest} DESC) = 1
            )
            SELECT t.*{extra_sql} FROM t {" ".join(joins)}
            ORDER BY t.__key NULLS LAST, CAST(t.id AS VARCHAR)
        """

    def _comments_sql(self) -> str:
        c = "comments"
        author = self._col(c, "c", "user_id", "author_id")
        created = self._col(c, "c", "created", "created_at")
        keep = [
            f"{self._col(c, 'c', name)} AS {name}"
            for name in ("body", "plain_body", "html_body", "public", "via")
            if self._has(c, name)
        ]
        raw = ", c.__raw" if c in self.blob else ""
        return f"""
            SELECT TRY_CAST(c.ticket_id AS BIGINT) AS __key, c.id, {author} AS author_id,
                   {created} AS created_at{"".join(", " + k for k in keep)}{raw},
                   {self._deleted(c, "c")} AS __deleted, r.role AS __role
            FROM sf_comments c LEFT JOIN {self._roles_sql()} r
                 ON r.k = TRY_CAST({author} AS BIGINT)
            ORDER BY __key NULLS LAST, TRY_CAST({created} AS TIMESTAMPTZ) NULLS LAST,
                     TRY_CAST(c.id AS BIGINT), CAST(c.id AS VARCHAR)
        """

    def _history_sql(self) -> str:
        user = self._col("history", "h", "user_id")
        ts = "TRY_CAST(h.updated AS TIMESTAMPTZ)"
        return f"""
            SELECT TRY_CAST(h.ticket_id AS BIGINT) AS __key, h.field_name, h.value, h.updated,
                   {user} AS user_id, epoch_ms({ts}) AS __ms, r.role AS __role,
                   lag(h.value) OVER (PARTITION BY TRY_CAST(h.ticket_id AS BIGINT), h.field_name
                                      ORDER BY {ts}, h.value) AS __previous
            FROM sf_history h LEFT JOIN {self._roles_sql()} r ON r.k = TRY_CAST({user} AS BIGINT)
            WHERE NOT {self._deleted("history", "h")}
            ORDER BY __key NULLS LAST, {ts} NULLS LAST, CAST({user} AS VARCHAR), h.field_name,
                     h.value
        """

    def _audits_sql(self) -> str:
        a = "audits"
        author = self._col(a, "a", "author_id")
        keep = [f"a.{name}" for name in ("via", "events") if self._has(a, name)]
        raw = ", a.__raw" if a in self.blob else ""
        return f"""
            SELECT TRY_CAST(a.ticket_id AS BIGINT) AS __key, a.id,
                   {self._col(a, "a", "created_at")} AS created_at, {author} AS author_id
                   {"".join(", " + k for k in keep)}{raw}, r.role AS __role
            FROM sf_audits a LEFT JOIN {self._roles_sql()} r ON r.k = TRY_CAST({author} AS BIGINT)
            ORDER BY __key NULLS LAST, TRY_CAST(a.created_at AS TIMESTAMPTZ) NULLS LAST,
                     TRY_CAST(a.id AS BIGINT), CAST(a.id AS VARCHAR)
        """

    # ── reading ──────────────────────────────────────────────────────────────────────────────

    def field_lookups(self) -> Lookups:
        """Custom ticket field titles: Fivetran's custom columns, Airbyte's ``ticket_fields``."""
        lookups = Lookups()
        if self.flavour == Flavour.fivetran:
            lookups.add_ticket_fields(
                {"id": c, "title": c.removeprefix("custom_")} for c in self._custom_columns()
            )
        elif "fields" in self.tables:
            rows = self._read("fields", "SELECT * FROM sf_fields").read_all().to_pylist()
            lookups.add_ticket_fields(self._record(r, "fields") for r in rows)
        return lookups

    def _custom_columns(self) -> list[str]:
        return [
            c
            for c in self.columns["tickets"]
            if c not in FIVETRAN_TICKET_COLUMNS and not c.startswith(INTERNAL_PREFIXES)
        ]

    def _read(self, logical: str, sql: str):
        """A streaming Arrow reader over ``sql`` on its own cursor (streams run side by side)."""
        try:
            return self.con.cursor().sql(sql).to_arrow_reader(ROWS_PER_READ)
        except duckdb.Error as exc:
            raise self._error(logical)(exc) from None

    def _error(self, logical: str) -> Callable[[Exception], Exception]:
        name = self.tables.get(logical, logical)
        return lambda exc: SyncedSchemaError(
            f"cannot read the {name} table in {self.path}: {_first_line(exc)}"
        )

    def _record(self, row: dict, logical: str) -> dict:
        """A row as the Zendesk object: the JSON record itself for ``_airbyte_data`` tables."""
        if logical in self.blob and row.get("__raw"):
            parsed = _nested(row["__raw"])
            if isinstance(parsed, dict):
                return parsed
        return {k: v for k, v in row.items() if not k.startswith("__")}

    def records(self) -> Iterator[tuple[dict, dict[str, str]]]:
        """(Zendesk ticket dict, {author id: role}) per ticket, ordered by ticket id.

        The ticket dict has the Zendesk API keys (id, created_at, updated_at, subject,
        description, status, priority, requester_id, assignee_id, tags, via.channel,
        satisfaction_rating.score, custom_fields where the sync has them), ``comments``
        ([{id, author_id, body, public, created_at}]) and ``audits`` ([{id, created_at,
        author_id, events: [{type, field_name, value, previous_value}]}]). The roles are those
        of the comment and change authors the ``user`` table knows. Raises
        ``SyncedSchemaError`` when a table cannot be read part-way.
        """
        count = self.con.execute("""
            SELECT count(*), count(DISTINCT CAST(id AS VARCHAR)), count(*) FILTER (id IS NULL)
            FROM sf_tickets""").fetchone()
        self.stats.older_ticket_copies_skipped = count[0] - count[1] - count[2]
        custom = self._custom_columns() if self.flavour == Flavour.fivetran else []
        comments = self._stream("comments", self._comments_sql)
        changes = (
            self._stream("history", self._history_sql)
            if self.flavour == Flavour.fivetran
            else self._stream("audits", self._audits_sql)
        )
        tickets = _Grouped(self._read("tickets", self._tickets_sql()), self._error("tickets"))
        for row in tickets:
            key, roles = row["__key"], {}
            ticket = self._ticket(row, custom)
            own = comments.take(key) if comments and key is not None else []
            ticket["comments"] = self._comments(own, roles)
            rows = changes.take(key) if changes and key is not None else []
            if self.flavour == Flavour.fivetran:
                ticket["audits"] = self._history_audits(rows, roles)
            else:
                ticket["audits"] = self._audits(rows, roles)
            self.stats.tickets += 1
            yield ticket, roles
        self.stats.comments_without_ticket = comments.drain() if comments else 0
        self.stats.changes_without_ticket = changes.drain() if changes else 0

    def tickets(self) -> Iterator[dict]:
        """The Zendesk ticket dicts of :meth:`records` without the roles."""
        for ticket, _ in self.records():
            yield ticket

    def _stream(self, logical: str, sql: Callable[[], str]) -> _Grouped | None:
        if logical not in self.tables:
            return None
        return _Grouped(self._read(logical, sql()), self._error(logical))

    def _ticket(self, row: dict, custom: list[str]) -> dict:
        if self.flavour == Flavour.airbyte:
            record = self._record(row, "tickets")
            ticket = {
                k: _nested(v) if k in NESTED_KEYS else v
                for k, v in record.items()
                if not k.startswith(AIRBYTE_PREFIXES)
            }
        else:
            ticket = {k: row.get(k) for k in CORE_TICKET_KEYS}
            ticket["tags"] = row.get("__tags") or []
            if row.get("via_channel") is not None:
                ticket["via"] = {"channel": row["via_channel"]}
            if row.get("__csat") is not None:
                ticket["satisfaction_rating"] = {"score": row["__csat"]}
            if custom:
                ticket["custom_fields"] = [{"id": c, "value": row.get(c)} for c in custom]
            for k, v in row.items():
                if k in FIVETRAN_TICKET_COLUMNS and k not in ticket and k != "via_channel":
                    ticket[k] = v
        if row.get("__deleted"):
            ticket["status"] = "deleted"
        return ticket

    def _comments(self, rows: list[dict], roles: dict[str, str]) -> list[dict]:
        out = []
        for row in rows:
            if row.get("__deleted"):
                self.stats.deleted_comments_skipped += 1
                continue
            record = self._record(row, "comments")
            comment = {
                "id": record.get("id"),
                "author_id": record.get("author_id", row.get("author_id")),
                "body": record.get("body"),
                "public": _bool(record.get("public")),
                "created_at": record.get("created_at", row.get("created_at")),
            }
            for key in ("plain_body", "html_body"):
                if record.get(key) is not None:
                    comment[key] = record[key]
            if record.get("via") is not None:
                comment["via"] = _nested(record["via"])
            self._role(roles, comment["author_id"], row)
            self.stats.comments += 1
            out.append(comment)
        return out

    def _history_audits(self, rows: list[dict], roles: dict[str, str]) -> list[dict]:
        """Field-history rows → audits: one per (time, user), a Change event per field."""
        audits: list[dict] = []
        for row in rows:
            stamp = row["__ms"] if row["__ms"] is not None else row["updated"]
            audit_id = f"h{stamp}.{row['user_id']}"
            if not audits or audits[-1]["id"] != audit_id:
                audits.append(
                    {
                        "id": audit_id,
                        "created_at": row["updated"],
                        "author_id": row["user_id"],
                        "events": [],
                    }
                )
            name = row["field_name"]
            value, previous = row["value"], row["__previous"]
            if name == "tags":
                value, previous = _tag_list(value), _tag_list(previous)
            events = audits[-1]["events"]
            taken = sum(1 for e in events if e["field_name"] == name)
            events.append(
                {
                    "id": name if not taken else f"{name}.{taken + 1}",
                    "type": "Change",
                    "field_name": name,
                    "value": value,
                    "previous_value": previous,
                }
            )
            self._role(roles, row["user_id"], row)
            self.stats.changes += 1
        return audits

    def _audits(self, rows: list[dict], roles: dict[str, str]) -> list[dict]:
        out = []
        for row in rows:
            record = self._record(row, "audits")
            audit = {
                "id": record.get("id"),
                "created_at": record.get("created_at"),
                "author_id": record.get("author_id"),
                "via": _nested(record.get("via")),
                "events": _nested(record.get("events")) or [],
            }
            self._role(roles, audit["author_id"], row)
            self.stats.changes += 1
            out.append(audit)
        return out

    @staticmethod
    def _role(roles: dict[str, str], author: Any, row: dict) -> None:
        if author is not None and row.get("__role"):
            roles[str(author)] = str(row["__role"])
