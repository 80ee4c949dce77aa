"""What a monthly run can start before Beam is imported: its files found, the output's
lease taken, and its worker processes (parallel files, `transforms.workers`) started and
given the files, so they import the kernels, load the gazetteer and work on the month on
the other cores while the driver imports Beam (about 1.5 s) and builds the pipeline. Must
not import Beam or Prefect.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING

from crimegeo.pipelines.settings import Locating, RunSettings
from crimegeo.standards.profiles import FORCE_REFERENCE, load_profiles
from crimegeo.standards.public_ids import refuse_without_key
from crimegeo.store.inputs import Discovery, InputFile, discover_month
from crimegeo.store.layout import OutputLayout
from crimegeo.store.lock import output_lock
from crimegeo.store.publish import recover

if TYPE_CHECKING:
    from crimegeo.transforms.batches import Resources
    from crimegeo.transforms.locate import LocateOptions

# The kernels (`crimegeo.transforms`) are imported where they are used, not here: the
# CLI starts the workers' fork server, where it needs one, before importing them
# (`start_fork_server_early`).

#: Names of the in-process DirectRunner (`--runner`), before Beam resolves them.
IN_PROCESS_NAMES = (None, "direct", "in-process", "DirectRunner")
_IN_PROCESS_MODES = (None, "in_memory")


def utc_now() -> str:
    """Now, in UTC, to the second (ISO 8601): when a run started, in its manifest."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def new_run_id(month: str) -> str:
    """A run's identifier: its month, when it started, and a random part."""
    return f"{month}-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"


def locate_options(locating: Locating) -> LocateOptions:
    """The locating step's thresholds, from the settings."""
    from crimegeo.transforms.locate import LocateOptions

    return LocateOptions(min_geocode_score=locating.min_geocode_score,
                         far_from_street_m=locating.far_from_street_m)


def id_kinds(settings: RunSettings, discovery: Discovery) -> list[tuple[str, str]]:
    """(file name, the kind of id its profile declares) of each of a month's input files."""
    kinds = {p.name: p.id_kind for p in load_profiles(settings.inputs.profiles)}
    return [(item.name, kinds.get(item.profile, FORCE_REFERENCE)) for item in discovery.files]


@contextmanager
def spill_folder(workers: int) -> Iterator[str | None]:
    """A local folder, removed on leaving, where the parallel files' workers leave their
    rendered feedback rows for the driver (`transforms.steps.ProcessFilesInWorkers`);
    None when the month runs in this process."""
    if workers < 2:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="crimegeo-feedback-rows-") as folder:
        yield folder


def worker_resources(settings: RunSettings) -> Resources:
    """What every worker loads once, from the settings (see `transforms.batches.Resources`)."""
    from crimegeo.transforms.batches import Resources

    return Resources(
        gazetteer=settings.gazetteer.gazetteer, map_points=settings.anonymising.map_points,
        boundaries=settings.locating.boundaries,
        boundary_tolerance_m=settings.locating.boundary_tolerance_m,
        areas=settings.locating.areas,
        public_id_key=settings.anonymising.public_id_key())


def _option(arguments: Sequence[str], name: str) -> str | None:
    """The value of Beam option `name` in `arguments` (`--name=value` or `--name value`)."""
    for at, argument in enumerate(arguments):
        if argument.startswith(name + "="):
            return argument.split("=", 1)[1]
        if argument == name and at + 1 < len(arguments):
            return arguments[at + 1]
    return None


def runs_here(settings: RunSettings) -> bool:
    """Whether a batch run with these settings runs in this process (the in-process
    DirectRunner), read from the settings alone, without Beam (`pipelines.local.
    runs_in_this_process` answers the same from Beam's parsed options)."""
    arguments = settings.runner.beam_options
    runner = _option(arguments, "--runner") or settings.runner.runner
    return (runner in IN_PROCESS_NAMES and "--streaming" not in arguments
            and _option(arguments, "--direct_running_mode") in _IN_PROCESS_MODES)


#: What a worker process holds besides its gazetteers (imports, one file's tables), and
#: what each gazetteer feature adds once loaded and searched: a worker's memory, estimated
#: so that the automatic `--parallel-files` starts no more workers than memory holds.
WORKER_BASE_BYTES = 600 * 1024 * 1024
BYTES_PER_FEATURE = 1536


def worker_bytes(settings: RunSettings) -> int:
    """A worker process's memory, estimated from the features of the gazetteers it loads
    (their manifests), or 0 when a manifest cannot be read (preflight says why)."""
    from crimegeo.gazetteer import Gazetteer, GazetteerError

    features = 0
    for uri in (settings.gazetteer.gazetteer, settings.anonymising.map_points):
        if uri:
            try:
                features += int(Gazetteer.read_manifest(uri).get("features") or 0)
            except (GazetteerError, OSError, ValueError):
                return 0
    return WORKER_BASE_BYTES + features * BYTES_PER_FEATURE


