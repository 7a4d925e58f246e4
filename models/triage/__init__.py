"""The triage model: fine-tuned encoder with one head per label field, calibrated, in MLflow.

Split as in Made-With-ML: ``config`` → ``data`` → ``modeling`` → ``train`` → ``evaluate`` →
``predict`` → ``registry``. Pure functions; no Prefect imports.
"""
