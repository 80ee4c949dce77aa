"""`python -m flows` runs the crimegeo command line."""

from flows.cli import main

main()
