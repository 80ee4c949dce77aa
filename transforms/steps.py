"""Beam DoFns and composite transforms of a run: parse, locate, anonymise, write.

Elements are `Batch`es (a pyarrow table of one input file's rows for one force), never single
records. Heavy objects (the gazetteer) are loaded in `setup()` and shared per worker process
through `apache_beam.utils.shared.Shared`, never at import time or on the driver. Rows that
cannot be records leave through the tagged output `rejected`; per-file counts leave through
`stats`, so the run manifest can prove rows in = rows written + rows rejected.
"""

from __future__ import annotations

import pickle
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import apache_beam as beam
import fsspec
import numpy as np
import pyarrow as pa
from apache_beam import pvalue
from apache_beam.metrics import Metrics
from apache_beam.transforms.window import GlobalWindows
from apache_beam.utils.shared import Shared
from apache_beam.utils.windowed_value import WindowedValue

from crimegeo.standards.months import previous_month
from crimegeo.standards.profiles import ForceProfile, load_profiles
from crimegeo.store.feedback import read_summary, write_feedback
from crimegeo.store.files import write_bytes_atomic
from crimegeo.store.inputs import InputFile
from crimegeo.store.layout import OutputLayout, part_name
from crimegeo.transforms.anonymise import anonymise, public_table
from crimegeo.transforms.areas import load_area_layer, load_force_boundaries
from crimegeo.transforms.feedback import (
    FeedbackPart,
    feedback_files,
    records_part,
    rejected_part,
    summary,
    value_counts,
)
from crimegeo.transforms.locate import LocateOptions, locate
from crimegeo.transforms.outputs import parquet_bytes
from crimegeo.transforms.readers import read_source
from crimegeo.transforms.standardise import standardise

STATS = "stats"
REJECTED = "rejected"


@dataclass
class Batch:
    """Rows of one input file for one force: the unit of work between steps.

    `public` is the anonymised projection, filled by the anonymising step.
    """

    source_file: str
    force: str | None
    table: pa.Table
    public: pa.Table | None = None


class TableElementCoder(beam.coders.Coder):
    """Pickles a `Batch` or `FeedbackPart`, and estimates its size without encoding it.

    Beam samples the size of the elements a step outputs (always the first ten, then fewer)
    by encoding them. With the default coder that pickled whole Arrow tables only to count
    their bytes: ~430 MB of copies, about 0.2 s, on a national month of ~50 batches. The
    tables' own buffer sizes are estimate enough.
    """

    def encode(self, value: Any) -> bytes:
        return pickle.dumps(value, pickle.HIGHEST_PROTOCOL)

    def decode(self, encoded: bytes) -> Any:
        return pickle.loads(encoded)

    def estimate_size(self, value: Any) -> int:
        tables = [getattr(value, name, None) for name in ("table", "public", "corrections")]
        return 64 + sum(t.nbytes for t in tables if t is not None)

    def is_deterministic(self) -> bool:
        return False

    def to_type_hint(self) -> Any:
        return Any


beam.coders.registry.register_coder(Batch, TableElementCoder)
beam.coders.registry.register_coder(FeedbackPart, TableElementCoder)


@dataclass(frozen=True)
class Resources:
    """Where the heavy, read-only things every worker loads once come from."""

    gazetteer: str | None = None
    map_points: str | None = None          # a gazetteer whose public points override
    boundaries: tuple[str, ...] = ()
    boundary_tolerance_m: float = 250.0
    areas: tuple[str, ...] = ()


class AreaLayers(list):
    """The loaded area layers (a list that `Shared` can hold a weak reference to)."""


class _Loaded:
    """A worker's handles on the shared resources, loaded in `setup()`."""

    def __init__(self, resources: Resources, shared: dict[str, Shared]) -> None:
        self.gazetteer = None
        self.map_points = None
        self.boundaries = None
        self.areas: AreaLayers = AreaLayers()
        if resources.gazetteer:
            uri = resources.gazetteer
            self.gazetteer = shared["gazetteer"].acquire(lambda: _load_gazetteer(uri), tag=uri)
        if resources.map_points:
            uri = resources.map_points
            self.map_points = shared["map_points"].acquire(lambda: _load_gazetteer(uri),
                                                           tag=uri)
        if resources.boundaries:
            urls, tolerance = resources.boundaries, resources.boundary_tolerance_m
            self.boundaries = shared["boundaries"].acquire(
                lambda: load_force_boundaries(urls, tolerance), tag=repr((urls, tolerance)))
        if resources.areas:
            specs = resources.areas
            self.areas = shared["areas"].acquire(
                lambda: AreaLayers(load_area_layer(spec) for spec in specs), tag=repr(specs))


