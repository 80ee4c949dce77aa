"""Feedback for forces: what was corrected, geocoded, left unlocated or rejected, and why.

For each force and month: `corrections.csv` and `corrections.geojson` (one row or feature per
record whose location was not simply accepted, and per rejected row) and `summary.json` (counts
by status and reason, and the change from the previous month). Each force also has an
`index.json` listing its months with checksums, so it can pull only what is new (files and
index are written through `crimegeo.store.feedback`). CSV cells a spreadsheet would run as a
formula are neutralised. Pure functions (no Beam).
"""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from crimegeo.standards import reasons
from crimegeo.standards.schema import CORRECTION_SCHEMA, MAX_CANDIDATES
from crimegeo.store.files import json_bytes
from crimegeo.store.layout import FEEDBACK_FILES

#: Characters that make a spreadsheet run a cell as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_START = "^[" + "".join("\\" + c if c in "-\\]^" else c for c in FORMULA_PREFIXES) + "]"


def neutralise_formula(value: object) -> object:
    """Prefix a text cell that a spreadsheet would run as a formula with an apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


_ACTIONS = {
    "corrected": "coordinates corrected",
    "geocoded_street": "located from street name",
    "geocoded_area": "located from area name",
    "unlocated": "left unlocated",
    "supplied": "kept as supplied, flagged",
}


@dataclass(frozen=True)
class RenderedCorrections:
    """One input file's correction rows for one force, already rendered: the CSV's rows
    (no header) and the GeoJSON's features (comma-joined, no brackets), in row order. A
    force's files are put together by concatenating these in file order
    (`feedback_parts_files`), which gives the bytes rendering them all at once gives."""

    source_file: str
    rows: int
    csv_rows: bytes
    geojson_features: bytes


@dataclass(frozen=True)
class SpilledCorrections:
    """`RenderedCorrections` left in two files of a local folder (`spill_rendered`) by the
    worker process that rendered them, so only their paths travel; read when the force's
    feedback is written. Same fields as `RenderedCorrections`."""

    source_file: str
    rows: int
    csv_path: str
    geojson_path: str

    @property
    def csv_rows(self) -> bytes:
        """The CSV's rows, as `RenderedCorrections.csv_rows`."""
        with open(self.csv_path, "rb") as rows:
            return rows.read()

    @property
    def geojson_features(self) -> bytes:
        """The GeoJSON's features, as `RenderedCorrections.geojson_features`."""
        with open(self.geojson_path, "rb") as features:
            return features.read()


def spill_rendered(rendered: RenderedCorrections, folder: str) -> SpilledCorrections:
    """Write a file's rendered rows for one force into `folder` (local, shared by the worker
    processes and the driver of one run): a national month's corrections are about 90 MB
    of text, cheaper written once and read once than carried through the runner."""
    name = uuid.uuid4().hex  # one file's rows may go to several forces (its rejected rows)
    paths = os.path.join(folder, name + ".csv"), os.path.join(folder, name + ".geojson")
    for path, data in zip(paths, (rendered.csv_rows, rendered.geojson_features), strict=True):
        with open(path, "wb") as out:
            out.write(data)
    return SpilledCorrections(rendered.source_file, rendered.rows, *paths)


@dataclass
class FeedbackPart:
    """One batch's share of a force's feedback: its correction rows and its counts.

    `rendered` holds the rows already rendered (`render_file_parts`, in the worker process
    that made them), in memory or spilled to files; `corrections` is then empty."""

    corrections: pa.Table
    records: int = 0
    rejected: int = 0
    status_counts: dict[str, int] = field(default_factory=dict)
    reason_counts: dict[str, int] = field(default_factory=dict)
    rejected_counts: dict[str, int] = field(default_factory=dict)
    rendered: RenderedCorrections | SpilledCorrections | None = None


def _map_distinct(values: pa.Array | pa.ChunkedArray, mapping) -> pa.Array:
    """Apply a Python function once per distinct value, vectorised back onto the rows."""
    encoded = pc.dictionary_encode(values)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    mapped = pa.array([mapping(v) for v in encoded.dictionary.to_pylist()], pa.string())
    return pc.take(mapped, encoded.indices)


def _meanings(joined: str | None) -> str | None:
    if not joined:
        return None
    return " | ".join(reasons.meaning(code) for code in joined.split(";"))


