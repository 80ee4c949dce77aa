"""Beam DoFns and composite transforms of a monthly run: parse, locate, anonymise, write.

Elements are `Batch`es (a pyarrow table of one input file's rows for one force), never single
records; the work on each is a plain function of `transforms.batches`, which these DoFns only
wrap. Heavy objects (the gazetteer) are loaded in `setup()` and shared per worker process
through `apache_beam.utils.shared.Shared`, never at import time or on the driver. Rows that
cannot be records leave through the tagged output `rejected`; per-file counts leave through
`stats`, so the run manifest can prove rows in = rows written + rows rejected.

`overlap_io` is the one switch for this machine's local runner (`pipelines.local`): it reads
the next file and writes the last batch's parts on threads beside the bundle's Python-bound
work. On a distributed runner it stays off: workers run bundles in parallel instead.
"""

from __future__ import annotations

import pickle
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from typing import Any

import apache_beam as beam
from apache_beam import pvalue
from apache_beam.metrics import Metrics
from apache_beam.transforms.window import GlobalWindows
from apache_beam.utils.shared import Shared
from apache_beam.utils.windowed_value import WindowedValue

from crimegeo.standards.profiles import ForceProfile, load_profiles
from crimegeo.store.files import write_json_atomic
from crimegeo.store.inputs import InputFile
from crimegeo.transforms.batches import (
    Batch,
    LoadedResources,
    ParsedFile,
    Resources,
    anonymise_batch,
    anonymise_force,
    feedback_parts,
    finish_force,
    load_resources,
    locate_batch,
    merge_stats,
    parse_file,
    process_file,
    read_file,
    write_feedback,
    write_record_parts,
    write_rejected_parts,
)
from crimegeo.transforms.disclosure import disclosure_part, force_disclosure
from crimegeo.transforms.feedback import FeedbackPart
from crimegeo.transforms.locate import LocateOptions
from crimegeo.transforms.workers import (
    files_then_forces,
    pool_broken,
    stop_broken_pool,
    submit_files,
    take_pool,
)

STATS = "stats"
REJECTED = "rejected"
FEEDBACK = "feedback"
DISCLOSURE = "disclosure"
#: Forces' disclosure counts made already (by `ProcessFilesInWorkers`), not their parts.
DISCLOSED = "disclosed"


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


def shared_handles() -> dict[str, Shared]:
    """One `Shared` handle per resource (a handle holds one object at a time)."""
    return {name: Shared() for name in ("gazetteer", "map_points", "boundaries", "areas")}


#: The resources this worker process has loaded, by name: (tag, object). `Shared` holds its
#: objects only while some DoFn refers to them; a runner that sets a DoFn up and tears it
#: down for every bundle (Beam's Dask runner: a bundle per task) would load the gazetteer
#: again for each file. Holding the last one of each name keeps it loaded once per worker.
_KEPT: dict[str, tuple[str, Any]] = {}


def load_shared(resources: Resources, shared: dict[str, Shared]) -> LoadedResources:
    """Load the resources once per worker process, shared by the DoFns that need them."""
    def acquire(name: str, load: Any, tag: str) -> Any:
        loaded = shared[name].acquire(load, tag=tag)
        _KEPT[name] = (tag, loaded)
        return loaded

    return load_resources(resources, acquire)


def parsed_outputs(item: InputFile, parsed: ParsedFile) -> Iterator[Any]:
    """A parsed file as a DoFn's outputs: stats, rejected rows, then the records."""
    yield pvalue.TaggedOutput(STATS, (item.name, parsed.stats))
    if parsed.rejected is not None:
        yield pvalue.TaggedOutput(REJECTED, parsed.rejected)
    yield from parsed.records


class MergeFileStats(beam.CombineFn):
    """Adds up the counts and timings each step reports for one input file."""

    def create_accumulator(self) -> list:
        return []

    def add_input(self, accumulator: list, value: dict) -> list:
        accumulator.append(value)
        return accumulator

    def merge_accumulators(self, accumulators: Any) -> list:
        return [merge_stats(acc) for acc in accumulators]

    def extract_output(self, accumulator: list) -> dict:
        return merge_stats(accumulator)


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
    overlaps the Python-bound steps on the second core. For bundles of many files on the
    local runner; elsewhere workers overlap files by running bundles in parallel.
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
        return read_file(item, self.profiles[item.profile])

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
        parsed = parse_file(item, read, read_seconds, self.profiles[item.profile], self.month)
        self.rows_read.inc(parsed.stats["rows_in"])
        self.rows_rejected.inc(parsed.stats["rows_rejected"])
        yield from parsed_outputs(item, parsed)


