"""The monthly Beam pipeline: a month of force exports in, the location standard out.

Run it on its own (no Prefect) with:

    crimegeo pipeline --month 2024-03 --input demo/input --output demo/output \
        --gazetteer demo/gazetteer

or from Python:

    from crimegeo.pipelines.monthly import run_month
    from crimegeo.pipelines.settings import Inputs, RunSettings
    result = run_month(RunSettings(inputs=Inputs(input="demo/input"), output="demo/output"),
                       "2024-03")

Both take the run's `RunSettings` (`pipelines.settings`): the Beam options and the DoFns'
resources are derived from it here. `build_pipeline()` returns the pipeline without running it,
so tests and the Prefect task reuse it; `run_month()` discovers the inputs, runs the pipeline,
commits the month and writes the run manifest. Locally the in-process DirectRunner is chosen
explicitly (`pipelines.local`): since Beam 2.68 the default first tries to download the Prism
runner, which fails or hangs offline.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from importlib.metadata import version
from typing import Any

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from crimegeo.pipelines.ahead import (
    MonthStart,
    id_kinds,
    locate_options,
    month_files_at_once,
    new_run_id,
    spill_folder,
    utc_now,
    worker_resources,
)
from crimegeo.pipelines.local import (
    local_runner,
    local_runner_options,
    runner_arguments,
    runs_on_dask,
    tuned_for_this_process,
)
from crimegeo.pipelines.settings import RunSettings, redact
from crimegeo.standards.areas import layer_spec
from crimegeo.standards.coordinates import TRANSFORMATION
from crimegeo.standards.months import Month
from crimegeo.standards.profiles import load_profiles
from crimegeo.standards.public_ids import refuse_without_key
from crimegeo.standards.schema import STANDARD_VERSION
from crimegeo.store.inputs import Discovery, InputFile, discover_month
from crimegeo.store.layout import OutputLayout
from crimegeo.store.lock import output_lock
from crimegeo.store.parts import partition_forces
from crimegeo.store.publish import (
    check_reconciliation,
    check_shrink,
    commit_month,
    manifest_url,
    recover,
    take_disclosure,
    take_file_stats,
    withhold_public,
    write_file_stats,
)
from crimegeo.transforms.disclosure import month_disclosure
from crimegeo.transforms.steps import ProcessMonth
from crimegeo.transforms.workers import pool_started

#: What `flows/` uses from this module: flows may import pipelines and the store, never
#: transforms.
__all__ = [
    "MonthResult", "RunSettings", "build_pipeline", "check_month", "months_at_once",
    "new_run_id", "run_month",
]


def check_month(month: str) -> str:
    """Return `month` if it is YYYY-MM, else raise a clear ValueError."""
    Month(month)  # raises the ValueError
    return month


def beam_options(settings: RunSettings) -> PipelineOptions:
    """Beam's options for a run: its runner and the options passed through to Beam."""
    runner = settings.runner
    return local_runner_options(PipelineOptions(runner_arguments(
        runner.runner, runner.beam_options, runner.dask_address)))


def build_pipeline(settings: RunSettings, month: str, files: list[InputFile], run_id: str,
                   files_at_once: int | None = None, spill_to: str | None = None
                   ) -> tuple[beam.Pipeline, Any]:
    """The monthly pipeline over `files`, writing to the run's staging folder; not run.

    `files_at_once` is the parallel files' worker count, decided here when not given;
    `spill_to`, a local folder their feedback rows may be left in until the pipeline ends.
    Returns the pipeline and the PCollection holding the per-file stats dict.
    """
    layout = OutputLayout(settings.output)
    options = beam_options(settings)
    pipeline = beam.Pipeline(runner=local_runner(options), options=options)
    stats = (
        pipeline
        | "InputFiles" >> beam.Create(files, reshuffle=False)
        | "ProcessMonth" >> ProcessMonth(
            month=month, staging=layout.staging(run_id), output=settings.output, run_id=run_id,
            resources=worker_resources(settings), profile_dirs=settings.inputs.profiles,
            locate_options=locate_options(settings.locating),
            min_public_count=settings.anonymising.min_public_count,
            overlap_io=tuned_for_this_process(settings.runner.local_tuning, options),
            disclosure_url=layout.staged_disclosure(run_id),
            files_at_once=(month_files_at_once(settings, files) if files_at_once is None
                           else files_at_once),
            spill_to=spill_to, month_files=len(files),
            # a task a file on Dask, not a task a step: its scheduler's cost is per task
            whole_files=runs_on_dask(options))
    )
    _ = stats | "WriteFileStats" >> beam.Map(write_file_stats, layout.file_stats(run_id))
    return pipeline, stats


@dataclass
class MonthResult:
    """What a monthly run did: its manifest and where it wrote."""

    manifest: dict
    manifest_url: str
    published: list[str] = field(default_factory=list)


