"""Names a CLI offers without importing the readers behind them (``supportflow --help`` stays
fast: the synced-schema reader imports DuckDB)."""

from __future__ import annotations

from enum import StrEnum


class Flavour(StrEnum):
    """Which connector wrote a synced Zendesk schema (decides the table and column names)."""

    fivetran = "fivetran"
    airbyte = "airbyte"
