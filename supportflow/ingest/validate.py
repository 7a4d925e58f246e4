"""Validate and normalise staged records in vectorised SQL, with a readable reason per rejection.

Readers hand over each record as JSON text (``staging.RAW``); this module turns the whole file
into ``staging.CHECKED`` (every record on landing columns, with its reason or NULL), ``EVENTS``
(``validate_events``), ``NOTES`` and ``QUARANTINE`` in a few DuckDB statements. Per-record Python manages ~10k records/s on this machine; DuckDB does the same work
several times faster on two cores, which is what the ingest throughput target needs.

Only what cannot be loaded is quarantined (first failing rule is the reason): a record that
is not a JSON object; no ``id`` (or over 200 chars); no ``created_at`` or one that is not an
ISO-8601 timestamp, epoch seconds or the mapping's ``datetime_format`` within 1990–2100 (naive
times use the mapping's time zone); neither subject nor body; a subject or body over
``max_body_chars`` (rejected, never truncated).
A bad optional field becomes NULL and is counted per field (``staging.NOTES``): text fields of the
wrong JSON type, an unreadable ``updated_at`` (then ``created_at``), a ``status``/``priority``
outside the vocabulary (the raw value is counted), tags that are not strings, CSAT words or
numbers outside the stated rule (``CSAT_GOOD``). ``updated_at`` before ``created_at`` (clock skew,
seen in real exports) is loaded and flagged. Tags past ``bounds.MAX_TAGS`` (1,000) are cut and
counted (``cut_to_limit``). A quarantined record whose reader kept only its start (over
``bounds.KEEP_CHARS``) says so in its reason. An event that cannot be read is skipped and counted;
an unknown event kind or author role never rejects its ticket: the kind is kept as ``other``
with the raw value in its detail.
Identifiers (customer, assignee, ``*_id`` keys in event details) are replaced by salted hashes.
Events are checked in ``validate_events``; the vocabularies live in ``vocabulary``.

A little over 300 lines: the ticket checks are one SQL pass whose parts read best side by side.
"""

from __future__ import annotations

import duckdb

# Fields that must be text (numbers are accepted as their text): TEXT_FIELDS; the others
# have their own checks.
from supportflow.ingest.bounds import EXTRA_KEYS, MAX_ID_CHARS, MAX_TAGS
from supportflow.ingest.landing_schema import CANONICAL_FIELDS, LANDING_COLUMNS, TEXT_FIELDS
from supportflow.ingest.mapping import Mapping
from supportflow.ingest.staging import CHECKED, NOTES, QUARANTINE, RAW, quarantine_reason_sql
from supportflow.ingest.validate_events import EVENT_CHUNK_RECORDS, validate_events
from supportflow.ingest.vocabulary import (  # the vocabularies stay importable from here
    AUTHOR_ROLES,
    BAD_TEXT_TYPES,
    CHANNELS,
    CSAT_BAD_WORDS,
    CSAT_GOOD,
    CSAT_GOOD_WORDS,
    CSAT_NO_RATING,
    EVENT_KINDS,
    NUMBER_TYPES,
    PRIORITIES,
    PRIORITY_SYNONYMS,
    STATUS_SYNONYMS,
    STATUSES,
    in_range_sql,
    label_sql,
    q,
    sql_in,
    synonyms_sql,
)

__all__ = [
    "AUTHOR_ROLES",
    "CHANNELS",
    "EVENT_KINDS",
    "PRIORITIES",
    "STATUSES",
    "TEXT_FIELDS",
    "install_pseudonymiser",
    "mapping_formats",
    "validate_staged",
]


def install_pseudonymiser(con: duckdb.DuckDBPyConnection, salt: bytes) -> None:
    """``sf_pseudo(v)``: salted SHA-256 prefix of an identifier (temporary, per connection)."""
    con.execute(f"""CREATE OR REPLACE TEMP MACRO sf_pseudo(v) AS
        CASE WHEN v IS NULL OR trim(v) = '' THEN NULL
             ELSE left(sha256({q(salt.decode(errors="replace"))} || trim(v)), 24) END""")