class _ResourceStep(beam.DoFn):
    """A DoFn that needs the gazetteer or boundary layers: loaded once per worker."""

    def __init__(self, resources: Resources, shared: dict[str, Shared]) -> None:
        self.resources = resources
        self.shared = shared

    def setup(self) -> None:
        self.loaded = load_shared(self.resources, self.shared)


class LocateBatches(_ResourceStep):
    """Validates, corrects and geocodes each batch, then assigns its areas."""

    def __init__(self, resources: Resources, shared: dict[str, Shared],
                 options: LocateOptions) -> None:
        super().__init__(resources, shared)
        self.options = options

    def process(self, batch: Batch) -> Iterator[Any]:
        located, stats = locate_batch(batch, self.loaded, self.options)
        # Stats first: downstream steps run inside the `yield` of the batch on fused stages,
        # so timing after it would count their work too.
        yield pvalue.TaggedOutput(STATS, (batch.source_file, stats))
        yield located


class AnonymiseBatches(_ResourceStep):
    """Moves each batch's records to public map points (k-merging off: no grouping needed)."""

    def process(self, batch: Batch) -> Iterator[Any]:
        anonymised, stats = anonymise_batch(batch, self.loaded)
        yield pvalue.TaggedOutput(STATS, (batch.source_file, stats))
        yield anonymised


class AnonymiseForce(_ResourceStep):
    """Moves a force's month of records to public map points, then splits them per file."""

    def __init__(self, resources: Resources, shared: dict[str, Shared],
                 min_public_count: int) -> None:
        super().__init__(resources, shared)
        self.min_public_count = min_public_count

    def process(self, element: tuple[str, Any]) -> Iterator[Any]:
        force, batches = element
        for anonymised, stats in anonymise_force(force, list(batches), self.loaded,
                                                 self.min_public_count):
            yield pvalue.TaggedOutput(STATS, (anonymised.source_file, stats))
            yield anonymised


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
        return batch.source_file, write_record_parts(self.staging, self.month, batch)

    def _done(self, result: tuple[str, dict]) -> tuple[str, dict]:
        # Counted here, on the bundle's thread: Beam's metrics do not see other threads.
        self.rows_written.inc(result[1]["rows_written"])
        return result

    def process(self, batch: Batch) -> Iterator[tuple[str, dict]]:
        if self._pool is None:
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


class _FileRowCounters:
    """The rows read, rejected and written, counted from a whole file's step counts (the
    DoFns that run a file's whole chain: the steps' own counters never see its rows)."""

    def __init__(self) -> None:
        self.read = Metrics.counter("crimegeo", "rows_read")
        self.rejected = Metrics.counter("crimegeo", "rows_rejected")
        self.written = Metrics.counter("crimegeo", "rows_written")

    def count(self, stats: dict) -> None:
        self.read.inc(stats.get("rows_in", 0))
        self.rejected.inc(stats.get("rows_rejected", 0))
        self.written.inc(stats.get("rows_written", 0))


