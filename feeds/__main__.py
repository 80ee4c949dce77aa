"""``python -m crimegeo.feeds``: the ``crimegeo feeds`` commands on their own."""

from crimegeo.feeds.cli import main

main()
