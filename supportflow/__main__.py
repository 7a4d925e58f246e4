"""``python -m supportflow``: the same CLI as the ``supportflow`` command."""

import sys

from supportflow.cli import main

sys.argv[0] = "supportflow"
main()