def may_give_files_to_workers(settings: RunSettings) -> bool:
    """Whether a run with these settings may work on its files in worker processes: on
    the in-process runner, unless k-merging (which groups a force's month before
    anonymising) or `--parallel-files 1` keeps it step by step in one process."""
    return (runs_here(settings) and settings.anonymising.min_public_count <= 1
            and settings.runner.parallel_files != 1)


def _input_may_be_big(input_url: str, enough: int) -> bool:
    """Whether the input folder may hold `enough` bytes: summed for a local folder (and
    only until there is enough), assumed for a bucket, where listing costs a round trip."""
    if "://" in input_url and not input_url.startswith("file://"):
        return True
    total = 0
    for folder, _, names in os.walk(input_url.removeprefix("file://")):
        for name in names:
            with suppress(OSError):
                total += os.stat(os.path.join(folder, name)).st_size
            if total >= enough:
                return True
    return os.path.isfile(input_url) and os.path.getsize(input_url) >= enough


def start_fork_server_early(settings: RunSettings) -> None:
    """Start the fork server the workers come from (`transforms.forkserver`) when the run
    may have workers and this process cannot fork them itself, so its imports run beside
    the driver's (settings, the month's files, Beam). Not for an input folder too small for
    workers, unless `--parallel-files` asks for them; for a month that still turns out too
    small, the server stays idle."""
    from crimegeo.transforms.forkserver import (
        PARALLEL_MIN_BYTES,
        may_fork_here,
        start_fork_server,
    )

    if not may_fork_here() and may_give_files_to_workers(settings) and (
            settings.runner.parallel_files > 1
            or _input_may_be_big(settings.inputs.input, PARALLEL_MIN_BYTES)):
        # A server that cannot start here is started again, and its error reported, by
        # the first pool that needs it.
        with suppress(OSError):
            start_fork_server()


def month_files_at_once(settings: RunSettings, files: Sequence[InputFile]) -> int:
    """How many of a month's files the in-process runner works on at once, each in a worker
    process (`--parallel-files`); 1 with k-merging, and on every other runner, whose
    workers share the files."""
    if not may_give_files_to_workers(settings):
        return 1
    from crimegeo.transforms.workers import files_at_once

    requested = settings.runner.parallel_files
    return files_at_once(requested, files, worker_bytes(settings) if requested <= 0 else 0)


@dataclass(frozen=True)
class MonthStart:
    """A month's files, and how many worker processes were started for them. With a
    `run_id`, the files were given to the workers already: this process holds the output's
    lease for that run, has recovered the output (`recovered`, the actions taken), and the
    workers leave their feedback rows in `spill_to`."""

    discovery: Discovery
    files_at_once: int
    #: When the run began (`time.perf_counter()`, and UTC): its manifest times count from
    #: here, since its files begin before Beam is imported.
    began: float
    began_at: str
    run_id: str | None = None
    recovered: tuple[str, ...] = ()
    spill_to: str | None = None


@contextmanager
def month_started(settings: RunSettings, month: str) -> Iterator[MonthStart]:
    """Find a month's files and start its worker processes; yields both, for `run_month`
    (`started`), which must not decide the count again: the memory it would see then is
    the workers'.

    With two workers or more the month's run starts here: its id is chosen, the output's
    lease taken and the output recovered, and the files go to the workers as soon as they
    are up, their parts staged under the run's id. The lease is held until leaving, and a
    run that fails before its pipeline takes the workers (Beam's import, the pipeline's
    build) drops the files not begun and waits for the others; what they staged is the
    next run's recovery to remove, as for any run that failed.
    """
    began, began_at = time.perf_counter(), utc_now()
    discovery = discover_month(settings.inputs.input, month,
                               load_profiles(settings.inputs.profiles))
    workers = month_files_at_once(settings, discovery.files)
    resources, profiles = worker_resources(settings), settings.inputs.profiles
    from crimegeo.transforms.workers import FilesAhead, pool_prepared, pool_started

    if workers < 2:
        yield MonthStart(discovery, workers, began, began_at)
        return
    refuse_without_key(month, id_kinds(settings, discovery), resources.public_id_key)
    run_id = new_run_id(month)
    # forked once the lease is taken and before its heartbeat thread (then Beam's) starts,
    # sharing the kernels this process imported
    with (pool_prepared(workers, resources, profiles) as prepare,
          output_lock(settings.output, run_id, wait_seconds=settings.publishing.wait_for_output,
                      when_taken=prepare)):
        recovered = tuple(recover(settings.output))
        with spill_folder(workers) as spill_to:
            ahead = FilesAhead(tuple(discovery.files), month,
                               OutputLayout(settings.output).staging(run_id),
                               locate_options(settings.locating), spill_to)
            with pool_started(workers, resources, profiles, ahead):
                yield MonthStart(discovery, workers, began, began_at, run_id, recovered,
                                 spill_to)