def _merge_stats(values: Any) -> dict:
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


class MergeFileStats(beam.CombineFn):
    """Adds up the counts and timings each step reports for one input file."""

    def create_accumulator(self) -> list:
        return []

    def add_input(self, accumulator: list, value: dict) -> list:
        accumulator.append(value)
        return accumulator

    def merge_accumulators(self, accumulators: Any) -> list:
        return [_merge_stats(acc) for acc in accumulators]

    def extract_output(self, accumulator: list) -> dict:
        return _merge_stats(accumulator)


def _worker_thread(wanted: bool, name: str) -> ThreadPoolExecutor | None:
    """One background thread for a DoFn's overlapped reads or writes, if `wanted`."""
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix=name) if wanted else None


def _stop(pool: ThreadPoolExecutor | None) -> None:
    """Shut a DoFn's background thread down (in `teardown`), dropping work not yet begun."""
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


def _windowed(output: Any) -> Any:
    """An output of `finish_bundle`, which Beam takes only windowed (a tagged one too)."""
    if isinstance(output, pvalue.TaggedOutput):
        return pvalue.TaggedOutput(output.tag, GlobalWindows.windowed_value(output.value))
    return GlobalWindows.windowed_value(output)


class ParseByProfile(beam.DoFn):
    """Reads one input file by its profile into standard batches (one per force).

    With `read_ahead`, each file is read on a reader thread while the bundle standardises,
    locates and writes the one before it: a file's batches leave one `process` call later
    (the last file's in `finish_bundle`). pyarrow's CSV reader releases the GIL, so the read
    overlaps the Python-bound steps on the second core. For bundles of many files (a monthly
    run); a streaming bundle of one file gains nothing from it.
    """

    def __init__(self, month: str, profile_dirs: tuple[str, ...] = (), *,
                 read_ahead: bool = False) -> None:
        self.month = month
        self.profile_dirs = profile_dirs
        self.read_ahead = read_ahead
        self.rows_read = Metrics.counter("crimegeo", "rows_read")
        self.rows_rejected = Metrics.counter("crimegeo", "rows_rejected")

    def setup(self) -> None:
        self.profiles: dict[str, ForceProfile] = {
            p.name: p for p in load_profiles(self.profile_dirs)}
        self._reader = _worker_thread(self.read_ahead, "crimegeo-read")
        self._reading: deque[tuple[InputFile, Future]] = deque()

    def start_bundle(self) -> None:
        self._reading = deque()

    def _read(self, item: InputFile) -> tuple[Any, float]:
        started = time.perf_counter()
        read = read_source(lambda: fsspec.open(item.url, "rb").open(),
                           self.profiles[item.profile])
        return read, time.perf_counter() - started

    def process(self, item: InputFile) -> Iterator[Any]:
        if self._reader is None:
            yield from self._parse(item, *self._read(item))
            return
        self._reading.append((item, self._reader.submit(self._read, item)))
        if len(self._reading) > 1:
            earlier, reading = self._reading.popleft()
            yield from self._parse(earlier, *reading.result())

    def finish_bundle(self) -> Iterator[WindowedValue]:
        while self._reading:
            earlier, reading = self._reading.popleft()
            yield from map(_windowed, self._parse(earlier, *reading.result()))

    def teardown(self) -> None:
        _stop(getattr(self, "_reader", None))
        self._reader = None

    def _parse(self, item: InputFile, read: Any, read_seconds: float) -> Iterator[Any]:
        started = time.perf_counter()
        profile = self.profiles[item.profile]
        result = standardise(read, profile, source_file=item.name, month=self.month)
        self.rows_read.inc(read.rows_in)
        self.rows_rejected.inc(result.rejected.num_rows)
        by_reason = value_counts(result.rejected["reason"])
        yield pvalue.TaggedOutput(STATS, (item.name, {
            "rows_in": read.rows_in, "rows_rejected": result.rejected.num_rows,
            "rejected_by_reason": by_reason, "read_seconds": read_seconds,
            "parse_seconds": time.perf_counter() - started,
        }))
        if result.rejected.num_rows:
            yield pvalue.TaggedOutput(REJECTED, Batch(item.name, None, result.rejected))
        records = result.records
        forces = sorted(pa.compute.unique(records["force"]).to_pylist()) if (
            records.num_rows) else []
        if len(forces) == 1:  # the usual file, one force's: no copy
            yield Batch(item.name, forces[0], records)
            return
        for force in forces:
            yield Batch(item.name, force, records.filter(pa.compute.equal(records["force"],
                                                                         force)))


