"""``python -m feeds``: the ``crimegeo feeds`` commands on their own."""

from feeds.cli import main

main()
