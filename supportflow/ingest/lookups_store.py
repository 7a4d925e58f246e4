"""What a Zendesk export's users and ticket_fields files tell, kept for later runs.

Daily file drops rarely repeat the users and ticket_fields files. Kept in
``landing.source_lookups``: custom field id → canonical field (``ticket_field``; not personal
data) and user → role (``user_role``) keyed by the same salted hash as ``author_key`` — never
the user id, name or e-mail.
"""

from __future__ import annotations

import hashlib

import duckdb
import pyarrow as pa

from supportflow.ingest.zendesk import Lookups


def user_key(salt: bytes, user_id: object) -> str:
    """The salted key of a user id: the same value as SQL ``sf_pseudo`` (validate.py)."""
    return hashlib.sha256(salt + str(user_id).strip().encode()).hexdigest()[:24]


def save(con: duckdb.DuckDBPyConnection, lookups: Lookups, salt: bytes, source: str) -> int:
    """Upsert the run's lookups; returns how many rows were written."""
    rows = [("ticket_field", str(k), v) for k, v in lookups.field_names.items()]
    rows += [("user_role", user_key(salt, k), v) for k, v in lookups.user_roles.items()]
    if not rows:
        return 0
    table = pa.table(
        {
            "source": [source] * len(rows),
            "kind": [r[0] for r in rows],
            "key": [r[1] for r in rows],
            "value": [r[2] for r in rows],
        }
    )
    con.register("sf_lookups_in", table)
    try:
        con.execute("""INSERT OR REPLACE INTO landing.source_lookups
                       SELECT source, kind, key, value FROM sf_lookups_in""")
    finally:
        con.unregister("sf_lookups_in")
    return len(rows)


def load_fields(con: duckdb.DuckDBPyConnection, lookups: Lookups, source: str) -> int:
    """Add stored custom-field names the run's own ticket_fields file did not give."""
    rows = con.execute(
        "SELECT key, value FROM landing.source_lookups WHERE source = ? AND kind = 'ticket_field'",
        [source],
    ).fetchall()
    added = 0
    for key, value in rows:
        if key not in lookups.field_names:
            lookups.field_names[key] = value
            added += 1
    return added
