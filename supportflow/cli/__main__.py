"""``python -m supportflow.cli``."""

from supportflow.cli import main

main()