class ProcessFilesInWorkers(beam.DoFn):
    """Each input file's whole chain (read, parse, locate, anonymise, write its parts) in
    one of `workers` worker processes (`transforms.workers`): the local runner's parallel
    files, as a distributed runner's workers run bundles side by side.

    The kernels are those of the step-by-step graph, so the parts written are the same.
    What comes back is what the month's later steps read: each step's counts (`stats`),
    feedback parts (`feedback`) and disclosure cells (`disclosure`), tagged as such. Files
    go to the pool largest first, so the last to finish are short ones; their outputs
    leave in the order the files came, once all are done. A file that fails fails the
    bundle with its own error, and the files not yet begun are dropped. With `spill_to` (a
    local folder that outlives the pipeline), the feedback parts' rendered rows stay in
    files there and only their paths come back.

    When the bundle holds all `month_files` of the month, every force in it is complete
    once its files are done, so the workers finish each force too (`batches.finish_force`):
    its feedback files are written there, and with `disclose` its disclosure counts come
    back (tagged `disclosed`) instead of its parts. The forces are finished beside the last
    files, not after them (`workers.files_then_forces`). A bundle of part of the month (a
    runner that split it) sends the parts on for the month's later steps to group, as above.
    """

    def __init__(self, *, month: str, staging: str, output: str, run_id: str,
                 resources: Resources, profile_dirs: tuple[str, ...],
                 locate_options: LocateOptions, workers: int, spill_to: str | None = None,
                 month_files: int | None = None, disclose: bool = False) -> None:
        self.month, self.staging, self.output, self.run_id = month, staging, output, run_id
        self.resources, self.profile_dirs = resources, profile_dirs
        self.locate_options, self.workers = locate_options, workers
        self.spill_to, self.month_files, self.disclose = spill_to, month_files, disclose
        self.rows = _FileRowCounters()

    def start_bundle(self) -> None:
        self._items: list[InputFile] = []

    def process(self, item: InputFile) -> Iterator[Any]:
        self._items.append(item)  # all of a bundle's files are shared out at its end
        return iter(())

    def finish_bundle(self) -> Iterator[WindowedValue]:
        if not self._items:
            return
        started = take_pool(self.workers, self.resources, self.profile_dirs)
        pool = started.pool
        running: dict[int, Future] = {}
        try:
            # files given to the workers ahead of the pipeline are taken, not run again
            running = dict(enumerate(submit_files(
                pool, self._items, self.month, self.staging, self.locate_options,
                self.spill_to, started.given)))
            if len(self._items) == self.month_files:  # the whole month: its forces too
                results, counts = files_then_forces(
                    list(running.values()), self.workers, partial(self._finish_force, pool))
                disclosed = {force: found for force, found in counts.items()
                             if found is not None}
            else:
                results = [running[at].result() for at in range(len(self._items))]
                disclosed = None
        except (BrokenProcessPool, OSError) as error:
            if not isinstance(error, BrokenProcessPool) and not pool_broken(pool):
                raise  # a file's own error, from its worker
            stopped = _worker_stopped(self._items, running)
            stop_broken_pool(pool)
            raise stopped from error
        finally:
            pool.shutdown(wait=True, cancel_futures=True)  # a stopped pool returns at once
        for result in results:
            for file_name, stats in result.stats:
                self.rows.count(stats)
                yield _windowed(pvalue.TaggedOutput(STATS, (file_name, stats)))
            if disclosed is None:  # part of the month: its forces are put together later
                for pair in result.feedback:
                    yield _windowed(pvalue.TaggedOutput(FEEDBACK, pair))
                for pair in result.disclosure:
                    yield _windowed(pvalue.TaggedOutput(DISCLOSURE, pair))
        for pair in (disclosed or {}).items():
            yield _windowed(pvalue.TaggedOutput(DISCLOSED, pair))

    def _finish_force(self, pool: Any, force: str, feedback: list[Any],
                      disclosure: list[Any]) -> Future:
        """A force's feedback written and, with `disclose`, its disclosure counted, in a
        worker (`batches.finish_force`)."""
        return pool.submit(finish_force, self.staging, self.output, self.month, self.run_id,
                           force, feedback, disclosure if self.disclose else None)


class ProcessWholeFiles(_ResourceStep):
    """Each input file's whole chain (read, parse, locate, anonymise, write its parts) in
    one `process` call, on whichever worker the runner gives the file: what
    `ProcessFilesInWorkers` does in the local runner's pool, for a runner whose own workers
    share the files (the Dask runner, whose every step is a task of its own: a month was
    about 1,100 tasks, each costing its scheduler about a millisecond).

    The kernels are `batches.process_file`'s, those of the step-by-step graph, so the parts
    written are the same. Out come each step's counts (`stats`), the file's rendered
    feedback parts (`feedback`) and its disclosure cells (`disclosure`), for the month's
    later steps to group by force.
    """

    def __init__(self, *, month: str, staging: str, resources: Resources,
                 shared: dict[str, Shared], profile_dirs: tuple[str, ...],
                 locate_options: LocateOptions) -> None:
        super().__init__(resources, shared)
        self.month, self.staging = month, staging
        self.profile_dirs, self.locate_options = profile_dirs, locate_options
        self.rows = _FileRowCounters()

    def setup(self) -> None:
        super().setup()
        self.profiles: dict[str, ForceProfile] = {
            p.name: p for p in load_profiles(self.profile_dirs)}

    def process(self, item: InputFile) -> Iterator[Any]:
        result = process_file(item, self.profiles[item.profile], self.month, self.staging,
                              self.loaded, self.locate_options)
        for file_name, stats in result.stats:
            self.rows.count(stats)
            yield pvalue.TaggedOutput(STATS, (file_name, stats))
        for pair in result.feedback:
            yield pvalue.TaggedOutput(FEEDBACK, pair)
        for pair in result.disclosure:
            yield pvalue.TaggedOutput(DISCLOSURE, pair)