def _fields_sql(mapping: Mapping) -> str:
    """SELECT list naming each field's text ``v[i]`` and JSON type ``t[i]`` (two list parses
    measured faster than one parse plus per-field unwrapping), with mapping defaults applied."""
    picks = []
    for i, f in enumerate((*CANONICAL_FIELDS, *EXTRA_KEYS), start=1):
        value, kind = f"v[{i}]", f"t[{i}]"
        default = mapping.defaults.get(f)
        if f == "id" and mapping.ids == "row_number":
            value, kind = "$file_stem || '-' || record_no", "'VARCHAR'"  # unique per file
        elif default is not None:
            kind = f"CASE WHEN nullif(trim({value}), '') IS NULL THEN 'VARCHAR' ELSE {kind} END"
            value = f"coalesce(nullif(trim({value}), ''), {q(default)})"
        if f in ("tags", "events"):  # arrays come back as JSON text
            picks.append(
                f"CASE WHEN t[{i}] IN ('ARRAY', 'OBJECT') THEN CAST(v[{i}] AS JSON) END AS {f}_json"
            )
        picks.append(f"{value} AS {f}, {kind} AS {f}_type")
    return ", ".join(picks)


def _paths(mapping: Mapping) -> str:
    keys = [mapping.column_for(f) for f in CANONICAL_FIELDS] + list(EXTRA_KEYS)
    return ", ".join(q('$."' + k.replace('"', '\\"') + '"') for k in keys)


def _timestamp(field: str, formats: list[str] | None = None) -> str:
    """SQL: the field as TIMESTAMPTZ (epoch seconds, ISO-8601, or one of ``formats`` —
    strptime codes, read in the session time zone, i.e. the mapping's), else NULL."""
    iso = f"try_cast(trim({field}) AS TIMESTAMPTZ)"
    if formats:
        listed = "[" + ", ".join(q(f) for f in formats) + "]"
        iso = f"coalesce(try_strptime(trim({field}), {listed})::TIMESTAMPTZ, {iso})"
    # Epoch seconds come as JSON numbers, or as digits in CSV cells (Intercom's exports).
    return f"""CASE WHEN {field}_type IN {NUMBER_TYPES}
                      OR regexp_full_match(trim({field}), '[0-9]{{9,10}}(\\.[0-9]+)?')
                    THEN try(to_timestamp(try_cast(trim({field}) AS DOUBLE)))
                    ELSE {iso} END"""


def _is_text(field: str) -> str:
    return f"{field}_type NOT IN {BAD_TEXT_TYPES}"


def _check_sql(max_body_chars: int) -> str:
    """The reason a record cannot be loaded at all (first failing rule), or NULL."""
    reasons = [
        "WHEN error IS NOT NULL THEN error",
        "WHEN NOT valid THEN 'malformed JSON'",
        "WHEN doc_type <> 'OBJECT' THEN 'expected a JSON object, got ' || lower(doc_type)",
        "WHEN id_type IN " + BAD_TEXT_TYPES + " THEN 'id: expected text, got ' || lower(id_type)",
        "WHEN id IS NULL OR trim(id) = '' THEN 'id: missing'",
        f"WHEN length(trim(id)) > {MAX_ID_CHARS} THEN 'id: longer than {MAX_ID_CHARS} characters'",
        "WHEN is_events_only THEN NULL",
        "WHEN created_at IS NULL OR trim(created_at) = '' THEN 'created_at: missing'",
        "WHEN created_ts IS NULL THEN 'created_at: ' || sf_quote(left(created_at, 40))::VARCHAR"
        " || ' is not an ISO-8601 timestamp'",
        f"WHEN NOT {in_range_sql('created_ts')} THEN 'created_at: ' || created_at"
        " || ' is outside 1990–2100'",
        "WHEN nullif(trim(subject_text), '') IS NULL AND nullif(trim(body_text), '') IS NULL "
        "THEN 'body: missing (a ticket needs a subject or a body)'",
        *(
            f"WHEN length({f}_text) > {max_body_chars} THEN '{f}: ' || "
            f"format('{{:,}}', length({f}_text)) || ' characters is over the limit of "
            f"{max_body_chars:,}'"
            for f in ("subject", "body")
        ),
    ]
    return f"""CASE {" ".join(reasons)} END"""


