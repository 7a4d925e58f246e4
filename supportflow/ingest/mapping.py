"""How a source's fields map onto supportflow's canonical ticket fields.

A mapping is a small YAML file so that any help desk's CSV export can be loaded without code:

    source: banking77            # prefix of ticket_id
    columns: {body: text, category: category}   # canonical field: column in the file
    ids: row_number              # "<file stem>-<record no>", for files without ids; or "column"
                                 # (default): take external ids from the id column
    defaults: {created_at: "2020-01-01T00:00:00Z", channel: web}
    timezone: UTC                # for timestamps written without an offset
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, Field, field_validator

CANONICAL_FIELDS = (
    "id",
    "created_at",
    "updated_at",
    "channel",
    "customer_id",
    "customer_tier",
    "language",
    "subject",
    "body",
    "status",
    "priority",
    "category",
    "queue",
    "sentiment",
    "tags",
    "assignee_id",
    "csat",
)


class Mapping(BaseModel):
    """Field mapping and defaults for one source (see module docstring)."""

    source: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]+$")
    columns: dict[str, str] = Field(default_factory=dict)
    ids: Literal["column", "row_number"] = "column"
    defaults: dict[str, str] = Field(default_factory=dict)
    timezone: str = "UTC"

    @field_validator("columns", "defaults")
    @classmethod
    def _known_fields(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(CANONICAL_FIELDS))
        if unknown:
            raise ValueError(f"unknown field(s) {unknown}; known: {', '.join(CANONICAL_FIELDS)}")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
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
        return Mapping.model_validate(yaml.safe_load(builtin.read_text()) or {})
    return Mapping.model_validate(yaml.safe_load(path.read_text()) or {})