def _gazetteer_facts(uri: str | None) -> tuple[str | None, str | None]:
    """The gazetteer's checksum, and whether its names were read into keys by this code's
    rules: "current", "other" (it should be rebuilt) or "unrecorded" (built before the
    rules were recorded); (None, None) without a gazetteer."""
    if not uri:
        return None, None
    from crimegeo.gazetteer import Gazetteer  # only on the driver, and only for its manifest
    from crimegeo.gazetteer.normalise import name_rules_state

    # The manifest alone: loading would copy a bucket's whole artifact to the driver.
    manifest = Gazetteer.read_manifest(uri)
    return manifest["checksum"], name_rules_state(manifest.get("name_rules"))


@dataclass(frozen=True)
class MonthsAtOnce:
    """Several months of one output running at once under one holder of its lease.

    The lease (`store.lock`) stays one writer per output: the backfill holds it, recovers
    the output once before any month stages, and each month then runs its pipeline beside
    the others and commits on its own (`store.publish.commit_month` swaps only that month's
    folders). Commits take `commits` in turn, since each rewrites the forces' feedback
    indexes, which list every month.
    """

    output: str
    holder: str
    commits: threading.Lock = field(default_factory=threading.Lock)


#: The outputs this process holds for months run at once. Process-wide, not per thread:
#: Prefect runs a flow's tasks in threads of its own.
_MONTHS_AT_ONCE: dict[str, MonthsAtOnce] = {}


@contextmanager
def months_at_once(settings: RunSettings, holder: str) -> Iterator[MonthsAtOnce]:
    """Hold the output for months run at once; while it is held, every `run_month` of this
    process on the same output runs under this lease instead of taking it."""
    with output_lock(settings.output, holder,
                     wait_seconds=settings.publishing.wait_for_output):
        recover(settings.output)  # before any month stages: never beside a running one
        session = MonthsAtOnce(settings.output, holder)
        _MONTHS_AT_ONCE[settings.output] = session
        try:
            yield session
        finally:
            del _MONTHS_AT_ONCE[settings.output]


def run_month(settings: RunSettings, month: str, discovery: Discovery | None = None, *,
              run_id: str | None = None, files_at_once: int | None = None,
              started: MonthStart | None = None) -> MonthResult:
    """Discover inputs, run the pipeline, commit the month and write its manifest.

    `files_at_once` is the parallel files' worker count when the caller has decided it
    (and started the workers); else it is decided here. `started`, from
    `pipelines.ahead.month_started`, gives both and the month's files; when it has a run id,
    the caller holds the output's lease for that run and its workers have the files.

    Raises `UnmatchedFileError` for an unrecognised input file, `PublicIdKeyError` when files
    hold force references and there is no public id key, and `ReconciliationError` when any
    file's rows do not add up; in each case the published month is left untouched. The
    run holds the output's lease throughout (`store.lock`): `OutputLockedError` names the
    run that holds it when another is writing the same output. Inside `months_at_once` for
    the same output, it runs under that lease and commits in turn with the other months.
    """
    month = check_month(month)
    if started is not None:
        discovery, files_at_once = started.discovery, started.files_at_once
        run_id = started.run_id or run_id
    if discovery is None:
        discovery = discover_month(settings.inputs.input, month,
                                   load_profiles(settings.inputs.profiles))
    refuse_without_key(month, id_kinds(settings, discovery),
                       settings.anonymising.public_id_key())
    run_id = run_id or new_run_id(month)
    if started is not None and started.run_id is not None:  # lease held, files given
        return _run_locked(settings, month, discovery, run_id, None, files_at_once, started)
    session = _MONTHS_AT_ONCE.get(settings.output)
    if session is not None:
        return _run_locked(settings, month, discovery, run_id, session, files_at_once)
    with output_lock(settings.output, run_id,
                     wait_seconds=settings.publishing.wait_for_output):
        return _run_locked(settings, month, discovery, run_id, None, files_at_once)


