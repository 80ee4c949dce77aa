"""Validating and correcting supplied coordinates, and geocoding what has none."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pytest

from crimegeo.standards import reasons
from crimegeo.standards.coordinates import to_bng
from crimegeo.transforms.locate import locate
from crimegeo.transforms.standardise import PARSED_SCHEMA
from tests.conftest import default_locate_options

DEFAULTS = default_locate_options()

BANK = (-0.0906, 51.5155)          # in the City of London
CANTERBURY = (1.0789, 51.2802)     # in Kent, far outside the City


def _parsed(rows: list[dict]) -> pa.Table:
    base = {"crime_id": "c", "month": "2024-03", "force": "city-of-london",
            "crime_type": "Burglary", "outcome": None, "context": None,
            "location_text": None, "street_name": None, "area_name": None,
            "supplied_x": None, "supplied_y": None, "supplied_crs": "EPSG:4326",
            "coordinates_invalid": False, "supplied_lsoa_code": "E01000001",
            "supplied_lsoa_name": "City of London 001A", "source_file": "f.csv"}
    return pa.Table.from_pylist(
        [{**base, **row, "source_row": i + 1} for i, row in enumerate(rows)],
        schema=PARSED_SCHEMA)


def test_each_coordinate_defect_gets_its_reason() -> None:
    bank_x, bank_y = (float(v[0]) for v in to_bng([BANK[0]], [BANK[1]]))
    table = locate(_parsed([
        {"supplied_x": BANK[0], "supplied_y": BANK[1]},
        {"supplied_x": BANK[1], "supplied_y": BANK[0]},
        {"supplied_x": bank_x, "supplied_y": bank_y},
        {"supplied_x": 0.0, "supplied_y": 0.0},
        {},
        {"coordinates_invalid": True},
        {"supplied_x": 2.35, "supplied_y": 48.85},
        {"supplied_x": CANTERBURY[0], "supplied_y": CANTERBURY[1]},
        {"supplied_x": bank_x, "supplied_y": bank_y, "supplied_crs": "EPSG:27700"},
        {"supplied_x": BANK[0], "supplied_y": BANK[1], "supplied_crs": "EPSG:27700"},
    ]), None, DEFAULTS)
    rows = table.to_pylist()
    expect = [
        ("supplied", []),
        ("corrected", [reasons.SWAPPED_AXES]),
        ("corrected", [reasons.BNG_IN_LONLAT]),
        ("unlocated", [reasons.ZERO_COORDINATES, reasons.NO_LOCATION_TEXT]),
        ("unlocated", [reasons.MISSING_COORDINATES, reasons.NO_LOCATION_TEXT]),
        ("unlocated", [reasons.INVALID_COORDINATES, reasons.NO_LOCATION_TEXT]),
        ("unlocated", [reasons.OUTSIDE_GB, reasons.NO_LOCATION_TEXT]),
        ("supplied", [reasons.OUTSIDE_FORCE]),  # no text to re-locate from: kept, flagged
        ("supplied", []),
        ("corrected", [reasons.LONLAT_IN_BNG]),
    ]
    for row, (status, codes) in zip(rows, expect, strict=True):
        assert (row["location_status"], row["reasons"]) == (status, codes), row
    for row in (rows[0], rows[1], rows[2], rows[8], rows[9]):
        assert row["lon"] == pytest.approx(BANK[0], abs=1e-5)
        assert row["lat"] == pytest.approx(BANK[1], abs=1e-5)
        assert row["x_bng"] == pytest.approx(bank_x, abs=0.5)
        assert row["geometry"] is not None
    assert rows[4]["lon"] is None and rows[4]["geometry"] is None
    # The supplied LSOA only stands when the point is the supplied one.
    assert rows[0]["lsoa_code"] == "E01000001"
    assert rows[1]["lsoa_code"] is None
    assert rows[1]["supplied_lsoa_code"] == "E01000001"


@pytest.fixture(scope="module")
def small_gazetteer(tmp_path_factory: pytest.TempPathFactory):
    from crimegeo.gazetteer import Gazetteer, build_gazetteer

    folder = tmp_path_factory.mktemp("gaz")
    source = folder / "streets.csv"
    source.write_text(
        "id,name,local_type,lon,lat,force\n"
        "s1,Wood Street,Named Road,-0.0937,51.5163,city-of-london\n"
        "s2,Cheapside,Named Road,-0.0946,51.5141,city-of-london\n"
        "s3,Wood Street,Named Road,1.0700,51.2800,kent\n"
        "a1,Barbican,Suburban Area,-0.0935,51.5200,city-of-london\n")
    build_gazetteer([str(source)], str(folder / "gaz"), format="csv")
    return Gazetteer.load(str(folder / "gaz"))


def test_missing_points_are_geocoded_within_the_force(small_gazetteer) -> None:
    table = locate(_parsed([
        {"street_name": "Wood Street", "location_text": "On or near Wood Street"},
        {"street_name": "wood st"},
        {"street_name": "Nowhere Lane"},
        {"area_name": "Barbican"},
        {"street_name": "Wood Street", "supplied_x": CANTERBURY[0],
         "supplied_y": CANTERBURY[1]},
    ]), small_gazetteer, DEFAULTS)
    rows = table.to_pylist()
    assert rows[0]["location_status"] == "geocoded_street"
    assert rows[0]["gazetteer_id"] == "s1"
    assert rows[0]["lon"] == pytest.approx(-0.0937)
    assert reasons.GEOCODED_STREET in rows[0]["reasons"]
    assert rows[1]["location_status"] == "geocoded_street" and rows[1]["gazetteer_id"] == "s1"
    assert rows[2]["location_status"] == "unlocated"
    assert reasons.GEOCODE_NO_MATCH in rows[2]["reasons"] or (
        reasons.GEOCODE_LOW_SCORE in rows[2]["reasons"])
    assert rows[3]["location_status"] == "geocoded_area"
    assert rows[3]["gazetteer_id"] == "a1"
    # A point in Kent for a City record naming a City street is re-located to that street.
    assert rows[4]["location_status"] == "geocoded_street"
    assert rows[4]["reasons"][:1] == [reasons.OUTSIDE_FORCE]
    assert rows[4]["lon"] == pytest.approx(-0.0937)
    assert all(0 <= (r["geocode_score"] or 0) <= 1 for r in rows)


def test_low_scores_are_suggestions_not_locations(small_gazetteer) -> None:
    table = locate(_parsed([{"street_name": "Wood Stret"}]), small_gazetteer,
                   replace(DEFAULTS, min_geocode_score=0.999))
    (row,) = table.to_pylist()
    assert row["location_status"] == "unlocated"
    assert row["lon"] is None
    # The misspelling is found, below the threshold: reported as a suggestion, not used.
    assert 0 < row["geocode_score"] < 0.999
    assert reasons.GEOCODE_LOW_SCORE in row["reasons"]
    assert row["gazetteer_id"] == "s1"


def test_no_location_text_is_not_geocoded(tmp_path: Path) -> None:
    (row,) = locate(_parsed([{"street_name": "No Location"}]), None, DEFAULTS).to_pylist()
    assert row["reasons"] == [reasons.MISSING_COORDINATES, reasons.NO_LOCATION_TEXT]
