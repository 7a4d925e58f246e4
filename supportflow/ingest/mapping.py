"""How a source's fields map onto supportflow's canonical ticket fields.

A mapping is a small YAML file so that any help desk's CSV export can be loaded without code:

    source: banking77            # prefix of ticket_id
    columns: {body: text, category: category}   # canonical field: column in the file
    ids: row_number              # "<file stem>-<record no>", for files without ids; or "column"
                                 # (default): take external ids from the id column
    defaults: {created_at: "2020-01-01T00:00:00Z", channel: web}
    timezone: UTC                # for timestamps written without an offset
    custom_fields: {360012345678: category}   # Zendesk custom field ids → canonical fields
    csat_scale: 5                # numeric CSAT scale: 5 (≥ 4 good), 3 (3 good), 10 (≥ 8 good)
    delimiter: ";"               # CSV only: skip delimiter sniffing (one of , ; | or "\t")
    encoding: cp1252             # CSV only: skip encoding detection (any Python codec name)
    datetime_format: "%d/%b/%y %I:%M %p"   # strptime format(s) of created_at/updated_at

``delimiter`` and ``encoding`` are optional: without them the CSV reader detects both per file
(UTF-8 with or without BOM, else Windows-1252/Latin-1; ``,`` ``;`` TAB or ``|``; see
``supportflow.ingest.csv_dialect``). ``datetime_format`` is one ``strptime`` format, or a list
tried in order, for desks that write local, non-ISO times: ``"%m/%d/%Y %I:%M %p"`` reads
``11/03/2026 2:05 PM``, ``"%d/%b/%y %I:%M %p"`` reads Jira's ``22/Aug/26 5:18 PM``; such times
have no offset and are taken in ``timezone``. Timestamps are parsed in
``supportflow.ingest.validate``; without ``datetime_format`` they must be ISO-8601 or epoch.

Built-in mappings (``--mapping NAME``, files in ``supportflow/ingest/mappings/``): ``banking77``
and the ticket exports of ``freshdesk``, ``helpscout``, ``intercom``, ``jira-sm`` (Jira Service
Management) and ``fivetran-zendesk``; each file names the documentation its columns come from.
"""

from __future__ import annotations

import codecs
from importlib.resources import files
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator

from supportflow.ingest.landing_schema import CANONICAL_FIELDS

# The canonical fields a mapping names derive from the landing schema (kept importable here).
from supportflow.safe_yaml import describe, load_yaml
from supportflow.yaml_config import explain

__all__ = ["CANONICAL_FIELDS", "Mapping", "load_mapping", "suggest_builtin"]


class Mapping(BaseModel):
    """Field mapping and defaults for one source (see module docstring)."""

    source: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]+$")
    columns: dict[str, str] = Field(default_factory=dict)
    ids: Literal["column", "row_number"] = "column"
    defaults: dict[str, str] = Field(default_factory=dict)
    timezone: str = "UTC"
    # Zendesk custom field id → canonical field (beside the titles of a ticket_fields file).
    custom_fields: dict[str, str] = Field(default_factory=dict)
    # The numeric CSAT scale of the source: 5 (default), 3 or 10 (see validate.CSAT_GOOD).
    csat_scale: Literal[3, 5, 10] = 5
    # CSV dialect and timestamp options (module docstring); None: detect / ISO-8601.
    delimiter: str | None = None
    encoding: str | None = None
    datetime_format: str | list[str] | None = None

    @field_validator("custom_fields", mode="before")
    @classmethod
    def _custom_field_targets(cls, value: dict) -> dict[str, str]:
        value = {str(k): str(v) for k, v in (value or {}).items()}
        unknown = sorted(set(value.values()) - set(CANONICAL_FIELDS))
        if unknown:
            raise ValueError(f"custom_fields: unknown field(s) {unknown}")
        return value

    @field_validator("columns", "defaults")
    @classmethod
    def _known_fields(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(CANONICAL_FIELDS))
        if unknown:
            raise ValueError(f"unknown field(s) {unknown}; known: {', '.join(CANONICAL_FIELDS)}")
        empty = sorted(k for k, v in value.items() if not str(v).strip())
        if empty:
            raise ValueError(f"field(s) {empty} map to an empty column name")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        """An IANA zone name both Python and DuckDB know (``localtime`` is the machine's link to
        one, not a zone: it would make a load depend on where it runs)."""
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        if value.lower() in ("localtime", "posixrules"):
            raise ValueError(f"time zone {value!r} is not a zone: name one, e.g. Europe/Berlin")
        return value

    @field_validator("delimiter")
    @classmethod
    def _one_character(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = {"\\t": "\t", "tab": "\t"}.get(value, value)
        if len(value) != 1 or value in '"\r\n':
            raise ValueError(
                f'delimiter must be one character such as , ; | or "\\t", not {value!r}'
            )
        return value

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            codecs.lookup(value)
        except LookupError as exc:
            raise ValueError(f"unknown encoding {value!r} (e.g. utf-8, cp1252, latin-1)") from exc
        return value

    @field_validator("datetime_format")
    @classmethod
    def _strptime_formats(cls, value: str | list[str] | None) -> str | list[str] | None:
        formats = [value] if isinstance(value, str) else value or []
        if isinstance(value, list) and not value:
            raise ValueError("datetime_format: give at least one format")
        for fmt in formats:
            if "%" not in fmt:
                raise ValueError(f"datetime_format {fmt!r} has no %-directive (e.g. %Y-%m-%d)")
        return value

    def column_for(self, field: str) -> str:
        return self.columns.get(field, field)


BUILTIN_DIR = files("supportflow.ingest") / "mappings"


def load_mapping(name_or_path: str | Path | None) -> Mapping:
    """Read a mapping from a YAML path or a built-in name (e.g. ``banking77``)."""
    if name_or_path is None:
        return Mapping()
    path = Path(name_or_path)
    if not path.exists():
        builtin = BUILTIN_DIR / f"{name_or_path}.yaml"
        if not builtin.is_file():
            known = sorted(p.name.removesuffix(".yaml") for p in BUILTIN_DIR.iterdir())
            raise FileNotFoundError(
                f"mapping {name_or_path!r} is neither a file nor a built-in mapping ({known})"
            )
        path = builtin
    try:
        raw = load_yaml(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ValueError(f"mapping {path}: not valid YAML ({describe(exc)})") from None
    try:
        return Mapping.model_validate(raw)
    except ValidationError as exc:
        raise ValueError(f"mapping {explain(exc, [(path, raw)])}") from None


def suggest_builtin(header: list[str]) -> str | None:
    """The built-in mapping whose columns the header holds best (≥ 60 % of them), if any."""
    best, best_share = None, 0.6
    for item in sorted(BUILTIN_DIR.iterdir(), key=lambda p: p.name):
        if not item.name.endswith(".yaml"):
            continue
        columns = set((load_yaml(item.read_text()) or {}).get("columns", {}).values())
        share = len(columns & set(header)) / len(columns) if columns else 0
        if share >= best_share:
            best, best_share = item.name.removesuffix(".yaml"), share
    return best
