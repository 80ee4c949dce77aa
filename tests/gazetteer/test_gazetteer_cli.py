"""The gazetteer command line: build, lookup, reverse, evaluate
(``python -m crimegeo.gazetteer``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from gazetteer_testdata import write_small_csv
from typer.testing import CliRunner

from crimegeo.gazetteer.cli import app
from crimegeo.gazetteer.model import JSON_KEYS

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> str:
    d = tmp_path_factory.mktemp("cli")
    src = write_small_csv(d / "small.csv")
    r = runner.invoke(app, ["build", str(src), "--out", str(d / "gaz"), "--format", "csv"])
    assert r.exit_code == 0, r.output
    assert "features" in r.output
    return str(d / "gaz")


def test_every_command_has_help() -> None:
    for cmd in ("build", "lookup", "show", "reverse", "evaluate"):
        r = runner.invoke(app, [cmd, "--help"])
        assert r.exit_code == 0 and "Usage" in r.output


def test_lookup_json(built: str) -> None:
    r = runner.invoke(app, ["lookup", "High St", "--gazetteer", built, "--force", "kent",
                            "--json"])
    assert r.exit_code == 0, r.output
    found = json.loads(r.output)
    assert [tuple(m) for m in found] == [JSON_KEYS]
    assert found[0]["id"] == "kent-1" and found[0]["match_type"] == "normalised"


def test_lookup_options(built: str) -> None:
    r = runner.invoke(app, ["lookup", "High Street", "--gazetteer", built, "--near",
                            "-0.143,51.539", "--limit", "1", "--json"])
    assert json.loads(r.output)[0]["id"] == "cam-1"
    r = runner.invoke(app, ["lookup", "High Street", "--gazetteer", built, "--within",
                            "1,2,3", "--json"])
    assert r.exit_code != 0
    r = runner.invoke(app, ["lookup", "High Street", "--gazetteer", built])
    assert r.exit_code == 0 and "ambiguous" in r.output


def test_reverse_json_with_negative_longitude(built: str) -> None:
    r = runner.invoke(app, ["reverse", "-0.1066", "51.5142", "--gazetteer", built, "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["label"] == "On or near Fleet Street"
    assert {"label", "name", "id", "lon", "lat", "distance_m"} <= set(out)


def test_build_error_is_clear(tmp_path: Path) -> None:
    p = tmp_path / "empty.csv"
    p.write_text("")
    r = runner.invoke(app, ["build", str(p), "--out", str(tmp_path / "g"), "--format", "csv"])
    assert r.exit_code == 1
    assert not (tmp_path / "g").exists()


def test_python_m_gazetteer_without_beam_or_prefect(built: str) -> None:
    code = (
        "import sys, runpy; sys.argv=['gazetteer','lookup','Fleet St','--gazetteer',"
        f"{built!r},'--json'];\n"
        "try:\n    runpy.run_module('gazetteer', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "assert 'apache_beam' not in sys.modules and 'prefect' not in sys.modules, 'imported'\n"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)[0]["name"] == "Fleet Street"


def test_evaluate_on_real_police_uk(col_files: list[str]) -> None:
    folder = str(Path(col_files[0]).parent)
    r = runner.invoke(app, ["evaluate", "--data", folder, "--train", "2018-01..2018-06",
                            "--test", "2018-07..2018-09", "--json"])
    assert r.exit_code == 0, r.output
    rep = json.loads(r.output)
    assert rep["force"] == "city-of-london"
    assert rep["share_located"] > 0.6 and rep["single_place_located"] > 0.9
    assert rep["ambiguous_reported_ambiguous"] > 0.8


def test_show_resolves_ids_uris_and_junctions(built: str) -> None:
    r = runner.invoke(app, ["show", "kent-1", "--gazetteer", built, "--json"])
    assert r.exit_code == 0, r.output
    (feature,) = json.loads(r.output)
    assert (feature["id"], feature["name"], feature["populated_place"]) == (
        "kent-1", "High Street", "Lydd")
    found = json.loads(runner.invoke(app, ["lookup", "junction of Fleet St and Fetter Ln",
                                           "--gazetteer", built, "--json"]).output)
    r = runner.invoke(app, ["show", found[0]["id"], "--gazetteer", built, "--json"])
    assert [f["name"] for f in json.loads(r.output)] == ["Fleet Street", "Fetter Lane"]
    r = runner.invoke(app, ["show", "kent-1", "--gazetteer", built])
    assert r.exit_code == 0 and "Lydd" in r.output
    r = runner.invoke(app, ["show", "no-such-id", "--gazetteer", built])
    assert r.exit_code == 1


def test_show_keeps_the_os_uri(os_gaz) -> None:  # noqa: ANN001
    uri = next(u for u in os_gaz.features.column("uri").to_pylist() if u)
    (feature,) = os_gaz.show(uri)
    assert feature["uri"] == uri and feature["id"]
    assert os_gaz.show(feature["id"])[0]["uri"] == uri


def test_show_prints_an_os_candidate_by_its_uri(os_gaz) -> None:  # noqa: ANN001
    """The ids a force reads in its feedback are OS NAMES_URIs for OS features; the command
    prints the feature they name."""
    road = next(r for r in os_gaz.features.to_pylist() if r["local_type"] == "Named Road"
                and r["uri"])
    found = os_gaz.lookup_arrays([road["name"] + " Nowhere"], candidates_below=1.01)
    ids = [c[1] for c in found["candidates"][0]]
    assert ids and found["candidate_count"][0] >= len(ids)
    assert all(i.startswith("http://data.ordnancesurvey.co.uk/id/") for i in ids), ids
    r = runner.invoke(app, ["show", ids[0], "--gazetteer", os_gaz.path, "--json"])
    assert r.exit_code == 0, r.output
    (feature,) = json.loads(r.output)
    assert feature["uri"] == ids[0] and feature["name"]
    r = runner.invoke(app, ["show", ids[0], "--gazetteer", os_gaz.path])
    assert r.exit_code == 0 and feature["name"] in r.output