def _csat_sql(scale: int) -> tuple[str, str]:
    """(score, good) SQL for the raw CSAT ``csat_label``: words by list, numbers by scale."""
    number = "try_cast(csat_label AS DOUBLE)"
    score = (
        f"CASE WHEN {number} = round({number}) AND {number} BETWEEN 1 AND {scale} "
        f"THEN CAST({number} AS INTEGER) END"
    )
    good = (
        f"CASE WHEN csat_label IN {sql_in(CSAT_GOOD_WORDS)} THEN true "
        f"WHEN csat_label IN {sql_in(CSAT_BAD_WORDS)} THEN false "
        f"WHEN ({score}) IS NOT NULL THEN ({score}) >= {CSAT_GOOD[scale]} END"
    )
    return score, good


def _checked_sql(mapping: Mapping, max_body_chars: int) -> str:
    """One pass over ``RAW``: parse, type, normalise and give each record its reason."""
    formats = mapping_formats(mapping)
    csat_score, csat_good = _csat_sql(mapping.csat_scale)
    texts = ", ".join(f"CASE WHEN {_is_text(f)} THEN {f} END AS {f}_text" for f in TEXT_FIELDS)
    return f"""
        CREATE OR REPLACE TEMP TABLE {CHECKED} AS
        WITH docs AS (
            SELECT record_no, error, coalesce(doc, raw) AS d FROM {RAW}
        ), parsed AS (
            SELECT record_no, error,
                   CASE WHEN error IS NULL THEN try(json_extract_string(d, [{_paths(mapping)}]))
                        END AS v,
                   v IS NOT NULL AS valid,
                   CASE WHEN valid THEN json_type(d, [{_paths(mapping)}]) END AS t,
                   CASE left(ltrim(d), 1) WHEN '{{' THEN 'OBJECT' WHEN '[' THEN 'ARRAY'
                        ELSE 'scalar' END AS doc_type
            FROM docs
        ), fields AS (
            SELECT record_no, error, valid, doc_type, {_fields_sql(mapping)} FROM parsed
        ), typed AS (
            SELECT *, {texts},
                      coalesce(lower(events_only) = 'true', false) AS is_events_only,
                      {tags_sql()} AS tags_all,
                      {_timestamp("created_at", formats)} AS created_ts,
                      CASE WHEN updated_at IS NULL OR trim(updated_at) = '' THEN NULL
                           ELSE {_timestamp("updated_at", formats)} END AS updated_parsed,
                      CASE WHEN {in_range_sql("updated_parsed")} THEN updated_parsed
                           END AS updated_raw_ts,
                      {synonyms_sql("status_text", STATUS_SYNONYMS)} AS status_label,
                      {synonyms_sql("priority_text", PRIORITY_SYNONYMS)} AS priority_label,
                      CASE WHEN csat_type NOT IN {BAD_TEXT_TYPES} THEN
                           regexp_replace(lower(trim(csat)), '[\\s-]+', ' ', 'g') END AS csat_label
            FROM fields
        ), checked AS (
            SELECT *, {_check_sql(max_body_chars)} AS reason FROM typed
        )
        SELECT record_no, reason, events_json, is_events_only AS events_only, events_type,
               {_landing_sql(csat_score, csat_good)},
               -- what was coerced to NULL or is unknown, for the batch report (NOTES)
               status_label, priority_label, csat_label, tags_type, id_type,
               len(tags_all) > {MAX_TAGS} AS tags_cut,
               updated_at IS NOT NULL AND trim(updated_at) <> '' AND updated_raw_ts IS NULL
                   AS updated_at_bad,
               updated_raw_ts IS NULL AS updated_at_missing,  -- then updated_at = created_at
               [f for f in [{", ".join(f"CASE WHEN {f}_type IN {BAD_TEXT_TYPES} THEN '{f}' END" for f in TEXT_FIELDS)}] if f IS NOT NULL]
                   AS wrong_type_fields
        FROM checked
    """