class WorkerStoppedError(RuntimeError):
    """A worker process of the parallel files stopped while working on a file."""


def _worker_stopped(items: list[InputFile], running: dict[int, Future]) -> WorkerStoppedError:
    """The error for a pool one of whose workers stopped abruptly (killed, or out of
    memory): every file not done fails with the pool's own message, so this names them."""
    unfinished = [item.name for at, item in enumerate(items)
                  if at not in running or not running[at].done() or running[at].cancelled()
                  or running[at].exception() is not None]
    not_finished = (", ".join(unfinished) if unfinished
                    else "every file was done, but not every force's feedback and disclosure")
    return WorkerStoppedError(
        "a worker process stopped abruptly (killed, or out of memory?) while the month's "
        f"files were worked on; not finished: {not_finished}. Nothing was "
        "published. --parallel-files 1 runs the month in this process, with one gazetteer "
        "in memory")


class WriteRejectedParts(beam.DoFn):
    """Writes rejected rows, by force, to the staging folder."""

    def __init__(self, staging: str, month: str) -> None:
        self.staging = staging
        self.month = month

    def process(self, batch: Batch) -> Iterator[tuple[str, dict]]:
        write_rejected_parts(self.staging, self.month, batch)
        yield batch.source_file, {"rows_rejected_written": batch.table.num_rows}


class WriteFeedback(beam.DoFn):
    """Writes one force's feedback for the month: corrections (CSV, GeoJSON) and summary."""

    def __init__(self, staging: str, output: str, month: str, run_id: str) -> None:
        self.staging = staging
        self.output = output
        self.month = month
        self.run_id = run_id

    def process(self, element: tuple[str, Any]) -> Iterator[str]:
        force, parts = element
        yield write_feedback(self.staging, self.output, self.month, self.run_id, force,
                             list(parts))


class ParseFiles(beam.PTransform):
    """Input files in; their records by force (main), rejected rows and per-file stats."""

    def __init__(self, month: str, profile_dirs: tuple[str, ...], *, read_ahead: bool
                 ) -> None:
        super().__init__()
        self.month, self.profile_dirs, self.read_ahead = month, profile_dirs, read_ahead

    def expand(self, files: beam.PCollection) -> pvalue.DoOutputsTuple:
        return files | "ParseByProfile" >> beam.ParDo(
            ParseByProfile(self.month, self.profile_dirs, read_ahead=self.read_ahead)
        ).with_output_types(Batch).with_outputs(STATS, REJECTED, main="records")


class AnonymiseRecords(beam.PTransform):
    """Located batches in; anonymised batches (main) and stats. With k > 1 a force's whole
    month is grouped first, since k-merging counts records per map point over the month."""

    def __init__(self, resources: Resources, shared: dict[str, Shared],
                 min_public_count: int) -> None:
        super().__init__()
        self.resources, self.shared = resources, shared
        self.min_public_count = min_public_count

    def expand(self, located: beam.PCollection) -> pvalue.DoOutputsTuple:
        if self.min_public_count <= 1:
            return located | "Anonymise" >> beam.ParDo(
                AnonymiseBatches(self.resources, self.shared)
            ).with_output_types(Batch).with_outputs(STATS, main="records")
        return (
            located
            | "KeyByForce" >> beam.Map(lambda batch: (batch.force, batch)
                                       ).with_output_types(tuple[str, Batch])
            | "GroupByForce" >> beam.GroupByKey()
            | "Anonymise" >> beam.ParDo(AnonymiseForce(
                self.resources, self.shared, self.min_public_count)
            ).with_output_types(Batch).with_outputs(STATS, main="records"))


