"""supportflow: support-ticket pipelines (ingestion, triage, retrieval, escalation, metrics)."""

__version__ = "0.1.0"
