"""What a monthly run can start before Beam is imported: its files found, and its worker
processes (parallel files, `transforms.workers`) started, so they import the kernels and
load the gazetteer on the other core while the driver imports Beam (about 1.5 s) and builds
the pipeline. Must not import Beam or Prefect.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from crimegeo.pipelines.settings import RunSettings
from crimegeo.standards.profiles import load_profiles
from crimegeo.store.inputs import Discovery, InputFile, discover_month
from crimegeo.transforms.batches import Resources
from crimegeo.transforms.workers import files_at_once, pool_started

#: Names of the in-process DirectRunner (`--runner`), before Beam resolves them.
IN_PROCESS_NAMES = (None, "direct", "in-process", "DirectRunner")
_IN_PROCESS_MODES = (None, "in_memory")


def worker_resources(settings: RunSettings) -> Resources:
    """What every worker loads once, from the settings (see `transforms.batches.Resources`)."""
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


def month_files_at_once(settings: RunSettings, files: Sequence[InputFile]) -> int:
    """How many of a month's files the in-process runner works on at once, each in a worker
    process (`--parallel-files`); 1 with k-merging, and on every other runner, whose
    workers share the files."""
    if settings.anonymising.min_public_count > 1 or not runs_here(settings):
        return 1  # k-merging groups a force's month before anonymising: step by step
    requested = settings.runner.parallel_files
    return files_at_once(requested, files, worker_bytes(settings) if requested <= 0 else 0)


@dataclass(frozen=True)
class MonthStart:
    """A month's files, and how many worker processes were started for them."""

    discovery: Discovery
    files_at_once: int


@contextmanager
def month_started(settings: RunSettings, month: str) -> Iterator[MonthStart]:
    """Find a month's files and start its worker processes; yields both, for `run_month`
    (`discovery`, `files_at_once`), which must not decide the count again: the memory it
    would see then is the workers'. Workers no step takes are shut down on leaving."""
    discovery = discover_month(settings.inputs.input, month,
                               load_profiles(settings.inputs.profiles))
    workers = month_files_at_once(settings, discovery.files)
    with pool_started(workers, worker_resources(settings), settings.inputs.profiles):
        yield MonthStart(discovery, workers)