def _load_gazetteer(uri: str) -> Any:
    from crimegeo.gazetteer import Gazetteer  # imported on the worker, not at module import

    return Gazetteer.load(uri)


def shared_handles() -> dict[str, Shared]:
    """One `Shared` handle per resource (a handle holds one object at a time)."""
    return {name: Shared() for name in ("gazetteer", "map_points", "boundaries", "areas")}


class _ResourceStep(beam.DoFn):
    """A DoFn that needs the gazetteer or boundary layers: loaded once per worker."""

    def __init__(self, resources: Resources, shared: dict[str, Shared]) -> None:
        self.resources = resources
        self.shared = shared

    def setup(self) -> None:
        self.loaded = _Loaded(self.resources, self.shared)


class LocateBatches(_ResourceStep):
    """Validates, corrects and geocodes each batch, then assigns its areas."""

    def __init__(self, resources: Resources, shared: dict[str, Shared],
                 options: LocateOptions) -> None:
        super().__init__(resources, shared)
        self.options = options

    def process(self, batch: Batch) -> Iterator[Any]:
        started = time.perf_counter()
        table = locate(batch.table, self.loaded.gazetteer, self.options,
                       self.loaded.boundaries)
        located = time.perf_counter()
        table = assign_areas(table, self.loaded.areas)
        # Stats first: downstream steps run inside the `yield` of the batch on fused stages,
        # so timing after it would count their work too.
        yield pvalue.TaggedOutput(STATS, (batch.source_file, {
            "locate_seconds": located - started,
            "areas_seconds": time.perf_counter() - located}))
        yield Batch(batch.source_file, batch.force, table)


def assign_areas(table: pa.Table, layers: list) -> pa.Table:
    """Fill each layer's code and name columns from the record's best location."""
    if not layers:
        return table
    x = np.asarray(pa.compute.fill_null(table["x_bng"], np.nan)
                   .to_numpy(zero_copy_only=False), dtype=np.float64)
    y = np.asarray(pa.compute.fill_null(table["y_bng"], np.nan)
                   .to_numpy(zero_copy_only=False), dtype=np.float64)
    for layer in layers:
        codes, names = layer.assign(x, y)
        for column, values in ((layer.code_column, codes), (layer.name_column, names)):
            array = pa.array(values, pa.string())
            if column in table.column_names:
                table = table.set_column(table.schema.get_field_index(column), column, array)
            else:
                table = table.append_column(column, array)
    return table


class AnonymiseForce(_ResourceStep):
    """Moves a force's month of records to public map points, then splits them per file."""

    def __init__(self, resources: Resources, shared: dict[str, Shared],
                 min_public_count: int = 1) -> None:
        super().__init__(resources, shared)
        self.min_public_count = min_public_count

    def process(self, element: tuple[str, Any]) -> Iterator[Any]:
        force, batches = element
        batches = sorted(batches, key=lambda b: b.source_file)
        started = time.perf_counter()
        points = self.loaded.map_points or self.loaded.gazetteer
        table = anonymise(pa.concat_tables([b.table for b in batches]), points,
                          min_count=self.min_public_count)
        seconds = time.perf_counter() - started
        offset = 0
        for batch in batches:
            part = table.slice(offset, batch.table.num_rows)
            offset += batch.table.num_rows
            yield pvalue.TaggedOutput(STATS, (batch.source_file, {
                "anonymise_seconds": seconds * part.num_rows / max(table.num_rows, 1)}))
            yield Batch(batch.source_file, force, part,
                        public_table(part, self.loaded.areas))


