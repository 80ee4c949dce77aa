"""Prefect flows and tasks, schedules, and the `crimegeo` command line.

Prefect's temporary local server records an anonymous telemetry session at start-up, which
offline shows up as a harmless but alarming "database is locked" traceback; we switch that off
unless the operator has chosen otherwise.
"""

import os

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