def corrections_table(records: pa.Table) -> pa.Table:
    """Feedback rows for records whose location was not simply accepted as supplied."""
    # Flags about the record's own location count; "public" reasons (published without a
    # map point) alone do not make a correction.
    location_codes = pa.array(
        [c for c, r in reasons.REASONS.items() if r.kind != "public"], pa.string())
    flat = pc.list_flatten(records["reasons"])
    parents = pc.list_parent_indices(records["reasons"])
    flagged_rows = pc.filter(parents, pc.is_in(flat, value_set=location_codes))
    has_reason = np.zeros(records.num_rows, dtype=bool)
    has_reason[np.asarray(flagged_rows, dtype=np.int64)] = True
    changed = pc.or_(pc.not_equal(records["location_status"], "supplied"), pa.array(has_reason))
    subset = records.filter(changed)
    joined = pc.binary_join(subset["reasons"], ";")
    columns = {
        "crime_id": subset["crime_id"], "month": subset["month"],
        "source_file": subset["source_file"], "source_row": subset["source_row"],
        "action": _map_distinct(subset["location_status"], _ACTIONS.get),
        "location_status": subset["location_status"],
        "supplied_location": subset["location_text"],
        "supplied_x": subset["supplied_x"], "supplied_y": subset["supplied_y"],
        "supplied_crs": subset["supplied_crs"], "lon": subset["lon"], "lat": subset["lat"],
        "x_bng": subset["x_bng"], "y_bng": subset["y_bng"],
        "match_type": subset["match_type"], "geocode_score": subset["geocode_score"],
        "gazetteer_id": subset["gazetteer_id"], "matched_name": subset["matched_name"],
        "candidate_count": subset["candidate_count"],
        **candidate_columns(subset["candidates"]),
        "reasons": joined, "reason_meanings": _map_distinct(joined, _meanings),
        "detail": pa.nulls(subset.num_rows, pa.string()),
    }
    return pa.table(columns, schema=CORRECTION_SCHEMA)


def candidate_columns(candidates: pa.ChunkedArray | pa.Array) -> dict[str, pa.Array]:
    """The records' `candidates` lists as flat columns `candidate_<i>_name`,
    `candidate_<i>_gazetteer_id`, `candidate_<i>_distance_m` (i = 1..3): one cell per value,
    as a spreadsheet wants them; null where a record has fewer candidates."""
    if isinstance(candidates, pa.ChunkedArray):
        candidates = (candidates.combine_chunks() if candidates.num_chunks
                      else pa.array([], candidates.type))
    flat = pc.list_flatten(candidates)
    parents = np.asarray(pc.list_parent_indices(candidates), dtype=np.int64)
    starts = np.asarray(candidates.offsets, dtype=np.int64)[:-1]
    position = np.arange(len(flat)) - starts[parents]  # place of each item in its list
    columns = {}
    for i in range(MAX_CANDIDATES):
        pick = np.full(len(candidates), -1, dtype=np.int64)
        chosen = position == i
        pick[parents[chosen]] = np.flatnonzero(chosen)
        item = flat.take(pa.array(pick, mask=pick < 0))
        for part in ("name", "gazetteer_id", "distance_m"):
            columns[f"candidate_{i + 1}_{part}"] = pc.struct_field(item, [part])
    return columns


def rejected_table(rejected: pa.Table) -> pa.Table:
    """Feedback rows for rejected input rows."""
    n = rejected.num_rows

    def nulls(kind: pa.DataType) -> pa.Array:
        return pa.nulls(n, kind)

    columns = {
        "crime_id": nulls(pa.string()), "month": rejected["month"],
        "source_file": rejected["source_file"], "source_row": rejected["source_row"],
        "action": pa.array(["rejected"] * n, pa.string()),
        "location_status": nulls(pa.string()), "supplied_location": rejected["raw"],
        "supplied_x": nulls(pa.float64()), "supplied_y": nulls(pa.float64()),
        "supplied_crs": nulls(pa.string()), "lon": nulls(pa.float64()),
        "lat": nulls(pa.float64()), "x_bng": nulls(pa.float64()), "y_bng": nulls(pa.float64()),
        "match_type": nulls(pa.string()), "geocode_score": nulls(pa.float64()),
        "gazetteer_id": nulls(pa.string()), "matched_name": nulls(pa.string()),
        "candidate_count": nulls(pa.int32()),
        **{name: nulls(CORRECTION_SCHEMA.field(name).type)
           for name in CORRECTION_SCHEMA.names if name.startswith("candidate_")
           and name != "candidate_count"},
        "reasons": rejected["reason"],
        "reason_meanings": _map_distinct(rejected["reason"], _meanings),
        "detail": rejected["detail"],
    }
    return pa.table(columns, schema=CORRECTION_SCHEMA)


