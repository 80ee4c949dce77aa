"""Feedback for forces: what was corrected, geocoded, left unlocated or rejected, and why.

For each force and month: `corrections.csv` and `corrections.geojson` (one row or feature per
record whose location was not simply accepted, and per rejected row) and `summary.json` (counts
by status and reason, and the change from the previous month). Each force also has an
`index.json` listing its months with checksums, so it can pull only what is new. CSV cells a
spreadsheet would run as a formula are neutralised. Pure functions (no Beam).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable
from datetime import UTC, datetime

import fsspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from standards import reasons
from transforms.storage import write_bytes_atomic

FEEDBACK_FILES = ("corrections.csv", "corrections.geojson", "summary.json")
#: Characters that make a spreadsheet run a cell as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


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


def corrections_geojson(rows: Iterable[dict]) -> bytes:
    """The feedback as a GeoJSON FeatureCollection: one feature per row, at its new point."""
    ordered = sorted(rows, key=lambda r: (r["source_file"], r["source_row"]))
    features = []
    for row in ordered:
        geometry = None
        if row.get("lon") is not None and row.get("lat") is not None:
            geometry = {"type": "Point", "coordinates": [row["lon"], row["lat"]]}
        properties = {key: row.get(key) for key in CORRECTION_COLUMNS}
        properties["reasons"] = [c for c in (row.get("reasons") or "").split(";") if c]
        features.append({"type": "Feature", "geometry": geometry, "properties": properties})
    collection = {"type": "FeatureCollection", "features": features}
    return (json.dumps(collection, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


def summary(force: str, month: str, records: Iterable[pa.Table],
            rejected: Iterable[pa.Table], previous: dict | None) -> dict:
    """Counts by status and by reason for one force and month, and the change from last month."""
    status_counts: dict[str, int] = {}
    reason_counts: dict[str, int] = {}
    total = 0
    for table in records:
        total += table.num_rows
        for value, count in _value_counts(table["location_status"]).items():
            status_counts[value] = status_counts.get(value, 0) + count
        for value, count in _value_counts(pc.list_flatten(table["reasons"])).items():
            reason_counts[value] = reason_counts.get(value, 0) + count
    rejected_count = 0
    rejected_reasons: dict[str, int] = {}
    for table in rejected:
        rejected_count += table.num_rows
        for value, count in _value_counts(table["reason"]).items():
            rejected_reasons[value] = rejected_reasons.get(value, 0) + count
    result = {
        "force": force, "month": month, "records": total, "rejected": rejected_count,
        "counts_by_status": dict(sorted(status_counts.items())),
        "counts_by_reason": dict(sorted(reason_counts.items())),
        "rejected_by_reason": dict(sorted(rejected_reasons.items())),
        "reason_meanings": {code: reasons.meaning(code) for code in
                            sorted({*reason_counts, *rejected_reasons})},
        "previous_month": None, "change_from_previous_month": None,
    }
    if previous:
        result["previous_month"] = previous.get("month")
        result["change_from_previous_month"] = {
            "records": total - previous.get("records", 0),
            "rejected": rejected_count - previous.get("rejected", 0),
            "counts_by_status": _difference(status_counts, previous.get("counts_by_status", {})),
            "counts_by_reason": _difference(reason_counts, previous.get("counts_by_reason", {})),
        }
    return result


def _value_counts(values: pa.Array | pa.ChunkedArray) -> dict[str, int]:
    if len(values) == 0:
        return {}
    counts = pc.value_counts(values)
    return {item["values"]: item["counts"] for item in counts.to_pylist()
            if item["values"] is not None}


def _difference(now: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {key: now.get(key, 0) - before.get(key, 0) for key in sorted({*now, *before})}


def previous_month(month: str) -> str:
    """The month before `month` (YYYY-MM)."""
    year, mon = (int(part) for part in month.split("-"))
    return f"{year - 1}-12" if mon == 1 else f"{year}-{mon - 1:02d}"


def read_summary(output: str, force: str, month: str) -> dict | None:
    """A published month's summary.json, or None if there is none."""
    url = f"{output.rstrip('/')}/feedback/force={force}/month={month}/summary.json"
    fs, path = fsspec.core.url_to_fs(url)
    if not fs.exists(path):
        return None
    with fs.open(path, "rb") as handle:
        return json.loads(handle.read())


def write_force_index(output: str, force_folder: str) -> dict:
    """Rebuild a force's `index.json` from its published month folders, with checksums."""
    fs, root = fsspec.core.url_to_fs(output)
    base = f"{root.rstrip('/')}/feedback/{force_folder}"
    months = []
    for folder in sorted(fs.ls(base, detail=False)) if fs.exists(base) else []:
        name = folder.rstrip("/").rsplit("/", 1)[-1]
        if not name.startswith("month="):
            continue
        files = {}
        for file_name in FEEDBACK_FILES:
            path = f"{folder.rstrip('/')}/{file_name}"
            if fs.exists(path):
                data = fs.cat_file(path)
                files[file_name] = {"sha256": hashlib.sha256(data).hexdigest(),
                                    "bytes": len(data)}
        run_id = None
        if "summary.json" in files:
            run_id = json.loads(fs.cat_file(f"{folder.rstrip('/')}/summary.json")).get("run_id")
        months.append({"month": name.removeprefix("month="), "run_id": run_id,
                       "files": files})
    index = {"force": force_folder.removeprefix("force="),
             "updated_at": datetime.now(UTC).isoformat(timespec="seconds"),
             "months": months}
    write_bytes_atomic(f"{output.rstrip('/')}/feedback/{force_folder}/index.json",
                       (json.dumps(index, indent=2) + "\n").encode())
    return index


