"""crimegeo standards: the location standard, force registry, crime categories and profiles."""
