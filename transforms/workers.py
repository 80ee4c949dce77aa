"""Worker processes for the local runner's parallel files: each input file's whole chain
(`transforms.batches.process_file`) runs in one of a few processes of this machine.

The in-process runner runs a bundle's Python-bound work on one core. A distributed runner
gets its parallelism from workers running bundles side by side; on one machine the same
structure is a pool of worker processes, one per core, each with the gazetteer and the
profiles loaded once (`start_worker`), each taking whole files and sending back only what
the month's later steps need (`FileResult`: counts, feedback parts, disclosure cells).

Workers are forked from the run's own process only where that is safe (`pool_prepared`,
`may_fork_workers`: no other thread there, no Beam or Prefect, no coordinates converted,
no native pool started since this module's imports), else started from a fork server
(`transforms.forkserver`); never forked from a process holding Beam's, the lease's or a
reader's threads. They ignore Ctrl-C: stopping is the parent's to decide, and the parent
shuts the pool down. Must not import Beam or Prefect: a worker imports only this module
and the kernels.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from crimegeo.standards.coordinates import conversions_started
from crimegeo.standards.profiles import ForceProfile, load_profiles
from crimegeo.store.inputs import InputFile
from crimegeo.transforms.batches import (
    FileResult,
    LoadedResources,
    Resources,
    load_resources,
    process_file,
)
from crimegeo.transforms.forkserver import (
    PARALLEL_MIN_BYTES,
    fork_server_context,
    may_fork_here,
    native_threads,
)
from crimegeo.transforms.locate import LocateOptions

#: The threads this process ran once the kernels were imported (numpy's and Arrow's
#: allocator's, which they start on import and which are fork-safe, as in a fork server).
#: Any other later means a native pool (Arrow's, say) has started since, and a fork would
#: copy it half-alive.
_THREADS_WHEN_IMPORTED = native_threads()

#: What this worker process has loaded (`start_worker`).
_WORKER: dict[str, Any] = {}

#: Pools started ahead of their pipeline (`pool_started`), until a step takes them.
_STARTED: dict[tuple, StartedPool] = {}
#: Pools forked as the output's lease was taken (`pool_prepared`), until `pool_started`
#: takes them.
_PREPARED: dict[tuple, ProcessPoolExecutor] = {}
_STARTED_LOCK = threading.Lock()


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def available_memory() -> int | None:
    """Bytes of memory available to new processes (Linux's MemAvailable), or None."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def files_at_once(requested: int, files: Sequence[InputFile], worker_bytes: int = 0) -> int:
    """How many worker processes a month's files get: `requested` when it is set (> 0);
    else (0, automatic) one per core, as many as the available memory holds at
    `worker_bytes` each (every worker loads its own gazetteer), and none (1: in this
    process) for a month smaller than `PARALLEL_MIN_BYTES` or of a single file. Never more
    than there are files."""
    if requested <= 0:
        small = sum(item.size or 0 for item in files) < PARALLEL_MIN_BYTES
        requested = 1 if small else cores()
        available = available_memory() if worker_bytes > 0 else None
        if available is not None:
            requested = min(requested, max(1, available // worker_bytes))
    return max(1, min(requested, len(files)))


def start_worker(resources: Resources, profile_dirs: tuple[str, ...], threads: int) -> None:
    """Load a worker's gazetteer, layers and profiles once, when its process starts.

    The worker's native thread pools (Arrow's, and the Rayon pool behind the OSTN15
    conversion) get `threads`, its share of the cores: with a worker per core, each pool
    sized to the whole machine would have the workers' threads compete for the same cores.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    pa.set_cpu_count(threads)
    os.environ["RAYON_NUM_THREADS"] = str(threads)  # read when its pool first starts
    _WORKER["loaded"] = load_resources(resources)
    _WORKER["profiles"] = {p.name: p for p in load_profiles(profile_dirs)}


def run_file(item: InputFile, month: str, staging: str, options: LocateOptions,
             spill_to: str | None = None) -> FileResult:
    """One file's whole chain in this worker, with what `start_worker` loaded; its
    feedback rows left in `spill_to` when given (`transforms.batches.process_file`)."""
    loaded: LoadedResources = _WORKER["loaded"]
    profiles: dict[str, ForceProfile] = _WORKER["profiles"]
    return process_file(item, profiles[item.profile], month, staging, loaded, options,
                        spill_to)


def may_fork_workers() -> bool:
    """Whether workers may be forked from this process now (`forkserver.may_fork_here`):
    besides, no coordinates converted yet (convertbng's thread pool is not fork-safe: a
    forked child's conversion never returns), and no thread the system sees that was not
    running when the kernels were imported."""
    if not may_fork_here() or conversions_started() or _THREADS_WHEN_IMPORTED is None:
        return False
    now = native_threads()
    return now is not None and now <= _THREADS_WHEN_IMPORTED


def worker_pool(workers: int, resources: Resources, profile_dirs: tuple[str, ...], *,
                fork: bool = False) -> ProcessPoolExecutor:
    """`workers` processes, each loaded by `start_worker`: with `fork`, and where
    `may_fork_workers`, forked from this process at once (they share the kernels it
    imported); else started from the fork server when first given a task."""
    threads = max(1, cores() // workers)
    initargs = (resources, tuple(profile_dirs), threads)
    if fork and may_fork_workers():
        pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                                   initializer=start_worker, initargs=initargs)
        try:
            # A fork pool starts every process at its first task, before its own threads:
            # now, while this thread is still the only one.
            pool.submit(os.getpid)
            return pool
        except (OSError, BrokenProcessPool):  # the system would not fork them all
            stop_broken_pool(pool)  # none left behind; the fork server's are started instead
    return ProcessPoolExecutor(workers, mp_context=fork_server_context(),
                               initializer=start_worker, initargs=initargs)


@dataclass(frozen=True)
class FilesAhead:
    """A month's files to give the workers as soon as they are up, before the step that
    reads their results exists: the driver is still importing Beam and building the
    pipeline, and the workers would otherwise wait for it (`pipelines.ahead`). The caller
    holds the output's lease and has recovered it, so the parts may be staged already."""

    items: tuple[InputFile, ...]
    month: str
    staging: str
    options: LocateOptions
    spill_to: str | None = None

    def key(self, item: InputFile) -> tuple:
        """What a file's task is: the step uses a task given ahead only if it is this."""
        return (item.url, self.month, self.staging, self.options, self.spill_to)


def submit_files(pool: ProcessPoolExecutor, items: Sequence[InputFile], month: str,
                 staging: str, options: LocateOptions, spill_to: str | None,
                 given: dict[tuple, Future] | None = None) -> list[Future]:
    """Each file's task, largest files first, so that the last to finish are short ones;
    a task in `given` (files given ahead, `FilesAhead.key`) is taken instead of submitting
    the file again. The futures come back in the order of `items`."""
    given = given if given is not None else {}
    ahead = FilesAhead(tuple(items), month, staging, options, spill_to)
    running: dict[int, Future] = {}
    for at in sorted(range(len(items)), key=lambda at: -(items[at].size or 0)):
        task = given.pop(ahead.key(items[at]), None)
        running[at] = task or pool.submit(run_file, items[at], month, staging, options,
                                          spill_to)
    return [running[at] for at in range(len(items))]


#: What finishes one force once its files are done: given the force, its feedback parts and
#: its disclosure cells (each in the order of the files), it submits that work and returns
#: its future.
FinishForce = Callable[[str, list[Any], list[pa.Table]], Future]


def files_then_forces(running: Sequence[Future], workers: int, finish: FinishForce
                      ) -> tuple[list[FileResult], dict[str, Any]]:
    """Each file's result (in the order of `running`) and what `finish` gave for each force
    the files hold, the biggest forces first.

    A force is finished as soon as a worker would otherwise wait, not after the last file:
    once fewer files are left than there are workers, the forces of the files done are
    finished beside the last files. A file done after that which holds a force already
    being finished (a force in several files) has that force finished again, with all its
    parts, once the first finishing is over: two finishings of one force never run at once,
    and the last one had every file. With one force per file, as forces export, nothing is
    finished twice. A file's or a force's error is raised as soon as it is seen.
    """
    results: dict[int, FileResult] = {}
    file_at = {future: at for at, future in enumerate(running)}
    finishing: dict[str, Future] = {}  # each force's latest finishing
    finished_by: dict[Future, str] = {}  # the finishings not yet seen done
    again: set[str] = set()  # forces a file added parts to while they were being finished
    size: dict[str, int] = {}  # each force's disclosure cells in the files done
    pending = set(running)

    def parts(force: str) -> tuple[list[Any], list[pa.Table]]:
        done = [results[at] for at in sorted(results)]
        return ([part for result in done for f, part in result.feedback if f == force],
                [part for result in done for f, part in result.disclosure if f == force])

    def start(force: str) -> None:
        future = finish(force, *parts(force))
        finishing[force] = future
        finished_by[future] = force
        pending.add(future)

    while pending:
        done, pending = wait(pending, return_when=FIRST_COMPLETED)
        for future in done:
            if future in file_at:
                results[file_at[future]] = result = future.result()
                forces = _forces(result)
                for force in forces:
                    size.setdefault(force, 0)
                for force, part in result.disclosure:
                    size[force] += part.num_rows
                for force in forces & finishing.keys():
                    if finishing[force] in finished_by:  # wait for it, then again
                        again.add(force)
                    else:
                        start(force)
            else:
                future.result()  # a force's own error, now
                force = finished_by.pop(future)
                if force in again:
                    again.discard(force)
                    start(force)
        if sum(future in file_at for future in pending) < workers:
            for force in sorted(size.keys() - finishing.keys(), key=lambda f: (-size[f], f)):
                start(force)
    order = sorted(finishing, key=lambda f: (-size[f], f))
    return ([results[at] for at in range(len(running))],
            {force: finishing[force].result() for force in order})


def _forces(result: FileResult) -> set[str]:
    return {force for force, _ in result.feedback} | {force for force, _ in result.disclosure}


@dataclass
class StartedPool:
    """A pool started ahead of its pipeline, and the files given to it then (by
    `FilesAhead.key`), until a step takes both."""

    pool: ProcessPoolExecutor
    given: dict[tuple, Future] = field(default_factory=dict)
    starting: threading.Thread | None = None


@contextmanager
def pool_started(workers: int, resources: Resources, profile_dirs: tuple[str, ...],
                 ahead: FilesAhead | None = None) -> Iterator[None]:
    """Start a month's worker processes on entering, so they import and load the gazetteer
    while the driver imports Beam and builds and starts its pipeline; with `ahead`, give
    them its files as soon as they are up. `take_pool` hands both to the step. On leaving,
    a pool no step took (a run that failed before its files) is shut down: files not begun
    are dropped, and files begun are waited for. Nothing is started for fewer than two
    workers."""
    if workers < 2:
        yield
        return
    key = (workers, resources, tuple(profile_dirs))
    with _STARTED_LOCK:
        started = None if key in _STARTED else StartedPool(
            _PREPARED.pop(key, None) or worker_pool(workers, resources, profile_dirs))
        if started is not None:
            _STARTED[key] = started
    if started is None:  # another month of the same settings started one just now
        yield
        return
    pool = started.pool

    def start_each() -> None:
        # Workers start on their first tasks, submitted from a thread, since starting the
        # fork server holds the caller until its imports are done. Without files to give,
        # each gets a task that does nothing.
        with suppress(BrokenProcessPool, OSError):  # the step that takes the pool says so
            if ahead is None:
                for _ in range(workers):
                    pool.submit(os.getpid)
                return
            futures = submit_files(pool, ahead.items, ahead.month, ahead.staging,
                                   ahead.options, ahead.spill_to)
            started.given.update((ahead.key(item), future)
                                 for item, future in zip(ahead.items, futures, strict=True))

    started.starting = threading.Thread(target=start_each, daemon=True)
    started.starting.start()
    try:
        yield
    finally:
        started.starting.join()
        with _STARTED_LOCK:
            untaken = _STARTED.get(key) is started
            if untaken:
                del _STARTED[key]
        if untaken:
            pool.shutdown(wait=True, cancel_futures=True)


@contextmanager
def pool_prepared(workers: int, resources: Resources, profile_dirs: tuple[str, ...]
                  ) -> Iterator[Callable[[], None]]:
    """Yield what forks a month's worker processes, where `may_fork_workers`, for
    `pool_started` to take: called by the output's lease once taken and before its
    heartbeat thread starts (`store.lock.output_lock(when_taken=...)`), so that a run
    waiting for the lease loads nothing and one refused it forks nothing. For fewer than
    two workers, or where a fork is unsafe, it does nothing. A pool not taken (a run that
    failed before its files) is shut down on leaving."""
    key = (workers, resources, tuple(profile_dirs))
    forked: ProcessPoolExecutor | None = None

    def prepare() -> None:
        nonlocal forked
        with _STARTED_LOCK:
            wanted = workers >= 2 and key not in _PREPARED and key not in _STARTED
        # (forked outside the lock: no thread but this one may run now, or none is forked)
        if wanted and may_fork_workers():
            forked = worker_pool(workers, resources, profile_dirs, fork=True)
            with _STARTED_LOCK:
                _PREPARED[key] = forked

    try:
        yield prepare
    finally:
        with _STARTED_LOCK:
            untaken = forked is not None and _PREPARED.get(key) is forked
            if untaken:
                del _PREPARED[key]
        if untaken:
            forked.shutdown(wait=True, cancel_futures=True)


def pool_broken(pool: ProcessPoolExecutor) -> bool:
    """Whether one of the pool's workers stopped abruptly. A submit racing the pool's own
    clean-up can fail with the closed queue's `OSError` rather than `BrokenProcessPool`;
    the pool's flag (private, read defensively) tells that apart from a file's own error."""
    return bool(getattr(pool, "_broken", False))


def stop_broken_pool(pool: ProcessPoolExecutor) -> None:
    """Shut down a pool one of whose workers stopped abruptly, killing its processes.

    Python 3.11's pool can hang for good here: when a worker dies while files are being
    submitted, a replacement worker may start after the pool's own clean-up has terminated
    the others, and the clean-up then waits for it forever (as does the interpreter at
    exit). The pool's process table (a private attribute, read defensively) is the only
    handle on it, so every process found there is killed until the clean-up ends.
    """
    processes = getattr(pool, "_processes", None) or {}
    manager = getattr(pool, "_executor_manager_thread", None)
    pool.shutdown(wait=False, cancel_futures=True)
    while True:
        for process in list(processes.values()):
            with suppress(OSError, ValueError, AttributeError):
                process.kill()
        if manager is None:
            return
        manager.join(timeout=0.2)
        if not manager.is_alive():
            return


def take_pool(workers: int, resources: Resources, profile_dirs: tuple[str, ...]
              ) -> StartedPool:
    """The pool `pool_started` started for these settings, with the files given to it
    ahead, else a new pool. The caller shuts it down."""
    with _STARTED_LOCK:
        started = _STARTED.pop((workers, resources, tuple(profile_dirs)), None)
    if started is None:
        return StartedPool(worker_pool(workers, resources, profile_dirs))
    if started.starting is not None:
        started.starting.join()  # every file given ahead is submitted
    return started
