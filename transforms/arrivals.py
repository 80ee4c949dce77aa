"""Publishing what streaming ingests: one file's parts in place, and its forces' feedback now.

Streaming writes straight into the published tree (there is no run to stage and commit): each
file's parts land under `<output>/<kind>/month=M/force=F/` with the same deterministic names
and bytes as a batch run writes, so a newer generation of a file overwrites its own parts, and
parts its older generation had but it has not (a force dropped from the file) are removed.
Then the force-month's feedback (`corrections.csv`, `corrections.geojson`, `summary.json` and
the force's `index.json`) is rebuilt from the published parts themselves, so it always says
exactly what is published, whatever order files arrived in; a file is rewritten only when its
bytes change, so a repeated refresh changes nothing.

Pure fsspec and pyarrow: no Beam. Must not stage or commit months (`publish.py` does that when
a month is closed) and must not touch other months or forces than it is given.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq

from crimegeo.transforms.feedback import (
    corrections_csv,
    corrections_geojson,
    previous_month,
    read_summary,
    records_part,
    rejected_part,
    summary,
    write_force_index,
)
from crimegeo.transforms.outputs import PARTITIONED_KINDS, part_name, partition_url
from crimegeo.transforms.storage import is_local, write_bytes_atomic

#: The run id streaming-built feedback carries until the month is closed by a batch run.
STREAMING_RUN_ID = "streaming"
#: Columns of the restricted parts that feedback is built from.
RECORD_COLUMNS = (
    "crime_id", "source_file", "source_row", "location_status", "location_text",
    "supplied_x", "supplied_y", "supplied_crs", "lon", "lat", "x_bng", "y_bng", "match_type",
    "geocode_score", "gazetteer_id", "reasons",
)
REJECTED_COLUMNS = ("source_file", "source_row", "raw", "reason", "detail")


def part_paths(month: str, source_file: str, forces: Iterable[str], kinds: Iterable[str]
               ) -> list[str]:
    """The output-relative paths of a file's parts for `forces` and `kinds`."""
    name = part_name(source_file)
    return sorted(partition_url("", kind, month, force, name).lstrip("/")
                  for kind in kinds for force in forces)


def remove_parts(output: str, paths: Iterable[str]) -> list[str]:
    """Delete published parts (output-relative paths) and, locally, folders left empty."""
    fs, root = fsspec.core.url_to_fs(output)
    root = root.rstrip("/")
    removed = []
    for relative in sorted(set(paths)):
        if relative.split("/", 1)[0] not in PARTITIONED_KINDS:
            raise ValueError(f"not a part path: {relative!r}")
        path = f"{root}/{relative}"
        if fs.exists(path):
            fs.rm(path)
            removed.append(relative)
            folder = path.rsplit("/", 1)[0]
            if is_local(fs) and fs.exists(folder) and not fs.ls(folder):
                fs.rmdir(folder)
    if removed:
        fs.invalidate_cache()
    return removed


def _parquet_files(fs: fsspec.AbstractFileSystem, folder: str) -> list[str]:
    if not fs.exists(folder):
        return []
    return sorted(path for path in fs.ls(folder, detail=False)
                  if path.endswith(".parquet")
                  and not path.rsplit("/", 1)[-1].startswith((".", "_")))


def _read_parts(fs: fsspec.AbstractFileSystem, folder: str, columns: Iterable[str],
                month: str) -> pa.Table | None:
    tables = []
    for path in _parquet_files(fs, folder):
        with fs.open(path, "rb") as handle:
            tables.append(pq.read_table(handle, columns=list(columns)))
    if not tables:
        return None
    table = pa.concat_tables(tables, promote_options="default")
    return table.append_column("month", pa.array([month] * table.num_rows, pa.string()))


def force_month_feedback(output: str, month: str, force: str,
                         run_id: str = STREAMING_RUN_ID) -> dict[str, bytes] | None:
    """A force-month's feedback files, built from its published parts; None when it has none.

    The same functions as the batch run's feedback step over the same rows, so the CSV and
    GeoJSON are byte-identical to a batch run's; `summary.json` differs only in `run_id` and
    in carrying `"provisional": true`.
    """
    fs, root = fsspec.core.url_to_fs(output)
    root = root.rstrip("/")
    parts = []
    records = _read_parts(fs, f"{root}/restricted/month={month}/force={force}",
                          RECORD_COLUMNS, month)
    if records is not None:
        parts.append(records_part(records))
    rejected = _read_parts(fs, f"{root}/rejected/month={month}/force={force}",
                           REJECTED_COLUMNS, month)
    if rejected is not None:
        parts.append(rejected_part(rejected))
    if not parts:
        return None
    tables = [part.corrections for part in parts]
    counts = summary(force, month, parts, read_summary(output, force, previous_month(month)))
    counts["run_id"] = run_id
    counts["provisional"] = True
    return {"corrections.csv": corrections_csv(tables),
            "corrections.geojson": corrections_geojson(tables),
            "summary.json": (json.dumps(counts, indent=2) + "\n").encode()}


def refresh_force_month(output: str, month: str, force: str) -> dict:
    """Rebuild a force-month's published feedback from its parts; returns what changed.

    Writes only the files whose bytes differ (summary last, so a reader that sees the new
    summary finds the new corrections), removes the month's feedback when the force has no
    rows left in it, and rebuilds the force's `index.json` when anything changed.
    """
    fs, root = fsspec.core.url_to_fs(output)
    root = root.rstrip("/")
    fs.invalidate_cache()
    folder = f"{root}/feedback/force={force}/month={month}"
    files = force_month_feedback(output, month, force)
    changed: list[str] = []
    if files is None:
        if fs.exists(folder):
            fs.rm(folder, recursive=True)
            changed.append("removed")
    else:
        for name, data in files.items():
            path = f"{folder}/{name}"
            if not fs.exists(path) or fs.cat_file(path) != data:
                write_bytes_atomic(f"{output.rstrip('/')}/feedback/force={force}/"
                                   f"month={month}/{name}", data)
                changed.append(name)
    if changed:
        write_force_index(output, f"force={force}")
    counts = json.loads(files["summary.json"]) if files else {}
    return {"month": month, "force": force, "changed": changed,
            "records": counts.get("records", 0), "rejected": counts.get("rejected", 0)}
