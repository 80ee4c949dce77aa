"""A gazetteer built from real published police.uk files (City of London, 2017-12..2019-06)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from crimegeo.gazetteer import Gazetteer, build_gazetteer
from crimegeo.gazetteer.geo import to_bng


def test_build_from_police_uk_files(col_gaz: Gazetteer) -> None:
    m = col_gaz.manifest
    assert {s["format"] for s in m["sources"]} == {"police-uk"}
    assert len(m["sources"]) == 19
    assert m["skipped"]["no_location"] > 0  # "No Location" rows are a counted skip
    assert "duplicate_identical" not in m["skipped"]  # months merge into one feature
    assert m["counts_by_type"]["Public Place"] > 50
    assert m["counts_by_type"]["Named Road"] > 300
    w = col_gaz.weight
    assert w.sum() > 10_000 and w.max() > 100


def test_folder_of_police_uk_files(tmp_path: Path, col_files: list[str]) -> None:
    d = tmp_path / "months"
    d.mkdir()
    for f in col_files[:2]:
        (d / Path(f).name).write_bytes(Path(f).read_bytes())
    m = build_gazetteer([str(d)], str(tmp_path / "gaz"))
    assert m["sources"][0]["format"] == "police-uk" and len(m["sources"][0]["files"]) == 2


def test_real_label_with_casing_defect(col_gaz: Gazetteer) -> None:
    m = col_gaz.lookup("On or near Alderman'S Walk", force="city-of-london")[0]
    assert (m.name, m.match_type, m.score) == ("Alderman'S Walk", "exact", 1.0)
    assert m.id.startswith("policeuk:")
    m2 = col_gaz.lookup("aldermans walk", force="city-of-london")[0]
    assert m2.id == m.id and m2.match_type == "normalised"


def test_generic_public_place_label_is_ambiguous(col_gaz: Gazetteer) -> None:
    found = col_gaz.lookup("On or near Supermarket", force="city-of-london", limit=20)
    assert len(found) > 5
    assert all(m.match_type == "ambiguous" for m in found)
    # calibrated: each place's chance of being the one meant, about its share of the crimes
    assert sum(m.score for m in found) < 1.5 and all(m.score < 0.2 for m in found[1:])


def test_street_with_several_map_points_is_one_place(col_gaz: Gazetteer) -> None:
    m = col_gaz.lookup("On or near Cheapside", force="city-of-london")[0]
    assert m.match_type == "exact" and m.score == 1.0
    assert m.extent[2] - m.extent[0] > 50  # spans its map points


def test_reverse_matches_published_points(col_gaz: Gazetteer, col_files: list[str]) -> None:
    with open(col_files[20], newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["Longitude"]][:200]
    lon = np.array([float(r["Longitude"]) for r in rows])
    lat = np.array([float(r["Latitude"]) for r in rows])
    x, y = to_bng(lon, lat)
    res = col_gaz.nearest_public_points(x, y, force="city-of-london")
    labels = ["On or near " + n if n else None for n in res["name"]]
    same = np.mean([a == r["Location"] for a, r in zip(labels, rows, strict=True)])
    assert same > 0.9  # a later month's published points are mostly known map points
    i = next(i for i, d in enumerate(res["distance_m"]) if d == 0)
    r = col_gaz.reverse(lon[i], lat[i])
    assert r is not None and r.distance_m < 1.0 and r.label == rows[i]["Location"]
