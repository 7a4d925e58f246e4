"""``python -m supportflow.cli``."""

from supportflow.cli import app

app()