def records_part(records: pa.Table) -> FeedbackPart:
    """A batch of records' contribution to its force's feedback."""
    return FeedbackPart(
        corrections=corrections_table(records), records=records.num_rows,
        status_counts=value_counts(records["location_status"]),
        reason_counts=value_counts(pc.list_flatten(records["reasons"])))


def rejected_part(rejected: pa.Table) -> FeedbackPart:
    """A batch of rejected rows' contribution to its force's feedback."""
    return FeedbackPart(corrections=rejected_table(rejected), rejected=rejected.num_rows,
                        rejected_counts=value_counts(rejected["reason"]))


def _ordered(tables: Iterable[pa.Table]) -> pa.Table:
    tables = list(tables)
    table = pa.concat_tables(tables) if tables else CORRECTION_SCHEMA.empty_table()
    return table.sort_by([("source_file", "ascending"), ("source_row", "ascending")])


def _csv_rows(table: pa.Table) -> bytes:
    """The CSV rows of ordered correction rows, formula-neutralised, without a header."""
    for index, column in enumerate(table.schema):
        if pa.types.is_string(column.type):
            values = table.column(index)
            risky = pc.fill_null(pc.match_substring_regex(values, _FORMULA_START), False)
            table = table.set_column(index, column, pc.if_else(
                risky, pc.binary_join_element_wise("'", values, ""), values))
    if not table.num_rows:
        return b""
    sink = io.BytesIO()
    pacsv.write_csv(table, sink, write_options=pacsv.WriteOptions(
        quoting_style="needed", include_header=False))
    return sink.getvalue()


def _geojson_features(table: pa.Table) -> bytes:
    """The GeoJSON features of ordered correction rows, one per row at its new point,
    comma-joined without the list's brackets."""
    if not table.num_rows:
        return b""
    names = table.column_names
    # Column by column, then one dict per row: Table.to_pylist builds its row dicts in a
    # slower Python loop of its own.
    columns = [column.to_pylist() for column in table.columns]
    reason_lists: dict[str | None, list[str]] = {}  # a month holds few distinct reason sets
    columns[names.index("reasons")] = [
        reason_lists.get(joined) or reason_lists.setdefault(
            joined, [code for code in (joined or "").split(";") if code])
        for joined in columns[names.index("reasons")]]
    geometries = [None if lon is None or lat is None
                  else {"type": "Point", "coordinates": [lon, lat]}
                  for lon, lat in zip(columns[names.index("lon")], columns[names.index("lat")],
                                      strict=True)]
    features = [{"type": "Feature", "geometry": geometry,
                 "properties": dict(zip(names, row, strict=True))}
                for geometry, row in zip(geometries, zip(*columns, strict=True), strict=True)]
    return orjson.dumps(features)[1:-1]


def _render(table: pa.Table) -> list[RenderedCorrections]:
    """Correction rows rendered file by file, in file order."""
    table = _ordered([table])
    if not table.num_rows:
        return []
    # Sorted by file, so each file is one run of rows: its bounds without a row-wise loop.
    runs = pc.run_end_encode(table["source_file"].combine_chunks())
    ends = runs.run_ends.to_pylist()
    starts = [0, *ends[:-1]]
    return [RenderedCorrections(name, end - start, _csv_rows(chunk), _geojson_features(chunk))
            for name, start, end in zip(runs.values.to_pylist(), starts, ends, strict=True)
            for chunk in (table.slice(start, end - start),)]


def _rendered(parts: Iterable[FeedbackPart]
              ) -> list[RenderedCorrections | SpilledCorrections]:
    """Every part's correction rows rendered, one entry per file, in file order."""
    parts = list(parts)
    done = [part.rendered for part in parts if part.rendered is not None]
    pending = [part.corrections for part in parts if part.rendered is None]
    chunks = done + (_render(pa.concat_tables(pending)) if pending else [])
    chunks.sort(key=lambda chunk: (chunk.source_file is None, chunk.source_file or ""))
    names = [chunk.source_file for chunk in chunks]
    if len(set(names)) != len(names):  # rows of one file must be rendered together
        raise ValueError(f"one file's feedback rendered in pieces: {sorted(names)}")
    return chunks


