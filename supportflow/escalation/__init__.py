"""Escalation rules: versioned YAML, compiled to SQL, backfilled over history."""
