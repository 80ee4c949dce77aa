"""Output writing: formula-safe feedback, GeoParquet metadata, atomic writes."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import shapely

from crimegeo.store.files import write_bytes_atomic
from crimegeo.store.layout import part_name
from crimegeo.transforms.feedback import neutralise_formula
from crimegeo.transforms.outputs import parquet_bytes
from tests.conftest import default_locate_options, suite_public_id_key

DEFAULTS = default_locate_options()


def test_formula_cells_are_neutralised() -> None:
    for text in ("=HYPERLINK(\"x\")", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"):
        assert neutralise_formula(text) == "'" + text
    assert neutralise_formula("High Street") == "High Street"
    assert neutralise_formula(-0.1) == -0.1  # numbers are not text cells


def _points_table(lon: list, lat: list) -> pa.Table:
    return pa.table({
        "month": ["2024-03"] * len(lon), "force": ["kent"] * len(lon),
        "row": list(range(1, len(lon) + 1)), "lon": lon, "lat": lat,
        "geometry": [None if x is None else shapely.to_wkb(shapely.Point(x, y))
                     for x, y in zip(lon, lat, strict=True)]})


def test_parquet_is_geoparquet_1_1_without_partition_columns(tmp_path) -> None:
    lon = [1.0, None, -2.98, 1.01, -2.97]
    lat = [51.0, None, 53.41, 51.01, 53.40]
    path = tmp_path / "x.parquet"
    path.write_bytes(parquet_bytes(_points_table(lon, lat), "lon", "lat"))
    read = pq.read_table(path)
    assert read.column_names == ["row", "lon", "lat", "geometry", "bbox"]
    # One row group: its box is the same in any order, so the rows keep theirs.
    assert read["row"].to_pylist() == [1, 2, 3, 4, 5]
    geo = json.loads(read.schema.metadata[b"geo"])
    column = geo["columns"]["geometry"]
    assert geo["version"] == "1.1.0" and geo["primary_column"] == "geometry"
    assert column["encoding"] == "WKB" and column["geometry_types"] == ["Point"]
    assert column["bbox"] == [-2.98, 51.0, 1.01, 53.41]
    assert column["crs"]["id"] == {"authority": "OGC", "code": "CRS84"}
    assert column["covering"]["bbox"]["xmin"] == ["bbox", "xmin"]
    boxes = read["bbox"].to_pylist()
    assert boxes[1] is None
    for box, x, y in zip(boxes, read["lon"].to_pylist(), read["lat"].to_pylist(),
                         strict=True):
        assert box == (None if x is None else {"xmin": x, "ymin": y, "xmax": x, "ymax": y})
    metadata = pq.ParquetFile(path).metadata
    assert metadata.num_row_groups == 1
    assert metadata.row_group(0).column(0).compression == "ZSTD"
    assert b"pandas" not in read.schema.metadata


def test_a_part_of_several_row_groups_is_spatially_ordered(tmp_path) -> None:
    """Rows along a Z-order curve, the rows without a point last, so each row group covers
    a small box: Kent's rows in one, Merseyside's in another, as written interleaved."""
    lon = [1.0, -2.98, None, 1.01, -2.97, 1.02, -2.96, None]
    lat = [51.0, 53.41, None, 51.01, 53.40, 51.02, 53.42, None]
    path = tmp_path / "x.parquet"
    path.write_bytes(parquet_bytes(_points_table(lon, lat), "lon", "lat", row_group_rows=3))
    read = pq.read_table(path)
    assert sorted(read["row"].to_pylist()) == list(range(1, 9))
    assert read["row"].to_pylist()[-2:] in ([3, 8], [8, 3])
    metadata = pq.ParquetFile(path).metadata
    assert metadata.num_row_groups == 3
    lon_at = read.schema.get_field_index("lon")
    spans = [metadata.row_group(g).column(lon_at).statistics for g in range(2)]
    assert all(s.max - s.min < 0.1 for s in spans), [(s.min, s.max) for s in spans]


def test_atomic_write_leaves_no_temporary_files(tmp_path) -> None:
    target = tmp_path / "a" / "b" / "c.bin"
    write_bytes_atomic(str(target), b"one")
    write_bytes_atomic(str(target), b"two")
    assert target.read_bytes() == b"two"
    assert [p.name for p in target.parent.iterdir()] == ["c.bin"]
    assert part_name("x.csv") == part_name("x.csv") != part_name("y.csv")


def test_only_repetitive_columns_get_a_dictionary_and_values_survive(tmp_path) -> None:
    from crimegeo.standards.schema import RECORD_SCHEMA
    from crimegeo.transforms.anonymise import public_table
    from crimegeo.transforms.locate import locate
    from crimegeo.transforms.standardise import PARSED_SCHEMA

    rows = 300
    parsed = pa.Table.from_pylist([{
        "crime_id": f"id-{i}", "month": "2024-03", "force": "kent",
        "crime_type": ("Burglary", "Drugs")[i % 2], "outcome": None, "context": None,
        "location_text": "On or near High Street", "street_name": "High Street",
        "area_name": None, "supplied_x": 0.52 + i * 1e-4, "supplied_y": 51.27 + i * 1e-4,
        "supplied_crs": "EPSG:4326", "coordinates_invalid": False,
        "supplied_lsoa_code": None, "supplied_lsoa_name": None,
        "source_file": "kent.csv", "source_row": i + 1} for i in range(rows)],
        schema=PARSED_SCHEMA)
    records = locate(parsed, None, DEFAULTS)
    assert records.schema.metadata[b"crimegeo.table"] == b"record"

    def encodings(data: bytes) -> dict[str, bool]:
        group = pq.read_metadata(pa.BufferReader(data)).row_group(0)
        return {group.column(i).path_in_schema: "RLE_DICTIONARY" in group.column(i).encodings
                for i in range(group.num_columns)}

    restricted = parquet_bytes(records, "lon", "lat")
    dictionary = encodings(restricted)
    assert not dictionary["crime_id"] and not dictionary["geometry"] and not dictionary["lon"]
    assert dictionary["crime_type"] and dictionary["location_status"]
    read = pq.read_table(pa.BufferReader(restricted))
    assert sorted(read["crime_id"].to_pylist()) == sorted(records["crime_id"].to_pylist())
    assert read.schema.metadata[b"crimegeo.table"] == RECORD_SCHEMA.metadata[b"crimegeo.table"]

    public = public_table(records, key=suite_public_id_key())
    assert encodings(parquet_bytes(public, "public_lon", "public_lat"))["crime_type"]
    assert not encodings(parquet_bytes(public, "public_lon", "public_lat"))["persistent_id"]