def _landing_sql(csat_score: str, csat_good: str) -> str:
    """The SELECT list of every landing column (``landing_schema``), from the typed fields."""
    exprs = {
        "ticket_id": "$source || ':' || trim(id)",
        "source": "$source",
        "external_id": "trim(id)",
        "created_at": "created_ts",
        "updated_at": "coalesce(updated_raw_ts, created_ts)",
        "channel": label_sql("channel_text"),
        "customer_key": "sf_pseudo(customer_id_text)",
        "customer_tier": label_sql("customer_tier_text"),
        "language": label_sql("language_text"),
        "subject": "nullif(trim(subject_text), '')",
        "body": "nullif(trim(body_text), '')",
        "status": f"CASE WHEN status_label IN {sql_in(STATUSES)} THEN status_label END",
        "priority": f"CASE WHEN priority_label IN {sql_in(PRIORITIES)} THEN priority_label END",
        "category": label_sql("category_text"),
        "queue": label_sql("queue_text"),
        "sentiment": label_sql("sentiment_text"),
        "tags": tags_kept_sql(),
        "assignee_key": "sf_pseudo(assignee_id_text)",
        "csat": csat_score,
        "csat_raw": "nullif(left(csat_label, 40), '')",
        "csat_good": csat_good,
        "is_deleted": "coalesce(status_label = 'deleted' OR lower(deleted) = 'true', false)",
        "clock_skew": "coalesce(updated_raw_ts < created_ts, false)",
    }
    missing = [c for c in LANDING_COLUMNS if c not in exprs]
    if missing or len(exprs) != len(LANDING_COLUMNS):
        raise AssertionError(f"validation and landing_schema disagree: {missing or sorted(exprs)}")
    return ",\n               ".join(f"{exprs[c]} AS {c}" for c in LANDING_COLUMNS)


def mapping_formats(mapping: Mapping) -> list[str] | None:
    """The mapping's ``datetime_format`` as a list of strptime formats (None: ISO/epoch only)."""
    value = getattr(mapping, "datetime_format", None)
    if not value:
        return None
    return [value] if isinstance(value, str) else list(value)


NOTES_SQL = f"""
    CREATE OR REPLACE TEMP TABLE {NOTES} AS
    WITH ok AS (SELECT * FROM {CHECKED} WHERE reason IS NULL AND NOT events_only)
    SELECT 'coerced_to_null' AS note, f AS field, NULL AS value, count(*) AS n
    FROM (SELECT unnest(wrong_type_fields) AS f FROM ok) GROUP BY ALL
    UNION ALL SELECT 'coerced_to_null', 'updated_at', NULL, count(*) FROM ok
        WHERE updated_at_bad HAVING count(*) > 0
    UNION ALL SELECT 'coerced_to_null', 'tags', NULL, count(*) FROM ok
        WHERE tags_type NOT IN ('VARCHAR', 'ARRAY', 'NULL') HAVING count(*) > 0
    UNION ALL SELECT 'unknown_value', 'status', left(status_label, 40), count(*) FROM ok
        WHERE status IS NULL AND status_label IS NOT NULL GROUP BY ALL
    UNION ALL SELECT 'unknown_value', 'priority', left(priority_label, 40), count(*) FROM ok
        WHERE priority IS NULL AND priority_label IS NOT NULL GROUP BY ALL
    UNION ALL SELECT 'unknown_value', 'csat', csat_raw, count(*) FROM ok
        WHERE csat_good IS NULL AND csat_raw NOT IN {sql_in(CSAT_NO_RATING)} GROUP BY ALL
    UNION ALL SELECT 'unknown_value', 'channel', left(channel, 40), count(*) FROM ok
        WHERE channel NOT IN {sql_in(CHANNELS)} GROUP BY ALL
    UNION ALL SELECT 'cut_to_limit', 'tags', NULL, count(*) FROM ok
        WHERE tags_cut HAVING count(*) > 0
    UNION ALL SELECT 'flags', 'updated_before_created', NULL, count(*) FROM ok
        WHERE clock_skew HAVING count(*) > 0
    UNION ALL SELECT 'flags', 'deleted', NULL, count(*) FROM ok
        WHERE is_deleted HAVING count(*) > 0
"""


