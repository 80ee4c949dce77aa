"""Where the parallel files' worker processes come from (`transforms.workers`).

A month's workers are forked from the run's own process when nothing there makes a fork
unsafe: it holds no thread but its own (no lease heartbeat yet, no reader), has not loaded
Beam or Prefect, has converted no coordinates (convertbng's thread pool is not fork-safe),
and no native thread pool has started since the kernels were imported
(`workers.may_fork_workers`; the CLI's `crimegeo pipeline` starts its workers so, once it
holds the output's lease and before its heartbeat and Beam's import). They then share the
kernels the driver imported, and no second interpreter imports them again.

Anywhere else (a Prefect flow, a month after another in one process, a system without
`/proc`) they come from a fork server, whose own start is the slow part: it imports the
kernels (about 0.8 s) before it forks the first worker. `start_fork_server` starts it
without waiting, so that import runs on another core while the driver is still reading its
settings and finding the month's files. Only the standard library here: the driver calls
it before importing the kernels itself.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
from multiprocessing.context import BaseContext

#: Below this much input the pool's start (a fork server, imports, a gazetteer per worker:
#: about a second) costs more than a second core saves: the month runs in this process.
PARALLEL_MIN_BYTES = 16 * 1024 * 1024

#: What the fork server imports once, before it forks workers: the worker's module, which
#: imports the kernels.
WORKER_MODULE = "crimegeo.transforms.workers"


def fork_server_context() -> BaseContext:
    """The multiprocessing context of worker pools that are not forked from the driver: a
    fork server that has the kernels imported."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([WORKER_MODULE])
    return context


def start_fork_server() -> None:
    """Start the fork server now, without waiting for its imports (the first worker
    forked waits for them). The server serves every pool of this process, and stops
    when this process ends."""
    from multiprocessing import forkserver

    fork_server_context()
    forkserver.ensure_running()


def native_threads() -> frozenset[str] | None:
    """The ids of the threads this process runs as the system sees them (native thread
    pools too, which `threading` does not see), or None where that cannot be told (not
    Linux)."""
    try:
        return frozenset(os.listdir("/proc/self/task"))
    except OSError:
        return None


def may_fork_here() -> bool:
    """Whether this process could fork its workers now: the system forks and says which
    threads run, no thread but this one runs Python, and neither Beam nor Prefect (their
    threads, their clients' state) is loaded. (`workers.may_fork_workers` also checks
    the native pools.)"""
    return ("fork" in multiprocessing.get_all_start_methods()
            and native_threads() is not None
            and threading.active_count() == 1
            and not {"apache_beam", "prefect"} & sys.modules.keys())
