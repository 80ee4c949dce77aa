"""`python -m crimegeo.flows` and the `crimegeo` command: the crimegeo command line."""

from __future__ import annotations


def run() -> None:
    """Run the command line."""
    from crimegeo.flows.cli import main

    main()


if __name__ == "__main__":
    run()
