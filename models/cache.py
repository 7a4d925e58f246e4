"""The machine-wide cache every supportflow home shares (what depends only on installed
packages and weights, never on a home's data)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    """``$XDG_CACHE_HOME/supportflow`` (``~/.cache/supportflow`` by default): exported encoder
    graphs (``encoders/``) and the migrated Prefect database template (``prefect/``)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "supportflow"
