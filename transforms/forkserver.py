"""The fork server the parallel files' worker processes come from (`transforms.workers`).

Its own start is the slow part of starting workers: it imports the kernels (about 0.8 s)
before it forks the first worker. `start_fork_server` starts it without waiting, so that
import runs on another core while the driver is still reading its settings and finding
the month's files. Only the standard library here: the driver calls it before importing
the kernels itself.
"""

from __future__ import annotations

import multiprocessing
from multiprocessing.context import BaseContext

#: Below this much input the pool's start (a fork server, imports, a gazetteer per worker:
#: about a second) costs more than a second core saves: the month runs in this process.
PARALLEL_MIN_BYTES = 16 * 1024 * 1024

#: What the fork server imports once, before it forks workers: the worker's module, which
#: imports the kernels.
WORKER_MODULE = "crimegeo.transforms.workers"


def fork_server_context() -> BaseContext:
    """The multiprocessing context worker pools start from: a fork server that has the
    kernels imported. Never a fork of the driver itself, which holds Beam's and the
    readers' threads."""
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
