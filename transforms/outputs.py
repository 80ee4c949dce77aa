"""Write a run's outputs through fsspec: GeoParquet parts, feedback files, rejected rows.

Files are written under the run's staging folder with a temporary name and then moved into
place, so a reader never sees half a file; `commit_month` later swaps the staged month into the
published tree. We write partitions ourselves: Beam's `fileio.WriteToFiles` loses files with
nested destinations such as `month=2024-01/force=kent` on the local filesystem.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import uuid
from collections.abc import Iterable

import fsspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from standards import reasons
from standards.schema import STANDARD_VERSION

GEOPARQUET_VERSION = "1.1.0"
#: Kinds of partitioned output, each under `<output>/<kind>/month=YYYY-MM/force=CODE/`.
PARTITIONED_KINDS = ("restricted", "public", "rejected")
UNKNOWN_FORCE_PARTITION = "unknown"
#: Characters that make a spreadsheet run a cell as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def part_name(source_file: str, part: int = 0) -> str:
    """Deterministic part file name: a rerun over the same file writes the same name."""
    digest = hashlib.sha1(source_file.encode()).hexdigest()[:12]
    return f"part-{digest}-{part:04d}.parquet"


def write_bytes_atomic(url: str, data: bytes) -> None:
    """Write `data` to `url` under a temporary name, then move it into place."""
    fs, path = fsspec.core.url_to_fs(url)
    parent = path.rsplit("/", 1)[0]
    fs.makedirs(parent, exist_ok=True)
    temporary = f"{parent}/.tmp-{uuid.uuid4().hex}"
    with fs.open(temporary, "wb") as handle:
        handle.write(data)
    fs.mv(temporary, path)


def geo_metadata(geometry: pa.Array | pa.ChunkedArray, lon: np.ndarray,
                 lat: np.ndarray) -> dict:
    """GeoParquet 1.1 `geo` metadata for a WKB point column in OGC:CRS84 (lon, lat)."""
    has = ~np.isnan(lon)
    column: dict = {"encoding": "WKB", "geometry_types": ["Point"]}
    if has.any():
        column["bbox"] = [float(lon[has].min()), float(lat[has].min()),
                          float(lon[has].max()), float(lat[has].max())]
    # No "crs" key: GeoParquet then means OGC:CRS84, longitude/latitude on WGS84.
    return {"version": GEOPARQUET_VERSION, "primary_column": "geometry",
            "columns": {"geometry": column}}


#: Columns carried by the partition path (`month=.../force=...`), not stored in the files,
#: as Hive, Spark and pyarrow datasets expect; readers get them back from the path.
PARTITION_COLUMNS = ("month", "force")


def parquet_bytes(table: pa.Table, lon_column: str | None, lat_column: str | None) -> bytes:
    """A zstd Parquet file of `table`, with GeoParquet metadata when it has a geometry.

    The partition columns are dropped: the file's folder names carry them.
    """
    table = table.drop_columns([c for c in PARTITION_COLUMNS if c in table.column_names])
    metadata = dict(table.schema.metadata or {})
    metadata[b"crimegeo.standard"] = STANDARD_VERSION.encode()
    if lon_column and "geometry" in table.column_names:
        lon = np.asarray(pc.fill_null(table[lon_column], np.nan)
                         .to_numpy(zero_copy_only=False), dtype=np.float64)
        lat = np.asarray(pc.fill_null(table[lat_column], np.nan)
                         .to_numpy(zero_copy_only=False), dtype=np.float64)
        metadata[b"geo"] = json.dumps(geo_metadata(table["geometry"], lon, lat)).encode()
    table = table.replace_schema_metadata(metadata)
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd", row_group_size=131_072,
                   write_statistics=True)
    return sink.getvalue()


def partition_url(root: str, kind: str, month: str, force: str | None, name: str) -> str:
    """`<root>/<kind>/month=<month>/force=<force>/<name>`."""
    return (f"{root.rstrip('/')}/{kind}/month={month}/"
            f"force={force or UNKNOWN_FORCE_PARTITION}/{name}")


def neutralise_formula(value: object) -> object:
    """Prefix a text cell that a spreadsheet would run as a formula with an apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


CORRECTION_COLUMNS = (
    "crime_id", "month", "source_file", "source_row", "action", "location_status",
    "supplied_location", "supplied_x", "supplied_y", "supplied_crs", "lon", "lat",
    "x_bng", "y_bng", "match_type", "geocode_score", "gazetteer_id", "reasons",
    "reason_meanings", "detail",
)


def corrections_rows(records: pa.Table) -> list[dict]:
    """Feedback rows for records whose location was not simply accepted as supplied."""
    status = records["location_status"]
    # Flags about the record's own location count; "public" reasons (published without a
    # map point) alone do not make a correction.
    location_codes = pa.array(
        [c for c, r in reasons.REASONS.items() if r.kind != "public"], pa.string())
    flat = pc.list_flatten(records["reasons"])
    parents = pc.list_parent_indices(records["reasons"])
    flagged_rows = pc.filter(parents, pc.is_in(flat, value_set=location_codes))
    has_reason = np.zeros(records.num_rows, dtype=bool)
    has_reason[np.asarray(flagged_rows, dtype=np.int64)] = True
    changed = pc.or_(pc.not_equal(status, "supplied"), pa.array(has_reason))
    subset = records.filter(changed)
    rows = []
    for row in subset.to_pylist():
        codes = row["reasons"] or []
        rows.append({
            "crime_id": row["crime_id"], "month": row["month"],
            "source_file": row["source_file"], "source_row": row["source_row"],
            "action": _action(row["location_status"], codes),
            "location_status": row["location_status"],
            "supplied_location": row["location_text"],
            "supplied_x": row["supplied_x"], "supplied_y": row["supplied_y"],
            "supplied_crs": row["supplied_crs"],
            "lon": row["lon"], "lat": row["lat"], "x_bng": row["x_bng"], "y_bng": row["y_bng"],
            "match_type": row["match_type"], "geocode_score": row["geocode_score"],
            "gazetteer_id": row["gazetteer_id"], "reasons": ";".join(codes),
            "reason_meanings": " | ".join(reasons.meaning(c) for c in codes),
            "detail": None,
        })
    return rows


def _action(status: str, codes: list[str]) -> str:
    if status == "corrected":
        return "coordinates corrected"
    if status in ("geocoded_street", "geocoded_area"):
        return f"located from {'street' if status == 'geocoded_street' else 'area'} name"
    if status == "unlocated":
        return "left unlocated"
    return "kept as supplied, flagged"


def rejected_rows(rejected: pa.Table) -> list[dict]:
    """Feedback rows for rejected input rows."""
    rows = []
    for row in rejected.to_pylist():
        rows.append({
            "crime_id": None, "month": row["month"], "source_file": row["source_file"],
            "source_row": row["source_row"], "action": "rejected",
            "location_status": None, "supplied_location": row["raw"],
            "supplied_x": None, "supplied_y": None, "supplied_crs": None, "lon": None,
            "lat": None, "x_bng": None, "y_bng": None, "match_type": None,
            "geocode_score": None, "gazetteer_id": None, "reasons": row["reason"],
            "reason_meanings": reasons.meaning(row["reason"]), "detail": row["detail"],
        })
    return rows


def corrections_csv(rows: Iterable[dict]) -> bytes:
    """The feedback CSV, formula-neutralised, sorted by source file and row."""
    ordered = sorted(rows, key=lambda r: (r["source_file"], r["source_row"]))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CORRECTION_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in ordered:
        writer.writerow({k: neutralise_formula(v) for k, v in row.items()})
    return buffer.getvalue().encode("utf-8")
