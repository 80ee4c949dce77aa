"""Area layers and force boundaries on real ONS and police.uk boundaries."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from crimegeo.pipelines.settings import Locating
from crimegeo.standards import reasons
from crimegeo.standards.coordinates import to_bng
from crimegeo.transforms.areas import AreaLayerError, load_area_layer, load_force_boundaries
from crimegeo.transforms.locate import locate
from crimegeo.transforms.standardise import PARSED_SCHEMA
from tests.conftest import default_locate_options, read_live, run_month_args, shared_data

DEFAULTS = default_locate_options()


@pytest.fixture(scope="module")
def lsoa():
    return load_area_layer(str(shared_data("boundaries", "london-lsoa-2021",
                                           "london_lsoa.shp")))


def test_lsoa_layer_assigns_codes_that_agree_with_police_uk(lsoa) -> None:
    assert lsoa.name == "lsoa" and lsoa.code_column == "lsoa_code"
    folder = shared_data("police-uk", "city-of-london")
    table = pa.concat_tables([pacsv.read_csv(p) for p in sorted(folder.glob("*.csv"))])
    table = table.filter(pa.compute.is_valid(table["Longitude"]))
    x, y = to_bng(table["Longitude"].to_numpy(), table["Latitude"].to_numpy())
    codes, names = lsoa.assign(x, y)
    published = np.asarray(table["LSOA code"].to_pylist(), dtype=object)
    assigned = codes != None  # noqa: E711
    agreement = (codes[assigned] == published[assigned]).mean()
    # The shipped layer holds only some of the City's LSOAs; where it has one, police.uk's
    # 2011 code and the 2021 polygon agree for most points (measured: 94.5%).
    assert assigned.sum() > 4000
    assert agreement > 0.9
    assert sum(str(n).startswith("City of London") for n in names[assigned]) > 3000


def test_points_outside_every_polygon_get_none(lsoa) -> None:
    codes, names = lsoa.assign(np.array([np.nan, 0.0, 400000.0]),
                               np.array([1.0, 0.0, 300000.0]))
    assert codes.tolist() == [None, None, None] and names.tolist() == [None, None, None]


def test_force_boundary_from_a_real_police_uk_shape() -> None:
    boundaries = load_force_boundaries([str(shared_data("boundaries",
                                                        "gmp_force_area.geojson"))],
                                       Locating().boundary_tolerance_m)
    assert list(boundaries.areas) == ["greater-manchester"]
    # Manchester, Liverpool, Stockport, Buxton
    x, y = to_bng([-2.2426, -2.9916, -2.1578, -1.9152], [53.4808, 53.4084, 53.4106, 53.2587])
    assert boundaries.outside("greater-manchester", x, y).tolist() == [False, True, False, True]


def test_a_kml_boundary_named_after_its_force(tmp_path: Path) -> None:
    kml = tmp_path / "city-of-london.kml"
    ring = "-0.114,51.506 -0.072,51.506 -0.072,51.524 -0.114,51.524 -0.114,51.506"
    kml.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2">'
        "<Document><Placemark><name>City of London</name><Polygon><outerBoundaryIs>"
        f"<LinearRing><coordinates>{ring}</coordinates></LinearRing></outerBoundaryIs>"
        "</Polygon></Placemark></Document></kml>")
    boundaries = load_force_boundaries([str(tmp_path)], tolerance_m=0)
    assert list(boundaries.areas) == ["city-of-london"]
    x, y = to_bng([-0.0906, -0.1276], [51.5155, 51.5072])
    assert boundaries.outside("city-of-london", x, y).tolist() == [False, True]


def test_boundaries_decide_outside_force_in_locate() -> None:
    boundaries = load_force_boundaries([str(shared_data("boundaries",
                                                        "gmp_force_area.geojson"))],
                                       Locating().boundary_tolerance_m)
    base = {"crime_id": "c", "month": "2024-03", "force": "greater-manchester",
            "crime_type": "Burglary", "outcome": None, "context": None, "location_text": None,
            "street_name": None, "area_name": None, "supplied_crs": "EPSG:4326",
            "coordinates_invalid": False, "supplied_lsoa_code": None,
            "supplied_lsoa_name": None, "source_file": "f.csv"}
    # Warrington lies inside the registry's rough box but outside GMP's real boundary.
    rows = [{"supplied_x": -2.2426, "supplied_y": 53.4808},
            {"supplied_x": -2.5970, "supplied_y": 53.3900}]
    parsed = pa.Table.from_pylist([{**base, **r, "source_row": i + 1}
                                   for i, r in enumerate(rows)], schema=PARSED_SCHEMA)
    with_box = locate(parsed, None, DEFAULTS).to_pylist()
    with_boundary = locate(parsed, None, DEFAULTS, boundaries=boundaries).to_pylist()
    assert with_box[1]["reasons"] == []
    assert with_boundary[0]["reasons"] == []
    assert with_boundary[1]["reasons"] == ["OUTSIDE_FORCE"]


def test_unusable_layers_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(AreaLayerError, match="nothing.gpkg"):
        load_area_layer(str(tmp_path / "nothing.gpkg"))
    stray = tmp_path / "mystery-area.geojson"
    stray.write_text('{"type": "FeatureCollection", "features": [{"type": "Feature", '
                     '"properties": {"x": 1}, "geometry": {"type": "Point", '
                     '"coordinates": [0, 51]}}]}')
    with pytest.raises(AreaLayerError, match="cannot tell which force"):
        load_force_boundaries([str(stray)], Locating().boundary_tolerance_m)


@pytest.mark.slow
def test_a_partial_area_layer_keeps_the_area_a_record_came_with(tmp_path: Path) -> None:
    """Issue 17, finding 5: the London layer lacks City of London 001F and 001G, where most
    City records fall; they used to lose the LSOA they came with, silently."""
    source = shared_data("police-uk", "city-of-london", "2019-10-city-of-london-street.csv")
    layer = shared_data("boundaries", "london-lsoa-2021", "london_lsoa.shp")
    (tmp_path / "in").mkdir()
    shutil.copy(source, tmp_path / "in" / source.name)
    result = run_month_args(["--month", "2019-10", "--input", str(tmp_path / "in"),
                             "--output", str(tmp_path / "out"), "--areas", f"lsoa={layer}"])
    rows = read_live(tmp_path / "out", "restricted").to_pylist()
    outside = [r for r in rows if reasons.OUTSIDE_AREA_LAYER in r["reasons"]]
    assert outside, "the City's missing LSOAs hold records"
    for row in outside:
        assert row["lon"] is not None
        if row["location_status"] == "supplied" and reasons.OUTSIDE_FORCE not in row["reasons"]:
            assert row["lsoa_code"] == row["supplied_lsoa_code"] is not None
    inside = [r for r in rows if r["lon"] is not None and r not in outside]
    assert inside and all(r["lsoa_code"] for r in inside)
    assert result.manifest["totals"]["outside_area_layer"] == {"lsoa": len(outside)}
