"""Output writing: formula-safe feedback, GeoParquet metadata, atomic writes."""

from __future__ import annotations

import csv
import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
import shapely

from transforms.outputs import (
    corrections_csv,
    neutralise_formula,
    parquet_bytes,
    part_name,
    write_bytes_atomic,
)


def test_formula_cells_are_neutralised() -> None:
    for text in ("=HYPERLINK(\"x\")", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"):
        assert neutralise_formula(text) == "'" + text
    assert neutralise_formula("High Street") == "High Street"
    assert neutralise_formula(-0.1) == -0.1  # numbers are not text cells


def test_corrections_csv_is_sorted_and_safe() -> None:
    rows = [{"source_file": "b.csv", "source_row": 2, "supplied_location": "=cmd()"},
            {"source_file": "a.csv", "source_row": 9, "supplied_location": "Mill Lane"}]
    text = corrections_csv([{**dict.fromkeys(
        ("crime_id", "month", "action", "location_status", "supplied_x", "supplied_y",
         "supplied_crs", "lon", "lat", "x_bng", "y_bng", "match_type", "geocode_score",
         "gazetteer_id", "reasons", "reason_meanings", "detail")), **r} for r in rows])
    parsed = list(csv.DictReader(io.StringIO(text.decode())))
    assert [r["source_file"] for r in parsed] == ["a.csv", "b.csv"]
    assert parsed[1]["supplied_location"] == "'=cmd()"


def test_parquet_has_geoparquet_metadata_and_no_partition_columns(tmp_path) -> None:
    table = pa.table({"month": ["2024-03"] * 2, "force": ["kent"] * 2, "lon": [1.0, None],
                      "lat": [51.0, None],
                      "geometry": [shapely.to_wkb(shapely.Point(1.0, 51.0)), None]})
    path = tmp_path / "x.parquet"
    path.write_bytes(parquet_bytes(table, "lon", "lat"))
    read = pq.read_table(path)
    assert read.column_names == ["lon", "lat", "geometry"]
    geo = json.loads(read.schema.metadata[b"geo"])
    assert geo["version"] == "1.1.0" and geo["primary_column"] == "geometry"
    assert geo["columns"]["geometry"]["encoding"] == "WKB"
    assert geo["columns"]["geometry"]["bbox"] == [1.0, 51.0, 1.0, 51.0]
    assert pq.ParquetFile(path).metadata.row_group(0).column(0).compression == "ZSTD"


def test_atomic_write_leaves_no_temporary_files(tmp_path) -> None:
    target = tmp_path / "a" / "b" / "c.bin"
    write_bytes_atomic(str(target), b"one")
    write_bytes_atomic(str(target), b"two")
    assert target.read_bytes() == b"two"
    assert [p.name for p in target.parent.iterdir()] == ["c.bin"]
    assert part_name("x.csv") == part_name("x.csv") != part_name("y.csv")