class WriteRecordParts(beam.DoFn):
    """Writes a batch's restricted and public GeoParquet parts to the staging folder.

    With `in_background`, a batch's parts are encoded and written on a writer thread while
    the bundle goes on parsing and locating the next batches: Parquet encoding and zstd
    release the GIL, so the write overlaps the Python-bound steps on the second core (a
    second writer thread measured no faster on two cores). At most `max_pending` batches
    wait to be written; all are written before the bundle ends, and a failed write fails
    the bundle.
    """

    def __init__(self, staging: str, month: str, *, in_background: bool = False,
                 max_pending: int = 4) -> None:
        self.staging = staging
        self.layout = OutputLayout(staging)
        self.month = month
        self.in_background = in_background
        self.max_pending = max_pending
        self.rows_written = Metrics.counter("crimegeo", "rows_written")

    def setup(self) -> None:
        self._pool = _worker_thread(self.in_background, "crimegeo-write")
        self._pending: deque[Future] = deque()

    def start_bundle(self) -> None:
        self._pending = deque()

    def write(self, batch: Batch) -> tuple[str, dict]:
        """Write both parts of `batch` now; returns its (file, stats) pair."""
        started = time.perf_counter()
        name = part_name(batch.source_file)
        write_bytes_atomic(self.layout.part("restricted", self.month, batch.force, name),
                           parquet_bytes(batch.table, "lon", "lat"))
        public = batch.public if batch.public is not None else public_table(batch.table)
        write_bytes_atomic(self.layout.part("public", self.month, batch.force, name),
                           parquet_bytes(public, "public_lon", "public_lat"))
        return batch.source_file, {
            "rows_written": batch.table.num_rows,
            "rows_by_status": value_counts(batch.table["location_status"]),
            "write_seconds": time.perf_counter() - started,
        }

    def _done(self, result: tuple[str, dict]) -> tuple[str, dict]:
        # Counted here, on the bundle's thread: Beam's metrics do not see other threads.
        self.rows_written.inc(result[1]["rows_written"])
        return result

    def process(self, batch: Batch) -> Iterator[tuple[str, dict]]:
        if not self.in_background:
            yield self._done(self.write(batch))
            return
        self._pending.append(self._pool.submit(self.write, batch))
        while self._pending and (self._pending[0].done()
                                 or len(self._pending) > self.max_pending):
            yield self._done(self._pending.popleft().result())

    def finish_bundle(self) -> Iterator[WindowedValue]:
        while self._pending:
            yield _windowed(self._done(self._pending.popleft().result()))

    def teardown(self) -> None:
        _stop(getattr(self, "_pool", None))
        self._pool = None


class WriteRejectedParts(beam.DoFn):
    """Writes rejected rows, by force, to the staging folder."""

    def __init__(self, staging: str, month: str) -> None:
        self.staging = staging
        self.layout = OutputLayout(staging)
        self.month = month

    def process(self, batch: Batch) -> Iterator[tuple[str, dict]]:
        table = batch.table
        forces = sorted(set(table["force"].to_pylist()), key=lambda f: f or "")
        for force in forces:
            mask = (pa.compute.is_null(table["force"]) if force is None
                    else pa.compute.fill_null(pa.compute.equal(table["force"], force), False))
            part = table.filter(mask)
            write_bytes_atomic(
                self.layout.part("rejected", self.month, force, part_name(batch.source_file)),
                parquet_bytes(part, None, None))
        yield batch.source_file, {"rows_rejected_written": table.num_rows}


class WriteFeedback(beam.DoFn):
    """Writes one force's feedback for the month: corrections (CSV, GeoJSON) and summary."""

    def __init__(self, staging: str, output: str, month: str, run_id: str) -> None:
        self.staging = staging
        self.output = output
        self.month = month
        self.run_id = run_id

    def process(self, element: tuple[str, Any]) -> Iterator[str]:
        force, parts = element
        parts = list(parts)
        previous = read_summary(self.output, force, previous_month(self.month))
        counts = summary(force, self.month, parts, previous)
        counts["run_id"] = self.run_id
        write_feedback(self.staging, force, self.month,
                       feedback_files([part.corrections for part in parts], counts))
        yield OutputLayout(self.staging).feedback_month(force, self.month)


