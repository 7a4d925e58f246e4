"""ML models of supportflow; import as ``models.triage`` (never a bare ``models``)."""
