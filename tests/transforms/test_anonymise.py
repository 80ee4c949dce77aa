"""Anonymising: nearest public map point, 'On or near' labels, k-merging, nothing exact."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from crimegeo.gazetteer import Gazetteer, build_gazetteer
from crimegeo.standards import reasons
from crimegeo.transforms.anonymise import anonymise, merge_small_points, public_table
from crimegeo.transforms.locate import locate
from crimegeo.transforms.standardise import PARSED_SCHEMA
from tests.conftest import default_locate_options, suite_public_id_key

DEFAULTS = default_locate_options()


@pytest.fixture(scope="module")
def map_points(tmp_path_factory: pytest.TempPathFactory) -> Gazetteer:
    folder = tmp_path_factory.mktemp("points")
    (folder / "points.csv").write_text(
        "id,name,local_type,lon,lat,force\n"
        "p1,Wood Street,Named Road,-0.0937,51.5163,city-of-london\n"
        "p2,Cheapside,Named Road,-0.0946,51.5141,city-of-london\n"
        "p3,Fore Street,Named Road,-0.0920,51.5185,city-of-london\n")
    build_gazetteer([str(folder / "points.csv")], str(folder / "gaz"), format="csv")
    return Gazetteer.load(str(folder / "gaz"))


def _records(points: list[tuple[float, float] | None]) -> pa.Table:
    base = {"crime_id": "c", "month": "2024-03", "force": "city-of-london",
            "crime_type": "Burglary", "outcome": None, "context": None, "location_text": None,
            "street_name": None, "area_name": None, "supplied_crs": "EPSG:4326",
            "coordinates_invalid": False, "supplied_lsoa_code": None,
            "supplied_lsoa_name": None, "source_file": "f.csv"}
    rows = [{**base, "supplied_x": p[0] if p else None, "supplied_y": p[1] if p else None,
             "source_row": i + 1} for i, p in enumerate(points)]
    return locate(pa.Table.from_pylist(rows, schema=PARSED_SCHEMA), None, DEFAULTS)


def test_records_move_to_their_nearest_map_point(map_points: Gazetteer) -> None:
    table = anonymise(_records([(-0.0938, 51.5162), (-0.0945, 51.5142), None]), map_points)
    rows = table.to_pylist()
    assert rows[0]["public_label"] == "On or near Wood Street"
    assert (rows[0]["public_lon"], rows[0]["public_lat"]) == pytest.approx((-0.0937, 51.5163))
    assert rows[1]["public_label"] == "On or near Cheapside"
    assert rows[2]["public_label"] is None and rows[2]["public_lon"] is None
    public = public_table(table, key=suite_public_id_key())
    assert public.num_rows == 3
    assert "lon" not in public.column_names and "source_row" not in public.column_names
    # No public point is an exact input point (the inputs here are not map points).
    inputs = {(-0.0938, 51.5162), (-0.0945, 51.5142)}
    published = set(zip(public["public_lon"].to_pylist(), public["public_lat"].to_pylist(),
                        strict=True))
    assert not inputs & published


def test_no_map_point_within_20_km_publishes_no_location(map_points: Gazetteer) -> None:
    # A City record placed (by a defect nobody caught) in Canterbury.
    table = anonymise(_records([(1.0789, 51.2802)]), map_points)
    (row,) = table.to_pylist()
    assert row["public_label"] is None and row["public_lon"] is None
    assert reasons.NO_PUBLIC_POINT in row["reasons"]


def test_points_used_by_fewer_than_k_records_merge_into_the_nearest_larger(
        map_points: Gazetteer) -> None:
    near_wood = [(-0.0938, 51.5162)] * 3
    near_fore = [(-0.0921, 51.5184)]           # alone at Fore Street
    near_cheapside = [(-0.0945, 51.5142)] * 2
    table = anonymise(_records(near_wood + near_fore + near_cheapside), map_points,
                      min_count=2)
    labels = table["public_label"].to_pylist()
    assert labels[:3] == ["On or near Wood Street"] * 3
    assert labels[3] == "On or near Wood Street"  # Fore Street's only record moved
    assert labels[4:] == ["On or near Cheapside"] * 2
    counts = {label: labels.count(label) for label in labels}
    assert min(counts.values()) >= 2


def test_merge_small_points_when_no_point_is_big_enough() -> None:
    ids = np.array(["a", "b", None], dtype=object)
    moved = merge_small_points(ids, np.array([0.0, 1.0, np.nan]), np.array([0.0, 1.0, np.nan]),
                               min_count=5)
    assert moved.tolist() == [-1, -1, -1]
    assert merge_small_points(ids, np.zeros(3), np.zeros(3), 1).tolist() == [0, 1, -1]


def test_public_table_takes_area_codes_from_the_public_point(map_points: Gazetteer,
                                                             tmp_path: Path) -> None:
    from crimegeo.transforms.areas import load_area_layer
    from tests.conftest import shared_data

    layer = load_area_layer(str(shared_data("boundaries", "london-lsoa-2021",
                                            "london_lsoa.shp")))
    table = anonymise(_records([(-0.0938, 51.5162)]), map_points)
    public = public_table(table, [layer], key=suite_public_id_key())
    from crimegeo.standards.coordinates import to_bng

    x, y = to_bng([-0.0937], [51.5163])
    code, _ = layer.assign(x, y)
    assert public["lsoa_code"].to_pylist() == code.tolist()


def test_public_points_carry_a_stable_location_id_from_the_point_alone(
        map_points: Gazetteer, tmp_path: Path) -> None:
    from crimegeo.standards.locations import location_id

    records = _records([(-0.0938, 51.5162), (-0.0936, 51.5164), (-0.0945, 51.5142), None])
    public = public_table(anonymise(records, map_points), key=suite_public_id_key())
    ids = public["location_id"].to_pylist()
    # Two records at Wood Street's point share its id; Cheapside has another; no point, no id.
    assert ids[0] == ids[1] and ids[0] != ids[2] and ids[3] is None
    assert ids[0] == location_id(-0.0937, 51.5163, "On or near Wood Street")
    assert all(0 <= i < 2**52 for i in ids[:3])  # exact as a JavaScript number
    # A rebuild of the same points in another order, at another path: the same ids.
    (tmp_path / "points.csv").write_text(
        "id,name,local_type,lon,lat,force\n"
        "p3,Fore Street,Named Road,-0.0920,51.5185,city-of-london\n"
        "p2,Cheapside,Named Road,-0.0946,51.5141,city-of-london\n"
        "p1,Wood Street,Named Road,-0.0937,51.5163,city-of-london\n")
    build_gazetteer([str(tmp_path / "points.csv")], str(tmp_path / "gaz"), format="csv")
    rebuilt = public_table(anonymise(records, Gazetteer.load(str(tmp_path / "gaz"))),
                           key=suite_public_id_key())
    assert rebuilt["location_id"].to_pylist() == ids


def test_public_table_passes_only_vetted_text_and_area_codes(map_points: Gazetteer) -> None:
    from crimegeo.standards.profiles import PublicRules
    from crimegeo.transforms.anonymise import flag_unpublished_outcomes

    table = anonymise(_records([(-0.0938, 51.5162)] * 4), map_points)
    supplied = {
        "lsoa_code": ["E01000001", "W01000123", "Flat 3, 12 High Street", None],
        "lsoa_name": ["City of London 001A", "Ynys Môn 001A", "City of London 001A",
                      "Somewhere 001A"],
        "context": ["Suspect is the victim's neighbour", None, "text", None],
        "outcome": ["Local resolution", "Suspect J. Smith cautioned", None, "local resolution"],
    }
    for name, values in supplied.items():
        table = table.set_column(table.schema.get_field_index(name), name,
                                 pa.array(values, pa.string()))
    key = suite_public_id_key()
    public = public_table(table, key=key)  # a profile of unknown origin: no free text
    assert public["lsoa_code"].to_pylist() == ["E01000001", "W01000123", None, None]
    # A name passes only with its code, and only shaped as an LSOA name.
    assert public["lsoa_name"].to_pylist() == ["City of London 001A", "Ynys Môn 001A", None,
                                              None]
    assert public["context"].to_pylist() == [None] * 4
    assert public["outcome"].to_pylist() == ["Local resolution", None, None,
                                            "Local resolution"]
    flagged = flag_unpublished_outcomes(table)
    assert [reasons.OUTCOME_NOT_PUBLISHED in r for r in flagged["reasons"].to_pylist()] == [
        False, True, False, False]
    police_uk = PublicRules("police-uk-persistent-id", ("context",))
    assert public_table(table, rules=police_uk, key=key)["context"].to_pylist() == (
        supplied["context"])
