"""The Prefect flows: backfill skips unchanged months, a missing force is a reported gap, a
resubmitted file reruns its month, the gazetteer is built once, every run reports, and only
transient errors are retried."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from prefect import flow
from typer.testing import CliRunner

from crimegeo.flows import monthly
from crimegeo.flows.cli import app
from crimegeo.flows.sample import generate_sample
from crimegeo.pipelines.settings import settings_from_argv
from tests.conftest import live

pytestmark = pytest.mark.usefixtures("prefect_harness")


def test_only_transient_errors_count_as_transient() -> None:
    assert monthly.is_transient(ConnectionResetError())
    assert monthly.is_transient(TimeoutError())
    assert monthly.is_transient(OSError("503 from the bucket"))
    assert not monthly.is_transient(FileNotFoundError("gone"))
    assert not monthly.is_transient(PermissionError("no"))
    assert not monthly.is_transient(ValueError("bad data"))
    assert not monthly.is_transient(LookupError("no profile matches"))

    class HttpError(Exception):
        code = 429

    assert monthly.is_transient(HttpError())


def test_storage_hiccups_are_retried_and_bad_data_is_not(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls: list[str] = []
    errors = [ConnectionResetError("reset by peer"), TimeoutError("slow bucket")]

    def flaky(input_url: str, month: str, profiles: object) -> object:
        calls.append("transient")
        if errors:
            raise errors.pop(0)
        return monthly.Discovery((), ())

    monkeypatch.setattr(monthly, "discover_month", flaky)
    quick = monthly.discover_inputs.with_options(retry_delay_seconds=0)

    @flow
    def one() -> object:
        return quick("2024-03", str(tmp_path), [])

    assert one() == monthly.Discovery((), ())
    assert len(calls) == 3  # two failures retried, then success

    def bad(input_url: str, month: str, profiles: object) -> object:
        calls.append("bad")
        raise ValueError("input files share a name")

    monkeypatch.setattr(monthly, "discover_month", bad)
    with pytest.raises(ValueError, match="share a name"):
        one()
    assert calls.count("bad") == 1  # bad data: not retried


def _force_file(summary: dict, force: str) -> str:
    return next(name for name, info in summary["files"].items() if info["force"] == force)


@pytest.mark.slow
def test_backfill_gap_resubmission_and_skips(tmp_path: Path) -> None:
    data = tmp_path / "data"
    february = generate_sample(data, month="2024-02", rows=240, seed=5)
    march = generate_sample(data, month="2024-03", rows=240, seed=5)
    kent = _force_file(march, "kent")
    held_back = tmp_path / kent
    shutil.move(str(Path(march["input"]) / kent), held_back)  # Kent's March file is late
    (Path(march["input"]) / "2024-03-kent-placeholder.csv").write_bytes(b"")  # and empty
    output = tmp_path / "out"
    cli = CliRunner()
    args = ["backfill", "--from", "2024-02", "--to", "2024-03", "--input", str(data / "input"),
            "--output", str(output), "--gazetteer-source", february["gazetteer_source"],
            "--gazetteer-format", "csv", "--json"]

    first = cli.invoke(app, args)
    assert first.exit_code == 0, first.output
    outcomes = {o["month"]: o for o in json.loads(first.stdout)}
    assert [o["status"] for o in outcomes.values()] == ["ran", "ran"]
    assert outcomes["2024-03"]["missing_forces"] == ["kent"]
    assert outcomes["2024-02"]["missing_forces"] == []
    caches = list((output / "_gazetteer").iterdir())
    assert len(caches) == 1  # built once for both months
    march_manifest = json.loads(
        (live(output, "2024-03") / "runs/2024-03/manifest.json").read_text())
    assert "kent" not in march_manifest["forces"] and len(march_manifest["forces"]) == 3
    (skipped,) = march_manifest["skipped_files"]  # the empty file skipped, not the month
    assert skipped["url"].endswith("2024-03-kent-placeholder.csv")
    assert skipped["why"] == "an empty file (0 bytes): nothing to read"
    page = (output / "runs/2024-03/report.html").read_text()
    assert "Missing force files" in page and "kent" in page
    assert page.count("data:image/png;base64,") == 3  # one map per force
    assert "Change from last month" in page and "since 2024-02" in page
    report = json.loads((output / "runs/2024-03/report.json").read_text())
    assert report["gaps"]["missing_forces"] == ["kent"]
    assert set(report["feedback"]) == set(march_manifest["forces"])

    from prefect.artifacts import Artifact

    artifact = Artifact.get("crimegeo-2024-03")
    assert artifact is not None and "Missing force files" in artifact.data

    again = cli.invoke(app, args)
    assert again.exit_code == 0, again.output
    assert [o["status"] for o in json.loads(again.stdout)] == ["skipped", "skipped"]
    assert caches == list((output / "_gazetteer").iterdir())

    shutil.move(str(held_back), str(Path(march["input"]) / kent))  # Kent resubmits
    resubmitted = cli.invoke(app, args)
    assert resubmitted.exit_code == 0, resubmitted.output
    outcomes = {o["month"]: o for o in json.loads(resubmitted.stdout)}
    assert outcomes["2024-02"]["status"] == "skipped"
    assert outcomes["2024-03"]["status"] == "ran"
    assert outcomes["2024-03"]["why"] == [f"new file {kent}"]
    assert outcomes["2024-03"]["missing_forces"] == []
    assert "kent" in json.loads(
        (live(output, "2024-03") / "runs/2024-03/manifest.json").read_text())["forces"]

    forced = cli.invoke(app, [*args, "--force"])
    assert forced.exit_code == 0, forced.output
    assert [o["status"] for o in json.loads(forced.stdout)] == ["ran", "ran"]


@pytest.mark.slow
def test_a_month_without_inputs_is_reported_and_left_alone(tmp_path: Path) -> None:
    data = tmp_path / "data"
    sample = generate_sample(data, month="2024-05", rows=120, seed=2)
    output = tmp_path / "out"
    settings = settings_from_argv([
        "--input", str(data / "input"), "--output", str(output),
        "--gazetteer-source", sample["gazetteer_source"], "--gazetteer-format", "csv"])
    outcomes = monthly.backfill_flow("2024-04", "2024-05", settings)
    assert [o["status"] for o in outcomes] == ["no-inputs", "ran"]
    assert not (output / "runs" / "2024-04").exists()
    with pytest.raises(FileNotFoundError, match="nothing was published"):
        monthly.monthly_flow("2024-04", settings)
