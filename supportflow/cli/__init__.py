"""The ``supportflow`` command: one command per flow, plus demo data and status.

The face of the library: each command parses options, calls a flow (``flows/``) or a library
entry point, and renders the typed result. Heavy libraries (Prefect, dbt, DuckDB, torch) are
imported inside commands so that ``supportflow --help`` answers instantly.
"""

from __future__ import annotations

# Imported for their commands, in pipeline order (--help lists them so).
# isort: off
from supportflow.cli.common import app, main
from supportflow.cli import demo  # noqa: F401  (demo generate · demo run)
from supportflow.cli import ingest  # noqa: F401  (ingest)
from supportflow.cli import pull  # noqa: F401  (pull zendesk)
from supportflow.cli import synced  # noqa: F401  (ingest-synced)
from supportflow.cli import training  # noqa: F401  (train · predict)
from supportflow.cli import metrics  # noqa: F401  (build-metrics · status · report)
from supportflow.cli import rollout  # noqa: F401  (score · promote · rollback)
from supportflow.cli import knowledge  # noqa: F401  (reindex · search · answer · suggest)
from supportflow.cli import escalation  # noqa: F401  (escalate · backfill-escalations)
from supportflow.cli import assist  # noqa: F401  (assist · assist-batch · qa-sample · qa-verdict)
# isort: on

__all__ = ["app", "main"]
