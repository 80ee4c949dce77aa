"""Schedules and deployments of the scheduled monthly flow.

`crimegeo serve` builds a deployment here and serves it from a long-running local process;
`prefect.yaml` at the repository root describes the same deployment for a Prefect server with
a process work pool (see docs/operations.md). The schedule is a cron expression read in a time
zone, so "06:00 on the 3rd" stays 06:00 local time across summer time changes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from crimegeo.pipelines.settings import RunSettings

if TYPE_CHECKING:  # Prefect is imported when a deployment is built, not with the CLI
    from prefect.deployments.runner import RunnerDeployment
    from prefect.schedules import Schedule

DEPLOYMENT_NAME = "crimegeo-monthly"
#: 06:00 on the 3rd of each month: forces have had two days to upload the month just ended.
DEFAULT_CRON = "0 6 3 * *"
DEFAULT_TIMEZONE = "Europe/London"


def monthly_schedule(cron: str = DEFAULT_CRON, timezone: str = DEFAULT_TIMEZONE) -> Schedule:
    """A cron schedule in an IANA time zone; raises ValueError for a bad cron or zone."""
    from prefect.schedules import Cron

    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown time zone {timezone!r} (use an IANA name such as "
                         "Europe/London)") from error
    return Cron(cron, timezone=timezone)


def build_deployment(settings: RunSettings, *, recheck_months: int = 2,
                     name: str = DEPLOYMENT_NAME, cron: str = DEFAULT_CRON,
                     timezone: str = DEFAULT_TIMEZONE) -> RunnerDeployment:
    """The scheduled flow as a deployment with its schedule and fixed parameters.

    The entrypoint is the module path `crimegeo.flows.monthly.scheduled_flow`, so it resolves
    wherever crimegeo is installed, whatever the working directory. The settings are the
    flow's one `settings` parameter; `timezone` also decides which month a run closes, so it
    is passed to the flow as well.
    """
    from prefect.deployments.runner import EntrypointType

    from crimegeo.flows.monthly import scheduled_flow

    schedule = monthly_schedule(cron, timezone)
    parameters = {"settings": settings.model_dump(mode="json", exclude_defaults=True),
                  "recheck_months": recheck_months, "timezone": timezone}
    return scheduled_flow.to_deployment(
        name=name, schedule=schedule, parameters=parameters,
        description="Closes the month just ended and reruns recent months whose inputs "
                    "changed; see docs/operations.md.",
        tags=["crimegeo"], entrypoint_type=EntrypointType.MODULE_PATH)


def serve_deployment(deployment: RunnerDeployment) -> None:
    """Serve the deployment from this process until interrupted (Ctrl-C)."""
    from prefect import serve

    serve(deployment)
