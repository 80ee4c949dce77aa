"""Publishing what streaming ingests: one file's parts in place, and its forces' feedback now.

Streaming writes straight into the published tree (there is no run to stage and commit): each
file's parts land under `<output>/<kind>/month=M/force=F/` with the same deterministic names
and bytes as a batch run writes, so a newer generation of a file overwrites its own parts, and
parts its older generation had but it has not (a force dropped from the file) are removed.
Then the force-month's feedback (`corrections.csv`, `corrections.geojson`, `summary.json` and
the force's `index.json`) is rebuilt from the published parts themselves, so it always says
exactly what is published, whatever order files arrived in; a file is rewritten only when its
bytes change, so a repeated refresh changes nothing.

No Beam: the files are read and written through `crimegeo.store`. Must not stage or commit
months (`store.publish` does that when a month is closed) and must not touch other months or
forces than it is given.
"""

from __future__ import annotations

import json

import pyarrow as pa

from crimegeo.standards.months import previous_month
from crimegeo.standards.schema import RECORD_SCHEMA
from crimegeo.store.feedback import (
    read_summary,
    remove_feedback,
    write_feedback,
    write_force_index,
)
from crimegeo.store.files import filesystem
from crimegeo.store.parts import read_partition
from crimegeo.transforms.feedback import feedback_files, records_part, rejected_part, summary

#: The run id streaming-built feedback carries until the month is closed by a batch run.
STREAMING_RUN_ID = "streaming"
#: Columns of the restricted parts that feedback is built from.
RECORD_COLUMNS = (
    "crime_id", "source_file", "source_row", "location_status", "location_text",
    "supplied_x", "supplied_y", "supplied_crs", "lon", "lat", "x_bng", "y_bng", "match_type",
    "geocode_score", "gazetteer_id", "matched_name", "candidate_count", "candidates",
    "reasons",
)
REJECTED_COLUMNS = ("source_file", "source_row", "raw", "reason", "detail")


def force_month_feedback(output: str, month: str, force: str,
                         run_id: str = STREAMING_RUN_ID) -> dict[str, bytes] | None:
    """A force-month's feedback files, built from its published parts; None when it has none.

    The same functions as the batch run's feedback step over the same rows, so the CSV and
    GeoJSON are byte-identical to a batch run's; `summary.json` differs only in `run_id` and
    in carrying `"provisional": true`.
    """
    parts = []
    records = read_partition(output, "restricted", month, force, RECORD_COLUMNS)
    if records is not None:
        for name in RECORD_COLUMNS:  # parts written before standard 1.1.0 lack its columns
            if name not in records.column_names:
                kind = RECORD_SCHEMA.field(name).type
                records = records.append_column(name, pa.nulls(records.num_rows, kind))
        parts.append(records_part(records))
    rejected = read_partition(output, "rejected", month, force, REJECTED_COLUMNS)
    if rejected is not None:
        parts.append(rejected_part(rejected))
    if not parts:
        return None
    counts = summary(force, month, parts, read_summary(output, force, previous_month(month)))
    counts["run_id"] = run_id
    counts["provisional"] = True
    return feedback_files([part.corrections for part in parts], counts)


def refresh_force_month(output: str, month: str, force: str) -> dict:
    """Rebuild a force-month's published feedback from its parts; returns what changed.

    Writes only the files whose bytes differ (summary last, so a reader that sees the new
    summary finds the new corrections), removes the month's feedback when the force has no
    rows left in it, and rebuilds the force's `index.json` when anything changed.
    """
    filesystem(output)[0].invalidate_cache()
    files = force_month_feedback(output, month, force)
    if files is None:
        changed = ["removed"] if remove_feedback(output, force, month) else []
    else:
        changed = write_feedback(output, force, month, files, only_changed=True)
    if changed:
        write_force_index(output, force, changed={month})
    counts = json.loads(files["summary.json"]) if files else {}
    return {"month": month, "force": force, "changed": changed,
            "records": counts.get("records", 0), "rejected": counts.get("rejected", 0)}
