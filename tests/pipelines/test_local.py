"""The local-run switch changes how a run uses this machine, never what it writes."""

from __future__ import annotations

from pathlib import Path

import pytest
from apache_beam.options.pipeline_options import PipelineOptions

from crimegeo.pipelines.local import runs_in_this_process, tuned_for_this_process
from crimegeo.pipelines.monthly import beam_options, run_month
from crimegeo.pipelines.settings import settings_from_argv
from tests.conftest import live_parts

pytestmark = pytest.mark.slow


def _published(output: Path) -> dict[str, bytes]:
    return live_parts(output)


def test_tuned_and_plain_runs_write_the_same_bytes(demo_month: dict, tmp_path: Path) -> None:
    outputs = {}
    for flag in ("--local-tuning", "--no-local-tuning"):
        outputs[flag] = tmp_path / flag.strip("-")
        settings = settings_from_argv(["--input", str(demo_month["input"]), "--output",
                                       str(outputs[flag]), "--gazetteer",
                                       demo_month["gazetteer"], flag])
        assert settings.runner.local_tuning is (flag == "--local-tuning")
        run_month(settings, "2024-03")
    tuned, plain = (_published(path) for path in outputs.values())
    assert tuned and tuned == plain


def test_the_switch_applies_only_in_this_process() -> None:
    def options(*args: str) -> PipelineOptions:
        return beam_options(settings_from_argv(["--input", "i", "--output", "o", *args]))

    assert runs_in_this_process(options())
    assert tuned_for_this_process(True, options())
    assert not tuned_for_this_process(False, options())
    assert not runs_in_this_process(options("--direct_running_mode=multi_processing"))
    assert not runs_in_this_process(options("--runner", "PortableRunner",
                                            "--job_endpoint", "localhost:1"))
