"""The real-shaped benchmark month (`flows.sample.generate_real_shaped`): real City of London
police.uk rows moved into other forces' areas keep their street pattern, and their supplied
points are valid and on the street they name, so the pipeline keeps them as supplied."""

from __future__ import annotations

import collections
import csv
from pathlib import Path

import numpy as np
import pyarrow.compute as pc

from crimegeo.flows.sample import generate_real_shaped
from crimegeo.gazetteer import build_gazetteer
from crimegeo.standards.coordinates import to_bng
from crimegeo.standards.registry import load_registry
from tests.conftest import read_live, run_month_args, shared_data

FORCES = ["city-of-london", "kent", "cumbria", "metropolitan"]


def test_real_rows_moved_into_each_force_keep_their_points_on_their_streets(
        tmp_path: Path) -> None:
    real = shared_data("police-uk", "city-of-london")
    summary = generate_real_shaped(tmp_path, real, month="2024-03", rows=12_000, seed=3,
                                   forces=FORCES)
    build_gazetteer([summary["gazetteer_source"]], str(tmp_path / "gazetteer"), format="csv")
    assert summary["files"]["2024-03-metropolitan-street.csv"]["rows"] > 4 * summary[
        "files"]["2024-03-kent-street.csv"]["rows"]

    # Each force has its own copy of the real map points, moved by one offset: the
    # distances between them are the real ones.
    with open(summary["gazetteer_source"], encoding="utf-8") as handle:
        features = list(csv.DictReader(handle))
    copies: dict[str, dict[str, tuple[float, float, str]]] = collections.defaultdict(dict)
    for feature in features:
        force, real_id = feature["id"].split(":", 1)
        copies[force][real_id] = (float(feature["lon"]), float(feature["lat"]), feature["name"])
    assert copies["kent"].keys() == copies["cumbria"].keys()
    ids = sorted(copies["kent"])
    kent_xy = np.column_stack(to_bng(*np.array([copies["kent"][i][:2] for i in ids]).T))
    cumbria_xy = np.column_stack(to_bng(*np.array([copies["cumbria"][i][:2] for i in ids]).T))
    shift = cumbria_xy - kent_xy
    assert np.abs(shift - shift[0]).max() < 1.0 and np.hypot(*shift[0]) > 100_000

    # Every supplied point of a file is one of its force's map points of the label it gives.
    for force in ("kent", "metropolitan"):
        points = {(f"{lon:.6f}", f"{lat:.6f}", f"On or near {name}")
                  for lon, lat, name in copies[force].values()}
        with open(tmp_path / "input" / "2024-03" / f"2024-03-{force}-street.csv",
                  encoding="utf-8") as handle:
            rows = [r for r in csv.DictReader(handle) if r["Longitude"]]
        assert rows and all((r["Longitude"], r["Latitude"], r["Location"]) in points
                            for r in rows), force

    result = run_month_args(["--month", "2024-03", "--input", str(tmp_path / "input"),
                             "--output", str(tmp_path / "out"), "--gazetteer",
                             str(tmp_path / "gazetteer")])
    assert result.manifest["totals"]["rows_in"] == 12_000
    records = read_live(tmp_path / "out", "restricted")
    status = collections.Counter(records["location_status"].to_pylist())
    reasons = collections.Counter(r for v in records["reasons"].to_pylist() for r in v or [])
    with_point = int(pc.sum(pc.is_valid(records["supplied_x"])).as_py())
    # Points on the street they name: none is moved as far from its street.
    assert reasons["FAR_FROM_STREET"] == 0
    assert status["supplied"] >= 0.99 * with_point
    # The real "No Location" rows stay without a location, said why.
    assert status["unlocated"] == reasons["NO_LOCATION_TEXT"] > 0.03 * 12_000
    registry = load_registry()
    for force in FORCES:
        mine = records.filter(pc.equal(records["force"], force))
        lon, lat = (mine[c].to_numpy(zero_copy_only=False) for c in ("lon", "lat"))
        min_lon, min_lat, max_lon, max_lat = registry.get(force).extent_wgs84
        located = ~np.isnan(lon)
        inside = ((lon >= min_lon) & (lon <= max_lon) & (lat >= min_lat) & (lat <= max_lat))
        assert inside[located].mean() > 0.99, force
