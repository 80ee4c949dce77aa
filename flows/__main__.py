"""`python -m crimegeo.flows` and the `crimegeo` command: the crimegeo command line.

When a command that ran the pipeline on this machine with the local-run switch on
(`--local-tuning`, `pipelines.local`) has finished, the process leaves without the
interpreter's teardown. After a national month that teardown (clearing ~1,800 modules, a
last full garbage collection over everything the run built, freeing the gazetteer's trees)
took 0.44 s, 6% of the run (median of 6 alternating runs), and it has nothing to save: every
output is written and closed by then. Threads are joined and `atexit` handlers
(Prefect's temporary server, logging) run as usual first; only the teardown after them is
skipped. A command that ends in an unexpected exception is left to the usual exit, traceback
and all.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys

_exit_status: list[int] = []


def _exit_without_teardown() -> None:
    # Registered before anything else is imported, so it is the last `atexit` handler to run.
    from crimegeo.pipelines.imports import TunedProcess

    if not _exit_status or not TunedProcess.on:
        return
    if "logging" in sys.modules:  # flushed already, unless imported before us (then skipped)
        sys.modules["logging"].shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing more to say
            stream.flush()
    os._exit(_exit_status[0])


def run() -> None:
    """Run the command line, then exit with its status, skipping the interpreter's teardown."""
    atexit.register(_exit_without_teardown)
    from crimegeo.flows.cli import main

    try:
        main()
    except SystemExit as done:
        if done.code is None or isinstance(done.code, int):
            _exit_status.append(done.code or 0)
        raise
    _exit_status.append(0)


if __name__ == "__main__":
    run()
