"""``python -m gazetteer``: the gazetteer command line (see :mod:`gazetteer.cli`)."""

from gazetteer.cli import main

main()
