"""``python -m supportflow``: the same CLI as the ``supportflow`` command."""

from supportflow.cli import app

app(prog_name="supportflow")