def tags_sql() -> str:
    """Every tag of a record (``tags_all``): a JSON array's items or a text split on ``,``/``;``,
    lower-cased and trimmed, empty ones dropped. The landing column keeps the first
    ``MAX_TAGS`` of them, duplicates removed (``tags_kept_sql``); a record with more is counted
    under ``cut_to_limit`` ``tags`` (deduplication compares pairs: bounded by the cap)."""
    split = (
        "list_filter(list_transform(string_split(replace(tags, ';', ','), ','), "
        "lambda s: lower(trim(s))), lambda s: s <> '')"
    )
    from_list = (
        "list_filter(list_transform(json_extract_string(tags_json, '$[*]'), "
        "lambda s: lower(trim(s))), lambda s: s <> '')"
    )
    return (
        f"CASE WHEN tags_type = 'ARRAY' THEN {from_list} "
        f"WHEN tags_type = 'VARCHAR' THEN {split} ELSE [] END"
    )


def tags_kept_sql() -> str:
    """The landing ``tags``: the first ``MAX_TAGS`` of ``tags_all``, each once, in order."""
    return f"list_distinct_ordered(list_slice(tags_all, 1, {MAX_TAGS}))"


def validate_staged(
    con: duckdb.DuckDBPyConnection,
    mapping: Mapping,
    *,
    source: str,
    max_body_chars: int,
    file_stem: str = "",
) -> None:
    """``RAW`` → ``CHECKED`` (every record, normalised, with its reason or NULL), ``NOTES``,
    ``EVENTS`` (events of valid tickets) and ``QUARANTINE`` (``staging`` tables)."""
    con.execute("CREATE OR REPLACE TEMP MACRO sf_quote(s) AS chr(39) || s || chr(39)")
    con.execute("""CREATE OR REPLACE TEMP MACRO list_distinct_ordered(l) AS
                   list_filter(l, lambda x, i: list_position(l, x) = i)""")
    con.execute(f"SET TimeZone = {q(mapping.timezone)}")  # how naive timestamps are read
    try:
        params = {"source": source}
        if mapping.ids == "row_number":
            params["file_stem"] = file_stem
        con.execute(_checked_sql(mapping, max_body_chars), params)
        con.execute(NOTES_SQL)
        con.execute(
            f"INSERT INTO {NOTES} SELECT 'coerced_to_null', 'events', NULL, count(*) "
            f"FROM {CHECKED} WHERE reason IS NULL AND events_type NOT IN ('ARRAY', 'NULL') "
            "HAVING count(*) > 0"
        )
        last = con.execute(f"SELECT coalesce(max(record_no), 0) FROM {CHECKED}").fetchone()[0]
        for lo in range(0, max(last, 1), EVENT_CHUNK_RECORDS):
            validate_events(con, lo, lo + EVENT_CHUNK_RECORDS, first=lo == 0, source=source)
    finally:
        con.execute("SET TimeZone = 'UTC'")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {QUARANTINE} AS
        SELECT c.record_no, r.raw AS record, {quarantine_reason_sql("c.reason", "r")} AS reason,
               r.raw_chars IS NOT NULL AS record_cut
        FROM {CHECKED} c JOIN {RAW} r USING (record_no)
        WHERE c.reason IS NOT NULL
    """)
