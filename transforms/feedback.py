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
#: Per byte value, whether a text starting with it starts a formula.
_STARTS_FORMULA = np.zeros(256, dtype=bool)
_STARTS_FORMULA[np.frombuffer("".join(FORMULA_PREFIXES).encode(), dtype=np.uint8)] = True


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


def _starts_a_formula(column: pa.Array) -> bool:
    """Whether any string of `column` may start as a formula: its first bytes looked at
    in numpy, so a column with none costs no Arrow call."""
    data = column.buffers()[2]
    if data is None or not len(column):
        return False
    offsets = np.frombuffer(column.buffers()[1], dtype=np.int32)[
        column.offset:column.offset + len(column) + 1]
    starts = offsets[:-1][offsets[1:] > offsets[:-1]]  # of the values that are not empty
    return bool(_STARTS_FORMULA[np.frombuffer(data, dtype=np.uint8)[starts]].any())


def _csv_rows(table: pa.Table) -> bytes:
    """The CSV rows of ordered correction rows, formula-neutralised, without a header."""
    if not table.num_rows:
        return b""
    for index, column in enumerate(table.schema):
        if pa.types.is_string(column.type):
            values = table.column(index).combine_chunks()
            if not _starts_a_formula(values):
                continue
            risky = pc.fill_null(pc.match_substring_regex(values, _FORMULA_START), False)
            table = table.set_column(index, column, pc.if_else(
                risky, pc.binary_join_element_wise("'", values, ""), values))
    sink = io.BytesIO()
    pacsv.write_csv(table, sink, write_options=pacsv.WriteOptions(
        quoting_style="needed", include_header=False))
    return sink.getvalue()


def _may_need_escaping(column: pa.Array) -> bool:
    """Whether any string of `column` may hold a character JSON escapes (a quote, a
    backslash, a control character): one look at its bytes, no Arrow call."""
    data = column.buffers()[2]
    if data is None:
        return False
    raw = np.frombuffer(data, dtype=np.uint8)
    return bool((raw < 0x20).any() or (raw == 0x22).any() or (raw == 0x5C).any())


def _json_strings(column: pa.Array) -> pa.Array:
    """Each string of `column` as orjson writes it inside its quotes (null stays null)."""
    if not _may_need_escaping(column):
        return column  # most columns: nothing to escape
    text = pc.replace_substring(pc.replace_substring(column, "\\", "\\\\"), '"', '\\"')
    control = pc.fill_null(pc.match_substring_regex(column, "[\\x00-\\x1f]"), False)
    if pc.any(control).as_py():  # rare: escaped one value at a time, as orjson does
        text = pc.replace_with_mask(text, control, pa.array(
            [orjson.dumps(value).decode()[1:-1]
             for value in column.filter(control).to_pylist()], text.type))
    return text


def _json_numbers(column: pa.Array) -> pa.Array:
    """Each number of `column` as orjson writes it: floats in their shortest form, a whole
    float with ".0"; null where the value is null, NaN or infinite."""
    text = pc.cast(column, pa.string())
    if not pa.types.is_floating(column.type):
        return text
    values = column.to_numpy(zero_copy_only=False)  # null as NaN
    with np.errstate(invalid="ignore"):
        whole = (np.floor(values) == values) & (np.abs(values) < 1e15)  # not written 1e+15
    if whole.any():
        text = pc.if_else(whole, pc.binary_join_element_wise(text, ".0", ""), text)
    if np.isinf(values).any() or np.isnan(values).sum() > column.null_count:
        text = pc.if_else(np.isfinite(values), text, None)
    return text


def _json_pieces(name: str, column: pa.Array, first: bool) -> list:
    """`"name":value` of each row, as literal texts and arrays for the one
    `binary_join_element_wise` that makes the features (which writes a null as null)."""
    key = ("" if first else ",") + orjson.dumps(name).decode() + ":"
    if column.null_count == len(column):
        return [key + "null"]
    if not pa.types.is_string(column.type):
        return [key, _json_numbers(column)]
    if column.null_count == 0:
        return [key + '"', _json_strings(column), '"']
    return [key, pc.binary_join_element_wise('"', _json_strings(column), '"', "")]


def _json_code_lists(joined: pa.Array) -> pa.Array:
    """JSON arrays of the codes in ";"-joined texts ("a;b" -> ["a","b"]; null or "" -> [])."""
    joined = pc.replace_substring_regex(pc.fill_null(joined, ""), "^;+|;+$|(;);+", "\\1")
    listed = pc.binary_join_element_wise(
        '["', pc.replace_substring(_json_strings(joined), ";", '","'), '"]', "")
    return pc.if_else(pc.equal(joined, ""), "[]", listed)


def _geojson_features(table: pa.Table) -> bytes:
    """The GeoJSON features of ordered correction rows, one per row at its new point,
    comma-joined without the list's brackets.

    The bytes orjson writes for one dict per row, made column by column in Arrow: that
    row-wise loop took about 5% of a national month's work in the workers."""
    if not table.num_rows:
        return b""
    columns = {name: table.column(name).combine_chunks() for name in table.column_names}
    lon, lat = columns["lon"], columns["lat"]
    lon_text, lat_text = _json_numbers(lon), _json_numbers(lat)
    if lon_text.null_count > lon.null_count or lat_text.null_count > lat.null_count:
        # a NaN coordinate is written null inside the point, as orjson writes it
        lon_text = pc.if_else(pc.is_valid(lon), pc.fill_null(lon_text, "null"), None)
        lat_text = pc.if_else(pc.is_valid(lat), pc.fill_null(lat_text, "null"), None)
    # null, so written null, where either coordinate is
    point = pc.binary_join_element_wise(
        '{"type":"Point","coordinates":[', lon_text, ",", lat_text, "]}", "")
    pieces: list = ['{"type":"Feature","geometry":', point, ',"properties":{']
    for at, (name, column) in enumerate(columns.items()):
        if name == "reasons":
            pieces += [("," if at else "") + '"reasons":', _json_code_lists(column)]
        else:
            pieces += _json_pieces(name, column, at == 0)
    pieces.append("}}")
    merged: list = []  # neighbouring literal texts joined: fewer arguments per row
    for piece in pieces:
        if isinstance(piece, str) and merged and isinstance(merged[-1], str):
            merged[-1] += piece
        else:
            merged.append(piece)
    features = pc.binary_join_element_wise(
        *merged, "", null_handling="replace", null_replacement="null")
    every = pa.LargeListArray.from_arrays(pa.array([0, len(features)], pa.int64()),
                                          pc.cast(features, pa.large_binary()))
    return pc.binary_join(every, pa.scalar(b",", pa.large_binary()))[0].as_py()


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
