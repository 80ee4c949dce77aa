"""A run killed mid-write leaves the previous good month readable and complete; the next run
cleans up what the dead one left and publishes normally."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import read_live, run_month_args

pytestmark = pytest.mark.slow


def _snapshot(output: Path) -> dict[str, bytes]:
    return {str(p.relative_to(output)): p.read_bytes() for p in sorted(output.rglob("*"))
            if p.is_file() and not str(p.relative_to(output)).startswith(
                ("_staging", "_trash", "_lock.json"))}


def test_killed_run_leaves_previous_month_then_next_run_cleans_up(
        demo_month: dict, tmp_path: Path) -> None:
    output = tmp_path / "out"
    args = ["--month", "2024-03", "--input", str(demo_month["root"] / "input"), "--output",
            str(output), "--gazetteer", demo_month["gazetteer"]]
    run_month_args(args)
    good = _snapshot(output)
    rows = read_live(output, "restricted").num_rows

    command = [sys.executable, "-m", "crimegeo.flows", "pipeline",
               *[a.replace("_", "-") if a.startswith("--") else a for a in args]]
    killed_mid_write = 0
    for _attempt in range(6):
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, start_new_session=True)
        staging = output / "_staging"
        deadline = time.monotonic() + 120
        while process.poll() is None and time.monotonic() < deadline:
            if staging.exists() and any(staging.rglob("*.parquet")):
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                killed_mid_write += 1
                break
            time.sleep(0.001)
        else:
            process.wait()
        # Whatever happened, readers see the previous good month, whole.
        now = _snapshot(output)
        if process.returncode == 0:
            good = now  # the run finished before we could kill it: it is the new good month
        assert now == good
        assert read_live(output, "restricted").num_rows == rows
        if killed_mid_write >= 2:
            break
    assert killed_mid_write >= 1, "never managed to kill a run while it was writing"
    assert any((output / "_staging").iterdir())  # the dead run's leftovers

    result = run_month_args(args)
    assert any("removed the staging of unfinished run" in a for a in result.manifest["recovered"])
    assert not list((output / "_staging").iterdir())
    assert not (output / "_lock.json").exists()  # the dead run's lease taken over, released
    assert read_live(output, "restricted").num_rows == rows
