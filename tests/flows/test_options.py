"""The command line's run options come from the settings model: every command that runs the
pipeline has them all, with the model's flags, defaults and limits, and builds one
`RunSettings` from them."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from crimegeo.flows.cli import app
from crimegeo.pipelines.settings import (
    FLOW_ONLY,
    Locating,
    RunSettings,
    command_line_settings,
    settings_from_argv,
)

runner = CliRunner()
COMMANDS = {"run": (), "backfill": (), "serve": (), "pipeline": FLOW_ONLY, "watch": FLOW_ONLY}


def _flags(command: str) -> set[str]:
    click_command = typer.main.get_command(app).commands[command]
    return {flag for param in click_command.params
            for flag in (*param.opts, *param.secondary_opts)}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_each_command_has_every_setting_it_should(command: str) -> None:
    wanted = {item.flag for item in command_line_settings(COMMANDS[command])}
    assert "--boundary-tolerance-m" in wanted  # the option `watch` had lost
    assert wanted <= _flags(command)
    assert not {item.flag for item in command_line_settings()} - wanted & _flags(command)


def test_defaults_and_limits_come_from_the_model() -> None:
    params = {param.name: param
              for param in typer.main.get_command(app).commands["pipeline"].params}
    assert params["min_geocode_score"].default == Locating().min_geocode_score
    assert params["boundary_tolerance_m"].default == Locating().boundary_tolerance_m
    for flag, value in (("--min-geocode-score", "1.5"), ("--min-public-count", "0")):
        bad = runner.invoke(app, ["pipeline", "--month", "2024-03", "--input", "i",
                                  "--output", "o", flag, value])
        assert bad.exit_code == 2 and flag in bad.output


def test_option_values_become_one_nested_settings_object() -> None:
    settings = settings_from_argv([
        "--input", "in", "--output", "out", "--areas", "a.shp", "--areas", "b.shp",
        "--min-public-count", "3", "--no-local-tuning", "--runner", "multi-process",
        "--direct_num_workers", "2"])
    assert settings == RunSettings.model_validate({
        "inputs": {"input": "in"}, "output": "out",
        "locating": {"areas": ("a.shp", "b.shp")}, "anonymising": {"min_public_count": 3},
        "runner": {"runner": "multi-process", "local_tuning": False,
                   "beam_options": ("--direct_num_workers", "2")}})
    # What the manifest records is derived from the same object.
    assert settings.manifest_options()["areas"] == ["a.shp", "b.shp"]
    assert settings.manifest_options()["min_public_count"] == 3


def test_credentials_never_reach_the_manifest() -> None:
    settings = settings_from_argv(["--input", "in", "--output", "out",
                                   "--map-points", "s3://key:secret@bucket/points"])
    assert settings.manifest_options()["map_points"] == "s3://bucket/points"


def test_resolving_the_runner_keeps_the_other_runner_settings() -> None:
    settings = settings_from_argv(["--input", "i", "--output", "o", "--no-local-tuning"])
    resolved = settings.with_runner("DirectRunner", ("--direct_running_mode=in_memory",))
    assert resolved.runner.local_tuning is False
    assert resolved.runner.beam_options == ("--direct_running_mode=in_memory",)
