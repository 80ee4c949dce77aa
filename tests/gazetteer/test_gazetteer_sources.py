"""Building from each real source format, and what a bad source does."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from gazetteer_testdata import OS_DIR, SMALL_FEATURES, write_small_csv

from crimegeo.gazetteer import Gazetteer, GazetteerError, build_gazetteer
from crimegeo.gazetteer.sources import OS_OPEN_NAMES_COLUMNS, detect_format

# ---------------------------------------------------------------- OS Open Names (real tiles)


def test_os_open_names_folder(os_gaz: Gazetteer) -> None:
    m = os_gaz.manifest
    tiles = sum(len(s["files"]) for s in m["sources"])
    assert tiles == 3 and m["sources"][0]["format"] == "os-open-names"
    assert m["features"] == 64 + 454 + 495 + m["derived_area_features"]
    assert m["counts_by_type"]["Named Road"] > 0 and m["counts_by_type"]["Postcode"] > 0
    assert os_gaz.manifest["skipped"] == {}


def test_os_open_names_keeps_uri_type_extent_and_hierarchy(os_gaz: Gazetteer) -> None:
    m = os_gaz.lookup("Lydd-on-Sea")[0]
    assert m.id == "osgb4000000074568119"
    assert m.uri == "http://data.ordnancesurvey.co.uk/id/4000000074568119"
    assert (m.local_type, m.match_type) == ("Village", "area")
    assert (m.x_bng, m.y_bng) == (609086.0, 118637.0)
    assert m.extent == (607980.0, 118434.0, 609219.0, 121674.0)
    row = os_gaz.features.filter(
        os_gaz.features.column("id").to_numpy(zero_copy_only=False) == m.id).to_pylist()[0]
    assert (row["district"], row["county"], row["region"]) == ("Shepway", "Kent", "South East")


@pytest.mark.parametrize(
    ("text", "local_type"),
    [("TN29 9NW", "Postcode"), ("tn29", "Postcode District"), ("Shepway", "District"),
     ("Kent", "County"), ("Dungeness", "Village")],
)
def test_os_area_names_geocode_as_areas(os_gaz: Gazetteer, text: str, local_type: str) -> None:
    m = os_gaz.lookup(text)[0]
    assert (m.local_type, m.match_type) == (local_type, "area")
    assert m.extent is not None


def test_os_road_lookup_and_force_restriction(os_gaz: Gazetteer) -> None:
    m = os_gaz.lookup("dungeness rd", force="kent")[0]
    assert m.name == "Dungeness Road" and m.match_type == "normalised"
    assert os_gaz.lookup("Dungeness Road", force="city-of-london") == []
    r = os_gaz.reverse(m.lon, m.lat)
    assert r is not None and r.label.startswith("On or near ")


def test_os_open_names_zip_and_single_tile(tmp_path: Path) -> None:
    if not (OS_DIR / "TR00.csv").exists():
        pytest.skip(f"real OS Open Names tiles not found in {OS_DIR}")
    z = tmp_path / "opname_csv_gb.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.write(OS_DIR / "OS_Open_Names_Header.csv", "DOC/OS_Open_Names_Header.csv")
        for t in ("TR00", "HP40"):
            zf.write(OS_DIR / f"{t}.csv", f"DATA/{t}.csv")
    assert detect_format(str(z)) == "os-open-names"
    m = build_gazetteer([str(z)], str(tmp_path / "gz"))
    assert m["features"] - m["derived_area_features"] == 64 + 454
    m1 = build_gazetteer([str(OS_DIR / "TR00.csv")], str(tmp_path / "g1"),
                         format="os-open-names")
    assert m1["features"] - m1["derived_area_features"] == 64


def _os_row(**over: str) -> list[str]:
    row = dict.fromkeys(OS_OPEN_NAMES_COLUMNS, "")
    row.update(ID="osgbX1", NAMES_URI="http://data.ordnancesurvey.co.uk/id/X1", NAME1="Test Road",
               TYPE="transportNetwork", LOCAL_TYPE="Named Road", GEOMETRY_X="531000",
               GEOMETRY_Y="181000")
    row.update(over)
    return list(row.values())


def _write_os(path: Path, rows: list[list[str]]) -> Path:
    buf = io.StringIO()
    import csv

    csv.writer(buf).writerows(rows)
    path.write_bytes(b"\xef\xbb\xbf" + buf.getvalue().encode())
    return path


# ---------------------------------------------------------------- bad sources


def test_wrong_column_count_names_file_and_line(tmp_path: Path) -> None:
    p = _write_os(tmp_path / "XX00.csv", [_os_row(), _os_row(ID="osgbX2")[:30]])
    with pytest.raises(GazetteerError, match=r"XX00\.csv: line 2 has 30 columns.*34"):
        build_gazetteer([str(p)], str(tmp_path / "out"), format="os-open-names")
    assert not (tmp_path / "out").exists()
    assert [q.name for q in tmp_path.iterdir()] == ["XX00.csv"]  # no temporary left either


def test_wrong_column_count_in_plain_csv(tmp_path: Path) -> None:
    p = tmp_path / "g.csv"
    p.write_text("id,name,local_type,lon,lat\na,Fleet Street,Named Road,-0.1,51.5\n"
                 "b,Fetter Lane,Named Road,-0.1\n")
    with pytest.raises(GazetteerError, match=r"g\.csv: line 3 has 4 columns"):
        build_gazetteer([str(p)], str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf", b"id,name,local_type,lon,lat\n"])
def test_empty_file(tmp_path: Path, content: bytes) -> None:
    p = tmp_path / "empty.csv"
    p.write_bytes(content)
    with pytest.raises(GazetteerError, match="empty|no rows"):
        build_gazetteer([str(p)], str(tmp_path / "out"), format="csv")
    assert not (tmp_path / "out").exists()


def test_duplicate_ids_are_an_error(tmp_path: Path) -> None:
    rows = [*SMALL_FEATURES, ("col-4", "Other Street", "Named Road", -0.1, 51.51, "", "", "", "")]
    p = write_small_csv(tmp_path / "dup.csv", rows)
    with pytest.raises(GazetteerError, match=r"duplicate feature ids.*col-4"):
        build_gazetteer([str(p)], str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()


def test_identical_repeated_source_is_a_counted_skip(tmp_path: Path) -> None:
    p = write_small_csv(tmp_path / "s.csv")
    m = build_gazetteer([str(p), str(p)], str(tmp_path / "out"))
    assert m["features"] == len(SMALL_FEATURES)
    assert m["skipped"]["duplicate_identical"] == len(SMALL_FEATURES)


def test_points_outside_great_britain_are_counted_skips(tmp_path: Path) -> None:
    rows = [*SMALL_FEATURES, ("paris", "Rue de Rivoli", "Named Road", 2.35, 48.86, "", "", "", ""),
            ("nyc", "Broadway", "Named Road", -73.98, 40.75, "", "", "", "")]
    m = build_gazetteer([str(write_small_csv(tmp_path / "s.csv", rows))], str(tmp_path / "o"))
    assert m["skipped"] == {"outside_great_britain": 2}
    assert m["sources"][0]["skipped"] == {"outside_great_britain": 2}
    assert m["features"] == len(SMALL_FEATURES)


def test_all_points_outside_great_britain_is_an_error(tmp_path: Path) -> None:
    p = tmp_path / "swapped.csv"
    p.write_text("id,name,local_type,lon,lat\na,Fleet Street,Named Road,51.51,-0.10\n")
    with pytest.raises(GazetteerError, match="outside Great Britain"):
        build_gazetteer([str(p)], str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()


def test_unknown_crs(tmp_path: Path) -> None:
    p = tmp_path / "xy.csv"
    p.write_text("id,name,local_type,x,y\na,Fleet Street,Named Road,531000,181000\n")
    with pytest.raises(GazetteerError, match="unknown CRS 'EPSG:999999'"):
        build_gazetteer([str(p)], str(tmp_path / "out"), crs="EPSG:999999")
    assert not (tmp_path / "out").exists()


def test_failed_rebuild_keeps_the_previous_artifact(tmp_path: Path) -> None:
    good = write_small_csv(tmp_path / "s.csv")
    first = build_gazetteer([str(good)], str(tmp_path / "gaz"))
    bad = tmp_path / "bad.csv"
    bad.write_text("id,name\n")
    with pytest.raises(GazetteerError):
        build_gazetteer([str(bad)], str(tmp_path / "gaz"), format="csv")
    assert Gazetteer.load(str(tmp_path / "gaz")).checksum == first["checksum"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv", "gaz", "s.csv"]


def test_unfinished_artifact_is_refused(tmp_path: Path) -> None:
    (tmp_path / "half").mkdir()
    with pytest.raises(GazetteerError, match="no manifest"):
        Gazetteer.load(str(tmp_path / "half"))


def test_unrecognised_source(tmp_path: Path) -> None:
    p = tmp_path / "what.csv"
    p.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(GazetteerError, match="cannot tell the format"):
        build_gazetteer([str(p)], str(tmp_path / "out"))


# ---------------------------------------------------------------- vector


def test_vector_geojson_with_name_column(tmp_path: Path) -> None:
    gj = {
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}},
        "features": [
            {"type": "Feature", "properties": {"id": "v1", "road": "Fleet Street"},
             "geometry": {"type": "LineString",
                          "coordinates": [[-0.1090, 51.5140], [-0.1040, 51.5142]]}},
            {"type": "Feature", "properties": {"id": "v2", "road": "Smithfield Market"},
             "geometry": {"type": "Point", "coordinates": [-0.1010, 51.5193]}},
            {"type": "Feature", "properties": {"id": "v3", "road": None},
             "geometry": {"type": "Point", "coordinates": [-0.1, 51.52]}},
        ],
    }
    p = tmp_path / "roads.geojson"
    p.write_text(json.dumps(gj))
    with pytest.raises(GazetteerError, match="no name column"):
        build_gazetteer([str(p)], str(tmp_path / "o0"))
    m = build_gazetteer([str(p)], str(tmp_path / "o"), name_column="road")
    assert m["sources"][0]["format"] == "vector"
    assert m["skipped"] == {"missing_name_or_geometry": 1}
    gaz = Gazetteer.load(str(tmp_path / "o"))
    road = gaz.lookup("fleet st")[0]
    assert road.local_type == "Named Road" and road.id == "v1"
    assert road.extent[2] - road.extent[0] > 300  # the line's extent, in metres
    assert gaz.lookup("Smithfield Market")[0].local_type == "Public Place"


def test_vector_geopackage_in_bng(tmp_path: Path) -> None:
    import geopandas as gpd
    import shapely

    df = gpd.GeoDataFrame(
        {"name": ["Fleet Street", "Fetter Lane"], "local_type": ["Named Road", "Named Road"]},
        geometry=[shapely.LineString([(531200, 181150), (531600, 181200)]),
                  shapely.LineString([(531300, 181250), (531320, 181500)])],
        crs="EPSG:27700",
    )
    p = tmp_path / "roads.gpkg"
    df.to_file(p)
    build_gazetteer([str(p)], str(tmp_path / "o"))
    gaz = Gazetteer.load(str(tmp_path / "o"))
    m = gaz.lookup("Fetter Ln")[0]
    assert m.id == "roads:1" and m.extent == (531300.0, 181250.0, 531320.0, 181500.0)
    assert np.isclose(m.lon, -0.11, atol=0.01)
