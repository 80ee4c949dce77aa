"""The `crimegeo` entry point: exit statuses, whole output, tracebacks for the unforeseen.

Each case runs a fresh interpreter, as a user's shell would.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from tests.conftest import live

ROOT = Path(__file__).resolve().parents[2]


def _crimegeo(*args: str) -> subprocess.CompletedProcess:
    # Run outside the checkout, as a user would: the project's folders are then importable
    # only as the installed `crimegeo.<folder>` packages.
    return subprocess.run([sys.executable, "-m", "crimegeo.flows", *args],
                          cwd=tempfile.gettempdir(),
                          capture_output=True, text=True, timeout=300)


def test_a_month_run_exits_zero_with_all_its_output(demo_month: dict, tmp_path: Path) -> None:
    done = _crimegeo("pipeline", "--month", "2024-03", "--input", str(demo_month["input"]),
                     "--output", str(tmp_path / "out"), "--gazetteer", demo_month["gazetteer"],
                     "--json")
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)  # the whole report reached the pipe
    totals = report["totals"]
    assert totals["rows_in"] == totals["rows_written"] + totals["rows_rejected"] > 0
    manifest = json.loads(
        (live(tmp_path / "out", "2024-03") / "runs" / "2024-03" / "manifest.json").read_text())
    assert manifest["run_id"] == report["run_id"]


def test_a_usage_error_keeps_its_status_and_message() -> None:
    done = _crimegeo("pipeline", "--month", "2024-03")
    assert done.returncode == 2
    assert "Missing option" in done.stderr


def test_an_unexpected_error_still_gets_its_traceback(tmp_path: Path) -> None:
    code = textwrap.dedent("""
        import sys
        import crimegeo.flows.cli
        import crimegeo.flows.__main__ as entry

        def broken():
            raise RuntimeError("something we did not foresee")

        crimegeo.flows.cli.main = broken
        entry.run()
    """)
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 1
    assert "RuntimeError: something we did not foresee" in done.stderr


def test_the_code_fingerprint_is_found_outside_the_checkout() -> None:
    """The installed packages, not folders that happen to be in the working directory."""
    done = subprocess.run(
        [sys.executable, "-c", "from crimegeo.flows.fingerprint import code_fingerprint; "
                               "print(code_fingerprint())"],
        cwd=tempfile.gettempdir(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert len(done.stdout.strip()) == 64