class WriteMonthFeedback(beam.PTransform):
    """Anonymised and rejected batches in; each force's feedback files written; their
    folders out."""

    def __init__(self, staging: str, output: str, month: str, run_id: str) -> None:
        super().__init__()
        self.staging, self.output, self.month, self.run_id = staging, output, month, run_id

    def expand(self, batches: tuple[beam.PCollection, beam.PCollection]) -> beam.PCollection:
        records, rejected = batches
        records_feedback = records | "RecordsFeedback" >> beam.FlatMap(
            feedback_parts).with_output_types(tuple[str, FeedbackPart])
        rejected_feedback = rejected | "RejectedFeedback" >> beam.FlatMap(
            feedback_parts).with_output_types(tuple[str, FeedbackPart])
        return ((records_feedback, rejected_feedback)
                | "AllFeedback" >> beam.Flatten()
                | WriteFeedbackParts(self.staging, self.output, self.month, self.run_id))


class WriteFeedbackParts(beam.PTransform):
    """(force, feedback part) pairs in; each force's feedback files written; their folders
    out."""

    def __init__(self, staging: str, output: str, month: str, run_id: str) -> None:
        super().__init__()
        self.staging, self.output, self.month, self.run_id = staging, output, month, run_id

    def expand(self, parts: beam.PCollection) -> beam.PCollection:
        return (parts
                | "GroupFeedback" >> beam.GroupByKey()
                | "WriteFeedback" >> beam.ParDo(
                    WriteFeedback(self.staging, self.output, self.month, self.run_id)))


class DiscloseMonth(beam.PTransform):
    """Anonymised batches in; each force's disclosure counts written as one JSON file to
    `url` for the driver. Only each batch's distinct (point, crime type) cells are grouped,
    per force: a force's whole month decides how many records share a map point."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url

    def expand(self, records: beam.PCollection) -> beam.PCollection:
        return (records
                | "DisclosureParts" >> beam.Map(
                    lambda batch: (batch.force, disclosure_part(batch.public)))
                | DiscloseParts(self.url))


class DiscloseParts(beam.PTransform):
    """(force, disclosure part) pairs in, or those and (force, counts made already) pairs;
    each force's disclosure counts written as one JSON file to `url`."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url

    def expand(self, parts: beam.PCollection | tuple[beam.PCollection, beam.PCollection]
               ) -> beam.PCollection:
        parts, counted = parts if isinstance(parts, tuple) else (parts, None)
        counts = (parts
                  | "GroupDisclosure" >> beam.GroupByKey()
                  | "ForceDisclosure" >> beam.MapTuple(
                      lambda force, parts: (force, force_disclosure(parts))))
        if counted is not None:
            counts = (counts, counted) | "WithCounted" >> beam.Flatten()
        return (counts
                | "DisclosureTogether" >> beam.combiners.ToDict()
                | "WriteDisclosure" >> beam.Map(
                    lambda counts, url: write_json_atomic(url, counts), self.url))


class StatsPerFile(beam.PTransform):
    """Every step's (file, counts) pairs in; one dict of each file's summed counts out."""

    def expand(self, stats: tuple[beam.PCollection, ...]) -> beam.PCollection:
        return (stats
                | "AllStats" >> beam.Flatten()
                | "StatsPerFile" >> beam.CombinePerKey(MergeFileStats())
                | "StatsTogether" >> beam.combiners.ToDict())


