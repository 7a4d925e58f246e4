"""The landing ticket schema, declared once: each ``landing.tickets`` column, its DuckDB type,
whether it is required (NOT NULL), and the canonical (mapping) field it is read from.

What derives from it:
- ``mapping.CANONICAL_FIELDS``: the canonical fields a source mapping can name (in order);
- ``validate``: the text fields it type-checks and the landing columns ``staging.CHECKED`` holds;
- ``load``: the column lists of the landing INSERT and of the content hash.
``tests/unit/test_warehouse.py`` pins this declaration to the migrated ``landing.tickets`` table.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LandingColumn:
    """One ``landing.tickets`` column. ``canonical``: the mapping field it is read from (None:
    set by the loader or derived from several fields); ``loaded``: False for the bookkeeping
    columns the merge computes (hash, batch); ``free_text``: a value as the source wrote it, so
    it may hold personal data and is redacted before it is stored (ids and keys are hashed or
    masked instead; booleans, numbers and times cannot hold it)."""

    name: str
    type: str
    required: bool = False
    canonical: str | None = None
    loaded: bool = True
    free_text: bool = False


# In the order the loader writes them and the content hash reads them (the migrated table's
# physical order differs: migration 7 appended csat_raw…clock_skew after batch_id).
TICKET_COLUMNS: tuple[LandingColumn, ...] = (
    LandingColumn("ticket_id", "VARCHAR", required=True, canonical="id"),
    LandingColumn("source", "VARCHAR", required=True),
    LandingColumn("external_id", "VARCHAR", required=True, canonical="id"),
    LandingColumn("created_at", "TIMESTAMP WITH TIME ZONE", required=True, canonical="created_at"),
    LandingColumn("updated_at", "TIMESTAMP WITH TIME ZONE", required=True, canonical="updated_at"),
    LandingColumn("channel", "VARCHAR", canonical="channel", free_text=True),
    LandingColumn("customer_key", "VARCHAR", canonical="customer_id"),
    LandingColumn("customer_tier", "VARCHAR", canonical="customer_tier", free_text=True),
    LandingColumn("language", "VARCHAR", canonical="language", free_text=True),
    LandingColumn("subject", "VARCHAR", canonical="subject", free_text=True),
    LandingColumn("body", "VARCHAR", canonical="body", free_text=True),
    LandingColumn("status", "VARCHAR", canonical="status", free_text=True),
    LandingColumn("priority", "VARCHAR", canonical="priority", free_text=True),
    LandingColumn("category", "VARCHAR", canonical="category", free_text=True),
    LandingColumn("queue", "VARCHAR", canonical="queue", free_text=True),
    LandingColumn("sentiment", "VARCHAR", canonical="sentiment", free_text=True),
    LandingColumn("tags", "VARCHAR[]", canonical="tags", free_text=True),
    LandingColumn("assignee_key", "VARCHAR", canonical="assignee_id"),
    LandingColumn("csat", "INTEGER", canonical="csat"),
    LandingColumn("csat_raw", "VARCHAR", canonical="csat", free_text=True),
    LandingColumn("csat_good", "BOOLEAN", canonical="csat"),
    LandingColumn("is_deleted", "BOOLEAN"),
    LandingColumn("clock_skew", "BOOLEAN"),
    LandingColumn("content_hash", "VARCHAR", required=True, loaded=False),
    LandingColumn("batch_id", "VARCHAR", required=True, loaded=False),
)

# The columns a loaded ticket carries (validation produces them, the merge inserts them).
LANDING_COLUMNS: tuple[str, ...] = tuple(c.name for c in TICKET_COLUMNS if c.loaded)
# content_hash covers every loaded column but source (the same ticket from another source).
HASHED: tuple[str, ...] = tuple(c for c in LANDING_COLUMNS if c != "source")
# The columns redacted before they are stored (``merge.classify``): every free-text value.
FREE_TEXT: tuple[str, ...] = tuple(c.name for c in TICKET_COLUMNS if c.free_text)
# The canonical fields a mapping can name, in order of their first landing column.
CANONICAL_FIELDS: tuple[str, ...] = tuple(
    dict.fromkeys(c.canonical for c in TICKET_COLUMNS if c.canonical)
)
# Canonical fields read as text: those whose first landing column is VARCHAR (the others —
# timestamps, tags, CSAT — have their own checks).
TEXT_FIELDS: tuple[str, ...] = tuple(
    f
    for f in CANONICAL_FIELDS
    if next(c.type for c in TICKET_COLUMNS if c.canonical == f) == "VARCHAR"
)
