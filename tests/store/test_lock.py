"""One writer per output (issue 17, finding 1): a second run is refused, naming the run that
holds the output, or waits for it; a dead run's lease is taken over."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crimegeo.flows.cli import app
from crimegeo.pipelines.monthly import run_month
from crimegeo.pipelines.settings import settings_from_argv
from crimegeo.store.lock import OutputLockedError, output_lock

runner = CliRunner()


def _args(demo_month: dict, output: Path) -> list[str]:
    return ["--input", str(demo_month["input"]), "--output", str(output),
            "--gazetteer", demo_month["gazetteer"]]


def test_a_second_run_is_refused_naming_the_first(demo_month: dict, tmp_path: Path) -> None:
    output = tmp_path / "out"
    staging = output / "_staging" / "2024-03-scheduled"
    staging.mkdir(parents=True)  # the first run's staging, mid-run
    with output_lock(str(output), "2024-03-scheduled"):
        result = runner.invoke(app, ["pipeline", "--month", "2024-02",
                                     *_args(demo_month, output)], terminal_width=300)
        assert result.exit_code == 2, result.output
        assert "is being written by run 2024-03-scheduled" in result.output
        assert len(result.output.strip().splitlines()) == 1
        assert staging.exists()  # the refused run's recovery never touched it
    assert not (output / "_lock.json").exists()  # released


def test_a_run_can_wait_for_the_one_writing(demo_month: dict, tmp_path: Path) -> None:
    output = tmp_path / "out"
    taken, release = threading.Event(), threading.Event()

    def first() -> None:
        with output_lock(str(output), "first"):
            taken.set()
            release.wait(30)

    holder = threading.Thread(target=first)
    holder.start()
    taken.wait(10)
    settings = settings_from_argv([*_args(demo_month, output), "--wait-for-output", "0.2"])
    with pytest.raises(OutputLockedError, match="run first"):
        run_month(settings, "2024-03")
    threading.Timer(1.0, release.set).start()
    waiting = settings_from_argv([*_args(demo_month, output), "--wait-for-output", "60"])
    started = time.monotonic()
    result = run_month(waiting, "2024-03")
    holder.join(10)
    assert result.manifest["totals"]["rows_in"] > 0 and time.monotonic() - started >= 0.5


def test_a_dead_runs_lease_is_taken_over(demo_month: dict, tmp_path: Path) -> None:
    output = tmp_path / "out"
    output.mkdir()
    (output / "_lock.json").write_text(json.dumps(
        {"run_id": "killed", "token": "x", "heartbeat": time.time() - 3600}))
    result = run_month(settings_from_argv(_args(demo_month, output)), "2024-03")
    assert result.manifest["totals"]["rows_in"] > 0
    assert not (output / "_lock.json").exists()
