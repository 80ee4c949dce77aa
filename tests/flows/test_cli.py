"""The command line: every command has help, and bad input is a clear error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crimegeo.flows.cli import app
from crimegeo.flows.report import build_report
from crimegeo.standards import reasons
from tests.conftest import live, read_live

runner = CliRunner()
COMMANDS = ["run", "pipeline", "backfill", "serve", "sample", "demo", "profiles", "standard",
            "gazetteer", "watch"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str) -> None:
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_top_level_help_lists_the_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in COMMANDS:
        assert command in result.output


def test_pipeline_with_a_bad_month_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["pipeline", "--month", "2024-13", "--input", str(tmp_path),
                                 "--output", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "YYYY-MM" in result.output


def test_unrecognised_file_names_the_file_and_the_profiles(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "2024-03-mystery.csv").write_text("a,b\n1,2\n")
    result = runner.invoke(app, ["pipeline", "--month", "2024-03", "--input",
                                 str(tmp_path / "in"), "--output", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "2024-03-mystery.csv" in result.output
    assert "police-uk-street" in result.output
    assert not (tmp_path / "out" / "restricted").exists()


def test_standard_prints_the_json_schema() -> None:
    result = runner.invoke(app, ["standard"])
    assert result.exit_code == 0
    assert '"location_status"' in result.stdout


def test_sample_writes_four_formats_and_a_gazetteer(tmp_path: Path) -> None:
    result = runner.invoke(app, ["sample", "--out", str(tmp_path), "--rows", "200",
                                 "--month", "2023-11"])
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in (tmp_path / "input" / "2023-11").iterdir())
    assert len(names) == 4 and any(n.endswith(".jsonl") for n in names)
    assert (tmp_path / "gazetteer").is_dir()
    again = tmp_path / "again"
    runner.invoke(app, ["sample", "--out", str(again), "--rows", "200", "--month", "2023-11"])
    for name in names:  # deterministic: same seed, same bytes
        assert (again / "input" / "2023-11" / name).read_bytes() == (
            tmp_path / "input" / "2023-11" / name).read_bytes()


def test_pipeline_with_areas_boundaries_and_k_on_real_data(tmp_path: Path) -> None:
    import json

    from crimegeo.gazetteer import build_gazetteer
    from tests.conftest import shared_data

    folder = shared_data("police-uk", "city-of-london")
    build_gazetteer([str(folder / "2019-12-city-of-london-street.csv")],
                    str(tmp_path / "gaz"), format="police-uk")
    result = runner.invoke(app, [
        "pipeline", "--month", "2020-01", "--input", str(folder), "--output",
        str(tmp_path / "out"), "--gazetteer", str(tmp_path / "gaz"),
        "--areas", str(shared_data("boundaries", "london-lsoa-2021", "london_lsoa.shp")),
        "--boundaries", str(shared_data("boundaries", "gmp_force_area.geojson")),
        "--min-public-count", "3", "--json"])
    assert result.exit_code == 0, result.output
    manifest = json.loads(result.stdout)
    assert manifest["options"]["min_public_count"] == 3
    assert manifest["options"]["areas"][0].endswith("london_lsoa.shp")
    public = read_live(tmp_path / "out", "public").to_pylist()
    labels = [r["public_label"] for r in public if r["public_label"]]
    assert labels and min(labels.count(label) for label in set(labels)) >= 3
    assert any(r["lsoa_code"] for r in public)


def test_a_run_without_a_gazetteer_says_so_loudly(demo_month: dict, tmp_path: Path) -> None:
    """Issue 17, finding 7: no gazetteer used to mean no public locations, without a word,
    and a reason that blamed the distance to a map point."""
    result = runner.invoke(app, ["pipeline", "--month", "2024-03", "--input",
                                 str(demo_month["input"]), "--output", str(tmp_path / "out")],
                           terminal_width=300)
    assert result.exit_code == 0, result.output
    assert "warning: no gazetteer and no map points" in result.output
    rows = read_live(tmp_path / "out", "restricted").to_pylist()
    located = [r for r in rows if r["lon"] is not None]
    assert located and all(reasons.NO_MAP_POINTS in r["reasons"] for r in located)
    assert not any(reasons.NO_PUBLIC_POINT in r["reasons"] for r in rows)
    report = build_report(str(tmp_path / "out"), "2024-03", json.loads(
        (live(tmp_path / "out", "2024-03") / "runs" / "2024-03" / "manifest.json").read_text()),
        with_maps=False)
    assert any("no gazetteer" in warning for warning in report["warnings"])
