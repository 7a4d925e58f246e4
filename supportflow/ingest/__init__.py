"""Ticket ingestion: read exports, validate, redact PII and load idempotently into DuckDB."""