def _run_locked(settings: RunSettings, month: str, discovery: Discovery, run_id: str,
                session: MonthsAtOnce | None, files_at_once: int | None,
                ahead: MonthStart | None = None) -> MonthResult:
    started = time.perf_counter() if ahead is None else ahead.began
    started_at = utc_now() if ahead is None else ahead.began_at
    # Recovery removes every other run's staging: under months_at_once it ran at the start,
    # and for files given ahead, before they were.
    recovered = (list(ahead.recovered) if ahead is not None
                 else recover(settings.output) if session is None else [])
    in_turn: AbstractContextManager = session.commits if session else nullcontext()
    staging = OutputLayout(settings.output).staging(run_id)
    inputs = list(discovery.files)
    workers = month_files_at_once(settings, inputs) if files_at_once is None else files_at_once
    # The workers import and load the gazetteer while the pipeline is built and started.
    with (pool_started(workers, worker_resources(settings), settings.inputs.profiles),
          nullcontext(ahead.spill_to) if ahead is not None else spill_folder(workers)
          as spill_to):
        gazetteer_checksum, name_rules = _gazetteer_facts(settings.gazetteer.gazetteer)
        pipeline, _ = build_pipeline(settings, month, inputs, run_id, workers, spill_to)
        pipeline.run().wait_until_finish()
    pipeline_seconds = time.perf_counter() - started

    file_stats = take_file_stats(settings.output, run_id) if discovery.files else {}
    files = {}
    skipped = list(discovery.skipped)
    for item in discovery.files:
        stats = file_stats.get(item.name, {})
        if "skipped" in stats:  # read, and found to be wholly of another month
            skipped.append((item.url, stats["skipped"]))
            continue
        files[item.name] = {
            "url": item.url, "profile": item.profile, "bytes": item.size,
            "checksum": item.checksum, "rows_in": stats.get("rows_in", 0),
            "rows_counted": stats.get("rows_counted"),
            "rows_written": stats.get("rows_written", 0),
            "rows_rejected": stats.get("rows_rejected", 0),
            "rejected_by_reason": stats.get("rejected_by_reason", {}),
            "rows_by_status": stats.get("rows_by_status", {}),
            "outside_area_layer": stats.get("outside_area_layer", {}),
            "seconds": {k.removesuffix("_seconds"): round(v, 3)
                        for k, v in stats.items() if k.endswith("_seconds")},
        }
    check_reconciliation(files)
    with in_turn:
        return _commit(settings, month, run_id, files, skipped, started, started_at,
                       pipeline_seconds, gazetteer_checksum, recovered, staging, workers,
                       name_rules)


def _commit(settings: RunSettings, month: str, run_id: str, files: dict, skipped: list,
            started: float, started_at: str, pipeline_seconds: float,
            gazetteer_checksum: str | None, recovered: list[str], staging: str,
            files_at_once: int, name_rules: str | None = None) -> MonthResult:
    if not settings.publishing.allow_shrink:
        check_shrink(settings.output, run_id, month, settings.publishing.max_shrink)
    disclosure = month_disclosure(month, take_disclosure(settings.output, run_id),
                                  settings.anonymising.max_unique_share)
    withhold_public(settings.output, run_id, month, sorted(disclosure["withheld"]))
    totals = {key: sum(f[key] for f in files.values())
              for key in ("rows_in", "rows_written", "rows_rejected")}
    status_totals: dict[str, int] = {}
    outside_layers = dict.fromkeys(_layer_names(settings), 0)
    for f in files.values():
        for status, count in f["rows_by_status"].items():
            status_totals[status] = status_totals.get(status, 0) + count
        for layer, count in f["outside_area_layer"].items():
            outside_layers[layer] = outside_layers.get(layer, 0) + count
    manifest = {
        "run_id": run_id,
        "month": month,
        "started_at": started_at,
        "seconds": round(time.perf_counter() - started, 3),
        "pipeline_seconds": round(pipeline_seconds, 3),
        "files_at_once": files_at_once,
        "code_version": version("crimegeo") if _installed() else "unknown",
        "standard_version": STANDARD_VERSION,
        "beam_version": beam.__version__,
        "runner": beam_options(settings).view_as(StandardOptions).runner,
        "coordinate_transformation": TRANSFORMATION,
        "input": redact(settings.inputs.input),
        "output": redact(settings.output),
        "gazetteer": redact(settings.gazetteer.gazetteer),
        "gazetteer_checksum": gazetteer_checksum,
        "gazetteer_name_rules": name_rules,
        "options": settings.manifest_options(),
        "files": files,
        "skipped_files": [{"url": redact(url), "why": why} for url, why in skipped],
        "totals": {**totals, "rows_by_status": status_totals,
                   "outside_area_layer": outside_layers},
        "forces": partition_forces(staging, "restricted", month),
        "recovered": recovered,
        "public_withheld": disclosure["withheld"],
        "disclosure": {force: entry["status"]
                       for force, entry in disclosure["forces"].items()},
    }
    # The disclosure report is committed with the month's generation: readers see both or
    # neither.
    published = commit_month(settings.output, run_id, month, manifest,
                             disclosure={"run_id": run_id, **disclosure})
    return MonthResult(manifest, manifest_url(settings.output, month), published)


def _layer_names(settings: RunSettings) -> list[str]:
    """The NAME of each `--areas [NAME=]URI` that names one (unnamed layers are named when
    loaded, and appear in the counts once a file has records)."""
    return [name for name, _ in map(layer_spec, settings.locating.areas) if name]


def _installed() -> bool:
    try:
        version("crimegeo")
    except Exception:  # noqa: BLE001 - not installed as a distribution
        return False
    return True