class ProcessMonth(beam.PTransform):
    """Input files in; restricted, public, rejected and feedback written to `staging`, and
    with `disclosure_url`, each force's disclosure counts (`DiscloseMonth`).

    Step by step (parse, locate, anonymise, write, each a ParDo) for any runner. With
    `files_at_once` > 1 (the local runner's parallel files) and k-merging off, each file's
    whole chain runs in one of that many worker processes instead (`ProcessFilesInWorkers`);
    with `whole_files` (the Dask runner) and k-merging off, in one step
    (`ProcessWholeFiles`): the same kernels, the same parts. k-merging groups a force's
    month first, so it always runs step by step. `spill_to`, and `month_files` (how many
    files the month has): see `ProcessFilesInWorkers`.

    Returns a PCollection with one element: the per-file stats, as a dict keyed by file name.
    """

    def __init__(self, *, month: str, staging: str, output: str, run_id: str,
                 resources: Resources, profile_dirs: tuple[str, ...],
                 locate_options: LocateOptions, min_public_count: int,
                 overlap_io: bool = False, disclosure_url: str | None = None,
                 files_at_once: int = 1, spill_to: str | None = None,
                 month_files: int | None = None, whole_files: bool = False) -> None:
        super().__init__()
        self.month = month
        self.staging = staging
        self.output = output
        self.run_id = run_id
        self.resources = resources
        self.profile_dirs = profile_dirs
        self.locate_options = locate_options
        self.min_public_count = min_public_count
        self.overlap_io = overlap_io
        self.disclosure_url = disclosure_url
        self.files_at_once = files_at_once
        self.spill_to, self.month_files = spill_to, month_files
        self.whole_files = whole_files

    def expand(self, files: beam.PCollection) -> beam.PCollection:
        if self.files_at_once > 1 and self.min_public_count <= 1:
            return self._in_workers(files)
        if self.whole_files and self.min_public_count <= 1:
            return self._whole_files(files)
        shared = shared_handles()
        parsed = files | "ParseFiles" >> ParseFiles(self.month, self.profile_dirs,
                                                    read_ahead=self.overlap_io)
        located = parsed.records | "LocateRecords" >> beam.ParDo(
            LocateBatches(self.resources, shared, self.locate_options)
        ).with_output_types(Batch).with_outputs(STATS, main="records")
        anonymised = located.records | "AnonymiseRecords" >> AnonymiseRecords(
            self.resources, shared, self.min_public_count)
        written = anonymised.records | "WriteRecords" >> beam.ParDo(
            WriteRecordParts(self.staging, self.month, in_background=self.overlap_io))
        rejected_written = parsed[REJECTED] | "WriteRejected" >> beam.ParDo(
            WriteRejectedParts(self.staging, self.month))
        if self.disclosure_url:
            _ = anonymised.records | "DiscloseMonth" >> DiscloseMonth(self.disclosure_url)
        _ = ((anonymised.records, parsed[REJECTED])
             | "WriteMonthFeedback" >> WriteMonthFeedback(self.staging, self.output,
                                                          self.month, self.run_id))
        return ((parsed[STATS], located[STATS], anonymised[STATS], written, rejected_written)
                | "StatsPerFile" >> StatsPerFile())

    def _whole_files(self, files: beam.PCollection) -> beam.PCollection:
        processed = files | "ProcessFiles" >> beam.ParDo(ProcessWholeFiles(
            month=self.month, staging=self.staging, resources=self.resources,
            shared=shared_handles(), profile_dirs=self.profile_dirs,
            locate_options=self.locate_options)
        ).with_outputs(STATS, FEEDBACK, DISCLOSURE)
        return self._after_whole_files(processed, processed[DISCLOSURE])

    def _in_workers(self, files: beam.PCollection) -> beam.PCollection:
        processed = files | "ProcessFiles" >> beam.ParDo(ProcessFilesInWorkers(
            month=self.month, staging=self.staging, output=self.output, run_id=self.run_id,
            resources=self.resources, profile_dirs=self.profile_dirs,
            locate_options=self.locate_options, workers=self.files_at_once,
            spill_to=self.spill_to, month_files=self.month_files,
            disclose=self.disclosure_url is not None)
        ).with_outputs(STATS, FEEDBACK, DISCLOSURE, DISCLOSED)
        return self._after_whole_files(processed,
                                       (processed[DISCLOSURE], processed[DISCLOSED]))

    def _after_whole_files(self, processed: pvalue.DoOutputsTuple,
                           disclosure: Any) -> beam.PCollection:
        """What follows a step that runs each file's whole chain: its disclosure parts (and
        forces counted already) into the report, its feedback parts into each force's
        files, its counts into the per-file stats."""
        if self.disclosure_url:
            _ = disclosure | "DiscloseMonth" >> DiscloseParts(self.disclosure_url)
        _ = processed[FEEDBACK] | "WriteMonthFeedback" >> WriteFeedbackParts(
            self.staging, self.output, self.month, self.run_id)
        return (processed[STATS],) | "StatsPerFile" >> StatsPerFile()