def _feedback_parts(batch: Batch) -> Iterator[tuple[str, Any]]:
    """Only the rows and counts feedback needs cross to the grouping: not whole tables."""
    table = batch.table
    if batch.force is not None:
        yield batch.force, records_part(table)
        return
    # Rejected rows: split by force; rows with no force go to "unknown".
    for force in sorted(set(table["force"].to_pylist()), key=lambda f: f or ""):
        if force is None:
            mask = pa.compute.is_null(table["force"])
        else:
            mask = pa.compute.fill_null(pa.compute.equal(table["force"], force), False)
        yield force or "unknown", rejected_part(table.filter(mask))


class AnonymiseBatches(_ResourceStep):
    """Moves each batch's records to public map points (k-merging off: no grouping needed)."""

    def process(self, batch: Batch) -> Iterator[Any]:
        started = time.perf_counter()
        points = self.loaded.map_points or self.loaded.gazetteer
        table = anonymise(batch.table, points)
        public = public_table(table, self.loaded.areas)
        yield pvalue.TaggedOutput(STATS, (batch.source_file, {
            "anonymise_seconds": time.perf_counter() - started}))
        yield Batch(batch.source_file, batch.force, table, public)


class ProcessMonth(beam.PTransform):
    """Input files in; restricted, public, rejected and feedback written to `staging`.

    Returns a PCollection with one element: the per-file stats, as a dict keyed by file name.
    """

    def __init__(self, *, month: str, staging: str, output: str, run_id: str,
                 resources: Resources, profile_dirs: tuple[str, ...] = (),
                 locate_options: LocateOptions | None = None,
                 min_public_count: int = 1) -> None:
        super().__init__()
        self.month = month
        self.staging = staging
        self.output = output
        self.run_id = run_id
        self.resources = resources
        self.profile_dirs = profile_dirs
        self.locate_options = locate_options or LocateOptions()
        self.min_public_count = min_public_count

    def expand(self, files: beam.PCollection) -> beam.PCollection:
        shared = shared_handles()
        parsed = files | "ParseByProfile" >> beam.ParDo(
            ParseByProfile(self.month, self.profile_dirs, read_ahead=True)
        ).with_output_types(Batch).with_outputs(STATS, REJECTED, main="records")
        located = parsed.records | "LocateRecords" >> beam.ParDo(
            LocateBatches(self.resources, shared, self.locate_options)
        ).with_output_types(Batch).with_outputs(STATS, main="records")
        if self.min_public_count > 1:
            # k-merging counts records per map point over the force's whole month.
            anonymised = (
                located.records
                | "KeyByForce" >> beam.Map(lambda batch: (batch.force, batch)
                                           ).with_output_types(tuple[str, Batch])
                | "GroupByForce" >> beam.GroupByKey()
                | "Anonymise" >> beam.ParDo(AnonymiseForce(
                    self.resources, shared, self.min_public_count)
                ).with_output_types(Batch).with_outputs(STATS, main="records"))
        else:
            anonymised = located.records | "Anonymise" >> beam.ParDo(
                AnonymiseBatches(self.resources, shared)
            ).with_output_types(Batch).with_outputs(STATS, main="records")
        written = anonymised.records | "WriteRecords" >> beam.ParDo(
            WriteRecordParts(self.staging, self.month, in_background=True))
        rejected_written = parsed[REJECTED] | "WriteRejected" >> beam.ParDo(
            WriteRejectedParts(self.staging, self.month))
        records_feedback = anonymised.records | "RecordsFeedback" >> beam.FlatMap(
            _feedback_parts).with_output_types(tuple[str, FeedbackPart])
        rejected_feedback = parsed[REJECTED] | "RejectedFeedback" >> beam.FlatMap(
            _feedback_parts).with_output_types(tuple[str, FeedbackPart])
        _ = ((records_feedback, rejected_feedback)
             | "AllFeedback" >> beam.Flatten()
             | "GroupFeedback" >> beam.GroupByKey()
             | "WriteFeedback" >> beam.ParDo(
                 WriteFeedback(self.staging, self.output, self.month, self.run_id)))
        return (
            (parsed[STATS], located[STATS], anonymised[STATS], written, rejected_written)
            | "AllStats" >> beam.Flatten()
            | "StatsPerFile" >> beam.CombinePerKey(MergeFileStats())
            | "StatsTogether" >> beam.combiners.ToDict()
        )
