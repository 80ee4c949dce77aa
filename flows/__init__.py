"""Prefect flows and tasks, schedules, and the `crimegeo` command line."""
