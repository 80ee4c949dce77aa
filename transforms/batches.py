"""A run's work on one batch, without Beam: read and parse a file, locate, anonymise, write a
batch's parts, write a force's feedback.

A `Batch` is a pyarrow table of one input file's rows for one force. The monthly DoFns
(`transforms.steps`) and the streaming DoFn (`transforms.streaming`) both call these
functions, so the two modes do the same work by construction. Each returns its result and
the counts and timings the run manifest adds up per file. Must not import Beam or Prefect.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import fsspec
import numpy as np
import pyarrow as pa

from crimegeo.standards import reasons
from crimegeo.standards.months import previous_month
from crimegeo.standards.profiles import ForceProfile, PublicRules
from crimegeo.standards.public_ids import PublicIdKey
from crimegeo.store.feedback import read_summary
from crimegeo.store.feedback import write_feedback as write_feedback_files
from crimegeo.store.files import write_bytes_atomic
from crimegeo.store.inputs import InputFile
from crimegeo.store.layout import OutputLayout, part_name
from crimegeo.transforms.anonymise import anonymise, flag_unpublished_outcomes, public_table
from crimegeo.transforms.areas import (
    ForceBoundaries,
    load_area_layer,
    load_force_boundaries,
)
from crimegeo.transforms.disclosure import disclosure_part, force_disclosure
from crimegeo.transforms.feedback import (
    feedback_parts_files,
    records_part,
    rejected_part,
    render_file_parts,
    summary,
    value_counts,
)
from crimegeo.transforms.locate import LocateOptions, append_reason, locate
from crimegeo.transforms.outputs import parquet_bytes
from crimegeo.transforms.readers import read_source
from crimegeo.transforms.standardise import standardise


@dataclass
class Batch:
    """Rows of one input file for one force: the unit of work between steps.

    `public` is the anonymised projection, filled by the anonymising step. `rules` say what
    of the file's records may be published as supplied (its profile's `public_rules`; the
    default, for a batch of unknown origin, publishes no free text and keys every id).
    """

    source_file: str
    force: str | None
    table: pa.Table
    public: pa.Table | None = None
    rules: PublicRules = field(default_factory=PublicRules)


@dataclass
class ParsedFile:
    """One input file read by its profile: its records by force, its rejected rows, its
    counts."""

    records: list[Batch]
    rejected: Batch | None
    stats: dict


@dataclass(frozen=True)
class Resources:
    """Where the heavy, read-only things every worker loads once come from (built from the
    run's settings by `pipelines.monthly.worker_resources`)."""

    gazetteer: str | None
    map_points: str | None          # a gazetteer whose public points override
    boundaries: tuple[str, ...]
    boundary_tolerance_m: float
    areas: tuple[str, ...] = ()
    #: The operator's public id key (`standards.public_ids`), resolved on the driver from
    #: the settings and carried to the workers with the DoFns, as every other setting is.
    public_id_key: PublicIdKey | None = None


class AreaLayers(list):
    """The loaded area layers (a list, so Beam's `Shared` can hold a weak reference to it)."""


@dataclass
class LoadedResources:
    """The resources, loaded: what locating and anonymising a batch read."""

    gazetteer: Any = None
    map_points: Any = None
    boundaries: ForceBoundaries | None = None
    areas: AreaLayers = field(default_factory=AreaLayers)
    public_id_key: PublicIdKey | None = None

    @property
    def public_points(self) -> Any:
        """The public map points records move to: the given ones, else the gazetteer's."""
        return self.map_points or self.gazetteer


#: How a loader is run: `(name, load, tag) -> object`. Alone it just loads; a Beam worker
#: passes one that shares the object between the DoFns of its process.
Acquire = Callable[[str, Callable[[], Any], str], Any]


def _load_now(name: str, load: Callable[[], Any], tag: str) -> Any:
    return load()


def _load_gazetteer(uri: str) -> Any:
    from crimegeo.gazetteer import Gazetteer  # imported where it is loaded, not at import

    return Gazetteer.load(uri)


def load_resources(resources: Resources, acquire: Acquire = _load_now) -> LoadedResources:
    """Load what `resources` names (each at most once per `acquire`)."""
    loaded = LoadedResources(public_id_key=resources.public_id_key)
    if resources.gazetteer:
        uri = resources.gazetteer
        loaded.gazetteer = acquire("gazetteer", lambda: _load_gazetteer(uri), uri)
    if resources.map_points:
        uri = resources.map_points
        loaded.map_points = acquire("map_points", lambda: _load_gazetteer(uri), uri)
    if resources.boundaries:
        urls, tolerance = resources.boundaries, resources.boundary_tolerance_m
        loaded.boundaries = acquire("boundaries",
                                    lambda: load_force_boundaries(urls, tolerance),
                                    repr((urls, tolerance)))
    if resources.areas:
        specs = resources.areas
        loaded.areas = acquire("areas", lambda: AreaLayers(load_area_layer(s) for s in specs),
                               repr(specs))
    return loaded


def read_file(item: InputFile, profile: ForceProfile) -> tuple[Any, float]:
    """Read one input file by its profile; returns what was read and the seconds it took."""
    started = time.perf_counter()
    read = read_source(lambda: fsspec.open(item.url, "rb").open(), profile)
    return read, time.perf_counter() - started


def parse_file(item: InputFile, read: Any, read_seconds: float, profile: ForceProfile,
               month: str) -> ParsedFile:
    """Map a read file to the standard: one batch per force, and its rejected rows."""
    started = time.perf_counter()
    result = standardise(read, profile, source_file=item.name, month=month)
    stats = {"rows_in": read.rows_in, "rows_rejected": result.rejected.num_rows,
             "rejected_by_reason": value_counts(result.rejected["reason"]),
             "read_seconds": read_seconds, "parse_seconds": time.perf_counter() - started}
    if read.rows_counted is not None:
        stats["rows_counted"] = read.rows_counted
    other_months = _all_of_other_months(result.rejected, read.rows_in)
    if other_months:
        # A whole file of another month is a file in the wrong place, not thousands of rows
        # to reject into this month's feedback: it is named and skipped.
        stats.update(rows_rejected=0, rejected_by_reason={}, skipped=(
            f"all {read.rows_in} rows are for {', '.join(other_months)}, not {month}"))
        return ParsedFile([], None, stats)
    rejected = (Batch(item.name, None, result.rejected) if result.rejected.num_rows
                else None)
    records, rules = result.records, profile.public_rules
    forces = sorted(pa.compute.unique(records["force"]).to_pylist()) if (
        records.num_rows) else []
    if len(forces) == 1:  # the usual file, one force's: no copy
        return ParsedFile([Batch(item.name, forces[0], records, rules=rules)], rejected, stats)
    return ParsedFile([Batch(item.name, force, records.filter(
        pa.compute.equal(records["force"], force)), rules=rules) for force in forces],
        rejected, stats)


def _all_of_other_months(rejected: pa.Table, rows_in: int) -> list[str]:
    """The months of a file whose every row was rejected as WRONG_MONTH; else empty."""
    if not rows_in or rejected.num_rows != rows_in or not pa.compute.all(
            pa.compute.equal(rejected["reason"], reasons.WRONG_MONTH)).as_py():
        return []
    months = pa.compute.extract_regex(rejected["detail"], r"^month (?P<month>\S+) is not")
    return sorted(set(pa.compute.struct_field(months, [0]).to_pylist()) - {None})


def assign_areas(table: pa.Table, layers: list) -> tuple[pa.Table, dict[str, int]]:
    """Fill each layer's code and name columns from the record's best location.

    A layer may be partial (real area files often lack a few areas): a point in none of its
    polygons keeps the area the record came with, if any, and gets the reason
    `OUTSIDE_AREA_LAYER`. Returns the table and, per layer, how many located records fell
    outside it.
    """
    if not layers:
        return table, {}
    x = np.asarray(pa.compute.fill_null(table["x_bng"], np.nan)
                   .to_numpy(zero_copy_only=False), dtype=np.float64)
    y = np.asarray(pa.compute.fill_null(table["y_bng"], np.nan)
                   .to_numpy(zero_copy_only=False), dtype=np.float64)
    located = ~(np.isnan(x) | np.isnan(y))
    uncovered = np.zeros(table.num_rows, dtype=bool)
    not_covered: dict[str, int] = {}
    for layer in layers:
        codes, names = layer.assign(x, y)
        outside = located & np.equal(codes, None)
        not_covered[layer.name] = int(outside.sum())
        uncovered |= outside
        for column, values in ((layer.code_column, codes), (layer.name_column, names)):
            array = pa.array(values, pa.string())
            if column in table.column_names:
                kept = pa.compute.if_else(pa.array(outside), table[column], array)
                table = table.set_column(table.schema.get_field_index(column), column, kept)
            else:
                table = table.append_column(column, array)
    return append_reason(table, uncovered, reasons.OUTSIDE_AREA_LAYER), not_covered


def locate_batch(batch: Batch, loaded: LoadedResources, options: LocateOptions
                 ) -> tuple[Batch, dict]:
    """Validate, correct and geocode a batch, then assign its areas."""
    started = time.perf_counter()
    table = locate(batch.table, loaded.gazetteer, options, loaded.boundaries)
    located = time.perf_counter()
    table, not_covered = assign_areas(table, loaded.areas)
    stats: dict = {"locate_seconds": located - started,
                   "areas_seconds": time.perf_counter() - located}
    if not_covered:
        stats["outside_area_layer"] = not_covered
    return Batch(batch.source_file, batch.force, table, rules=batch.rules), stats


def _published(batch: Batch, table: pa.Table, loaded: LoadedResources) -> Batch:
    """`batch` with its anonymised records and their public projection."""
    table = flag_unpublished_outcomes(table, batch.rules)
    public = public_table(table, loaded.areas, batch.rules, loaded.public_id_key)
    return Batch(batch.source_file, batch.force, table, public, batch.rules)


def anonymise_batch(batch: Batch, loaded: LoadedResources) -> tuple[Batch, dict]:
    """Move a batch's records to public map points (no k-merging: no month-wide count)."""
    started = time.perf_counter()
    published = _published(batch, anonymise(batch.table, loaded.public_points), loaded)
    return published, {"anonymise_seconds": time.perf_counter() - started}


def anonymise_force(force: str, batches: list[Batch], loaded: LoadedResources,
                    min_public_count: int) -> Iterator[tuple[Batch, dict]]:
    """Move a force's month of records to public map points, merging points used by fewer
    than `min_public_count` records, then split them back per file."""
    batches = sorted(batches, key=lambda b: b.source_file)
    started = time.perf_counter()
    table = anonymise(pa.concat_tables([b.table for b in batches]), loaded.public_points,
                      min_count=min_public_count)
    seconds = time.perf_counter() - started
    offset = 0
    for batch in batches:
        part = table.slice(offset, batch.table.num_rows)
        offset += batch.table.num_rows
        started = time.perf_counter()
        published = _published(batch, part, loaded)
        yield published, {"anonymise_seconds": time.perf_counter() - started
                          + seconds * part.num_rows / max(table.num_rows, 1)}


def write_record_parts(root: str, month: str, batch: Batch, *, public: bool = True) -> dict:
    """Write a batch's restricted part and, with `public`, its public part under `root`."""
    started = time.perf_counter()
    layout, name = OutputLayout(root), part_name(batch.source_file)
    write_bytes_atomic(layout.part("restricted", month, batch.force, name),
                       parquet_bytes(batch.table, "lon", "lat"))
    if public:
        if batch.public is None:
            raise ValueError(f"{batch.source_file}: a batch is written to the public dataset "
                             "only once anonymised (anonymise_batch or anonymise_force)")
        write_bytes_atomic(layout.part("public", month, batch.force, name),
                           parquet_bytes(batch.public, "public_lon", "public_lat"))
    return {"rows_written": batch.table.num_rows,
            "rows_by_status": value_counts(batch.table["location_status"]),
            "write_seconds": time.perf_counter() - started}


def _by_force(table: pa.Table) -> Iterator[tuple[str | None, pa.Table]]:
    """A table of rejected rows split by force (rows with no force together, first)."""
    for force in sorted(set(table["force"].to_pylist()), key=lambda f: f or ""):
        mask = (pa.compute.is_null(table["force"]) if force is None
                else pa.compute.fill_null(pa.compute.equal(table["force"], force), False))
        yield force, table.filter(mask)


def write_rejected_parts(root: str, month: str, batch: Batch) -> list[str | None]:
    """Write a batch of rejected rows under `root`, one part per force; returns the forces."""
    forces, layout = [], OutputLayout(root)
    for force, part in _by_force(batch.table):
        write_bytes_atomic(layout.part("rejected", month, force, part_name(batch.source_file)),
                           parquet_bytes(part, None, None))
        forces.append(force)
    return forces


def feedback_parts(batch: Batch) -> Iterator[tuple[str, Any]]:
    """Only the rows and counts feedback needs, keyed by force: not whole tables."""
    if batch.force is not None:
        yield batch.force, records_part(batch.table)
        return
    # Rejected rows: split by force; rows with no force go to "unknown".
    for force, part in _by_force(batch.table):
        yield force or "unknown", rejected_part(part)


@dataclass
class FileResult:
    """What is left of one input file once its whole chain has run and its parts are
    written: each step's (file, counts) pairs, its feedback parts and, per force, the
    (point, crime type) cells the disclosure report reads. Small next to the file: it is
    what a worker process sends back (`transforms.steps.ProcessFilesInWorkers`)."""

    stats: list[tuple[str, dict]]
    feedback: list[tuple[str, Any]]
    disclosure: list[tuple[str, pa.Table]]


def process_file(item: InputFile, profile: ForceProfile, month: str, staging: str,
                 loaded: LoadedResources, options: LocateOptions,
                 spill_to: str | None = None) -> FileResult:
    """One input file's whole chain: read, parse, locate, anonymise (k-merging off), and
    its restricted, public and rejected parts written under `staging`. Its feedback rows
    come back rendered, in memory or, with `spill_to` (a local folder), in files there.

    The same kernels in the same order as the monthly pipeline's steps, so the parts
    written and the counts returned are the ones those steps give.
    """
    read, read_seconds = read_file(item, profile)
    parsed = parse_file(item, read, read_seconds, profile, month)
    result = FileResult([(item.name, parsed.stats)], [], [])
    feedback: dict[str, list] = {}
    if parsed.rejected is not None:
        write_rejected_parts(staging, month, parsed.rejected)
        result.stats.append((item.name,
                             {"rows_rejected_written": parsed.rejected.table.num_rows}))
        for force, part in feedback_parts(parsed.rejected):
            feedback.setdefault(force, []).append(part)
    for batch in parsed.records:
        located, located_stats = locate_batch(batch, loaded, options)
        published, published_stats = anonymise_batch(located, loaded)
        result.stats += [(item.name, located_stats), (item.name, published_stats),
                         (item.name, write_record_parts(staging, month, published))]
        for force, part in feedback_parts(published):
            feedback.setdefault(force, []).append(part)
        result.disclosure.append((published.force, disclosure_part(published.public)))
    # Rendered here, beside the other files' work, not after all of them in the driver.
    result.feedback = [(force, render_file_parts(parts, spill_to))
                       for force, parts in feedback.items()]
    return result


def write_feedback(staging: str, output: str, month: str, run_id: str, force: str,
                   parts: list[Any]) -> str:
    """Write one force's feedback for the month under `staging`: corrections (CSV, GeoJSON)
    and the summary, compared with the published summary of the month before."""
    previous = read_summary(output, force, previous_month(month))
    counts = summary(force, month, parts, previous)
    counts["run_id"] = run_id
    write_feedback_files(staging, force, month, feedback_parts_files(parts, counts))
    return OutputLayout(staging).feedback_month(force, month)


def finish_force(staging: str, output: str, month: str, run_id: str, force: str,
                 feedback: list[Any], disclosure: list[pa.Table] | None) -> dict | None:
    """A force's month once every file of it is done: its feedback written (as
    `write_feedback`, when it has feedback parts) and its disclosure counts (as
    `force_disclosure`, when `disclosure` is given), returned."""
    if feedback:
        write_feedback(staging, output, month, run_id, force, feedback)
    return force_disclosure(disclosure) if disclosure is not None else None


def merge_stats(values: Any) -> dict:
    """Add up the counts and timings each step reports for one input file."""
    merged: dict = {}
    for value in values:
        for key, item in value.items():
            if isinstance(item, dict):
                target = merged.setdefault(key, {})
                for sub_key, count in item.items():
                    target[sub_key] = target.get(sub_key, 0) + count
            elif isinstance(item, int | float) and not isinstance(item, bool):
                merged[key] = merged.get(key, 0) + item
            else:
                merged[key] = item
    return merged
