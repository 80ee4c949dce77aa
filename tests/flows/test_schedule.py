"""Schedules and deployments: `crimegeo serve`'s deployment and the repository's prefect.yaml."""

from __future__ import annotations

import datetime as dt
import inspect
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from crimegeo.flows.cli import app
from crimegeo.flows.deploy import build_deployment
from crimegeo.flows.monthly import month_before, month_range, scheduled_flow
from crimegeo.pipelines.settings import RunSettings, settings_from_argv

ROOT = Path(__file__).resolve().parents[2]


def test_serve_builds_a_cron_schedule_in_a_time_zone() -> None:
    settings = settings_from_argv(["--input", "in", "--output", "out", "--areas", "lsoa.shp"])
    deployment = build_deployment(settings, cron="30 7 5 * *", timezone="Europe/London")
    (schedule,) = deployment.schedules
    assert schedule.schedule.cron == "30 7 5 * *"
    assert schedule.schedule.timezone == "Europe/London"
    assert deployment.entrypoint == "crimegeo.flows.monthly.scheduled_flow"
    assert deployment.parameters == {
        "settings": {"inputs": {"input": "in"}, "output": "out",
                     "locating": {"areas": ["lsoa.shp"]}},
        "recheck_months": 2, "timezone": "Europe/London"}
    # What the deployment stores is what the flow's one parameter validates back into.
    assert RunSettings.model_validate(deployment.parameters["settings"]) == settings


def test_serve_refuses_a_bad_time_zone_or_cron_before_serving(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["serve", "--input", str(tmp_path), "--output",
                                 str(tmp_path), "--timezone", "Mars/Olympus"])
    assert result.exit_code == 2 and "time zone" in result.output
    result = runner.invoke(app, ["serve", "--input", str(tmp_path), "--output",
                                 str(tmp_path), "--cron", "every month"])
    assert result.exit_code == 2


def test_prefect_yaml_deploys_the_scheduled_flow() -> None:
    from prefect.cli.deploy._schedules import _schedule_config_to_deployment_schedule

    config = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    (deployment,) = config["deployments"]
    path, name = deployment["entrypoint"].split(":")
    assert (ROOT / path).is_file() and name == "scheduled_flow"
    parameters = inspect.signature(scheduled_flow.fn).parameters
    assert set(deployment["parameters"]) <= set(parameters)
    settings = RunSettings.model_validate(deployment["parameters"]["settings"])
    assert settings.inputs.input and settings.output and settings.gazetteer.sources
    (schedule,) = deployment["schedules"]
    made = _schedule_config_to_deployment_schedule(schedule)["schedule"]
    assert made.cron == "0 6 3 * *" and made.timezone == "Europe/London"
    assert deployment["work_pool"]["name"] == "crimegeo"
    operations = (ROOT / "docs" / "operations.md").read_text()
    assert "prefect work-pool create crimegeo --type process" in operations


def test_the_month_a_scheduled_run_closes_is_decided_in_its_time_zone() -> None:
    # 23:30 UTC on 31 March is already 1 April in London (summer time): March has ended.
    late = dt.datetime(2024, 3, 31, 23, 30, tzinfo=dt.UTC)
    assert month_before(late, "Europe/London") == "2024-03"
    assert month_before(late, "UTC") == "2024-02"
    assert month_before(dt.datetime(2024, 1, 3, 6, tzinfo=dt.UTC), "Europe/London") == "2023-12"


def test_month_range() -> None:
    assert month_range("2023-11", "2024-02") == ["2023-11", "2023-12", "2024-01", "2024-02"]
    with pytest.raises(ValueError, match="after"):
        month_range("2024-03", "2024-01")
    with pytest.raises(ValueError, match="YYYY-MM"):
        month_range("2024-3", "2024-04")