def render_file_parts(parts: Iterable[FeedbackPart], spill_to: str | None = None
                      ) -> FeedbackPart:
    """One file's feedback parts for one force as one part, its rows rendered: what a worker
    process sends back instead of the rows themselves. With `spill_to` (a local folder),
    the rendered rows are left there (`spill_rendered`) and the part carries their paths."""
    parts = list(parts)
    chunks = _rendered(parts)
    if len(chunks) > 1:
        raise ValueError("render_file_parts takes the parts of one file: got "
                         f"{[chunk.source_file for chunk in chunks]}")
    merged = _counts_of(parts)
    merged.rendered = chunks[0] if chunks else None
    if spill_to is not None and isinstance(merged.rendered, RenderedCorrections):
        merged.rendered = spill_rendered(merged.rendered, spill_to)
    return merged


def _counts_of(parts: Iterable[FeedbackPart]) -> FeedbackPart:
    """The parts' counts added up, as one part without rows."""
    total = FeedbackPart(corrections=CORRECTION_SCHEMA.empty_table())
    for part in parts:
        total.records += part.records
        total.rejected += part.rejected
        for target, source in ((total.status_counts, part.status_counts),
                               (total.reason_counts, part.reason_counts),
                               (total.rejected_counts, part.rejected_counts)):
            for key, count in source.items():
                target[key] = target.get(key, 0) + count
    return total


def _csv(chunks: list[RenderedCorrections | SpilledCorrections]) -> bytes:
    # Our column names need no quoting; a plain header reads best in a spreadsheet.
    header = (",".join(CORRECTION_SCHEMA.names) + "\n").encode()
    return header + b"".join(chunk.csv_rows for chunk in chunks)


def _geojson(chunks: list[RenderedCorrections | SpilledCorrections]) -> bytes:
    features = b",".join(chunk.geojson_features for chunk in chunks if chunk.rows)
    return b'{"type":"FeatureCollection","features":[' + features + b"]}\n"


def corrections_csv(tables: Iterable[pa.Table]) -> bytes:
    """The feedback CSV, formula-neutralised, sorted by source file and row."""
    return _csv(_rendered(FeedbackPart(corrections=table) for table in tables))


def corrections_geojson(tables: Iterable[pa.Table]) -> bytes:
    """The feedback as a GeoJSON FeatureCollection: one feature per row, at its new point."""
    return _geojson(_rendered(FeedbackPart(corrections=table) for table in tables))


def summary(force: str, month: str, parts: Iterable[FeedbackPart],
            previous: dict | None) -> dict:
    """Counts by status and by reason for one force and month, and the change from last month."""
    counts = _counts_of(parts)
    status_counts, reason_counts = counts.status_counts, counts.reason_counts
    rejected_reasons = counts.rejected_counts
    total, rejected_count = counts.records, counts.rejected
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


def value_counts(values: pa.Array | pa.ChunkedArray) -> dict[str, int]:
    """How often each non-null value occurs."""
    if len(values) == 0:
        return {}
    counts = pc.value_counts(values)
    return {item["values"]: item["counts"] for item in counts.to_pylist()
            if item["values"] is not None}


def _difference(now: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {key: now.get(key, 0) - before.get(key, 0) for key in sorted({*now, *before})}


def feedback_files(tables: Iterable[pa.Table], counts: dict) -> dict[str, bytes]:
    """A force-month's `FEEDBACK_FILES` by name: the corrections as CSV and GeoJSON, and the
    summary `counts`."""
    return feedback_parts_files([FeedbackPart(corrections=table) for table in tables], counts)


def feedback_parts_files(parts: Iterable[FeedbackPart], counts: dict) -> dict[str, bytes]:
    """`feedback_files` of a force-month's parts, rendered rows (`render_file_parts`) or
    not."""
    chunks = _rendered(parts)
    return dict(zip(FEEDBACK_FILES, (_csv(chunks), _geojson(chunks), json_bytes(counts)),
                    strict=True))
