"""The report's force maps: every record drawn where it is, in its status's colour."""

from __future__ import annotations

import io
import re

import numpy as np
import pyarrow as pa
from PIL import Image

from crimegeo.flows.report import MAP_PIXELS, STATUS_STYLE, force_map_png, map_caption
from crimegeo.standards.coordinates import to_lonlat


def _table(rows: list[dict]) -> pa.Table:
    columns = ["location_status", "x_bng", "y_bng", "supplied_x", "supplied_y",
               "supplied_crs", "geocode_score", "reasons"]
    return pa.table({c: [r.get(c) for r in rows] for c in columns},
                    schema=pa.schema([("location_status", pa.string()),
                                      ("x_bng", pa.float64()), ("y_bng", pa.float64()),
                                      ("supplied_x", pa.float64()),
                                      ("supplied_y", pa.float64()),
                                      ("supplied_crs", pa.string()),
                                      ("geocode_score", pa.float64()),
                                      ("reasons", pa.list_(pa.string()))]))


def _palette_index(status: str) -> int:
    return list(STATUS_STYLE).index(status) + 1


def test_map_draws_each_status_at_its_point_in_its_colour() -> None:
    # A 10 km square of background records, one corrected record in the middle, and an
    # unlocated record drawn at the lon/lat the force supplied (its south-west corner).
    grid = [(530_000 + 1_000 * i, 180_000 + 1_000 * j) for i in range(11) for j in range(11)]
    rows = [{"location_status": "supplied", "x_bng": x, "y_bng": y} for x, y in grid]
    rows.append({"location_status": "corrected", "x_bng": 535_000.0, "y_bng": 185_000.0})
    lon, lat = to_lonlat(np.array([530_000.0]), np.array([180_000.0]))
    rows.append({"location_status": "unlocated", "supplied_x": float(lon[0]),
                 "supplied_y": float(lat[0]), "supplied_crs": "EPSG:4326"})
    rows.append({"location_status": "unlocated"})  # nothing supplied: not mappable

    png, shown = force_map_png("metropolitan", "2024-03", _table(rows))

    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.mode == "P"
    pixels = np.asarray(image)
    assert max(pixels.shape) == MAP_PIXELS
    # The extent is the placed records' 10 km plus a 5% margin (500 m) each side.
    per_pixel = 11_000 / (MAP_PIXELS - 1)
    height = pixels.shape[0]

    def at(x: float, y: float) -> int:
        column = int((x - 529_500) / per_pixel)
        row = (height - 1) - int((y - 179_500) / per_pixel)
        return int(pixels[row, column])

    assert at(535_000, 185_000) == _palette_index("corrected")
    assert at(530_000, 180_000) == _palette_index("unlocated")  # drawn over the background
    assert at(531_000, 183_000) == _palette_index("supplied")
    assert at(530_500, 180_500 + 250) == 0  # between records: white
    palette = image.getpalette()[:3 * (len(STATUS_STYLE) + 1)]
    corrected = STATUS_STYLE["corrected"]["color"]
    assert bytes(palette[3 * _palette_index("corrected"):][:3]).hex() == corrected[1:]
    assert shown == {"records": 124, "not_mappable": 1, "supplied": 121, "corrected": 1,
                     "geocoded_street": 0, "geocoded_area": 0, "unlocated": 2}

    caption = map_caption("metropolitan", "2024-03", shown)
    assert "1 corrected, 2 unlocated (1 not mappable)" in caption
    assert "kept as supplied (121)" in caption and "located from street name" not in caption


def test_map_of_a_force_with_nothing_placed_is_a_blank_image() -> None:
    png, shown = force_map_png("kent", "2024-03", _table([{"location_status": "unlocated"}]))
    pixels = np.asarray(Image.open(io.BytesIO(png)))
    assert (pixels == 0).all()
    assert shown["not_mappable"] == 1 and shown["unlocated"] == 1


def test_report_map_is_the_site_s_map_drawing_with_outlines_scale_and_attribution() -> None:
    import shapely

    from crimegeo.flows.report import force_map_svg

    grid = [(530_000 + 1_000 * i, 180_000 + 1_000 * j) for i in range(11) for j in range(11)]
    rows = [{"location_status": "supplied", "x_bng": x, "y_bng": y} for x, y in grid]
    rows.append({"location_status": "corrected", "x_bng": 535_000.0, "y_bng": 185_000.0})
    inside = ("Inner 001A (E01000001)", shapely.box(531_000, 181_000, 533_000, 183_000))
    far = ("Far 001A (E01999999)", shapely.box(600_000, 300_000, 601_000, 301_000))
    boundary = shapely.box(529_000, 179_000, 541_000, 191_000)
    svg, shown = force_map_svg("metropolitan", "2024-03", _table(rows),
                               outlines=[inside, far], boundary=boundary)
    assert shown["corrected"] == 1 and shown["supplied"] == 121
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg" role="img"')
    assert "<title>Inner 001A (E01000001)</title>" in svg and "E01999999" not in svg
    assert 'class="boundary"' in svg
    assert svg.count("data:image/png;base64,") == 1  # the records' raster underneath
    assert re.search(r">\d+ km</text>", svg)  # a scale bar in round kilometres
    assert "Open Government Licence v3.0" in svg and "Crown copyright" in svg
    assert 'aria-labelledby="map-metropolitan-title map-metropolitan-desc"' in svg
    assert "metropolitan 2024-03: 1 corrected, 0 unlocated" in svg
