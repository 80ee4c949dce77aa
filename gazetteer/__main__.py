"""``python -m crimegeo.gazetteer``: the gazetteer command line (see :mod:`gazetteer.cli`)."""

from crimegeo.gazetteer.cli import main

main()
