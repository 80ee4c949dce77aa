"""One writer per output: a lease that a batch run holds while it recovers, stages and commits.

Two runs on one output used to destroy each other: a run's start-up recovery removed the
staging of any run still in progress, and the first run then published an incomplete month
that its manifest vouched for. A run now takes `OUTPUT/_lock.json` first. A second run is
refused at once with a one-line message naming the run that holds it, or waits for it with
`wait_seconds`. The holder refreshes the lease's heartbeat on a thread; a lease whose
heartbeat is older than `LEASE_SECONDS`, or whose process on this machine is gone, belongs
to a run that was killed, and the next run takes it over (its recovery then cleans up after
the dead run).

On a local disk the lease is created atomically (`O_CREAT | O_EXCL`). On an object store
there is no portable create-if-absent through fsspec: the lease is written, then read back
after a moment to confirm it is ours, which closes all but a race of a few milliseconds
between two runs started at the same instant. Must not import Beam or Prefect.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from crimegeo.store.files import filesystem, is_local, read_json
from crimegeo.store.layout import OutputLayout

#: A lease not refreshed for this long belongs to a run that died.
LEASE_SECONDS = 120.0
#: How often the holder refreshes its lease.
HEARTBEAT_SECONDS = 20.0
#: How long a run on an object store waits before reading its lease back.
CONFIRM_SECONDS = 0.5


class OutputLockedError(RuntimeError):
    """Another live run holds the output."""


def _now() -> float:
    return time.time()


def _stamp(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat(timespec="seconds")


def _lease(run_id: str, token: str, started: float) -> dict:
    now = _now()
    return {"run_id": run_id, "token": token, "host": socket.gethostname(),
            "pid": os.getpid(), "started_at": _stamp(started), "heartbeat": now,
            "heartbeat_at": _stamp(now)}


def _describe(lease: dict) -> str:
    return (f"run {lease.get('run_id')} (pid {lease.get('pid')} on {lease.get('host')}, "
            f"since {lease.get('started_at')})")


def _alive_here(lease: dict) -> bool:
    """False when the lease's process ran on this machine and is gone (killed)."""
    if lease.get("host") != socket.gethostname() or not lease.get("pid"):
        return True
    try:
        os.kill(int(lease["pid"]), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError):
        return True
    return True


def _stale(lease: dict | None) -> bool:
    return (lease is None or _now() - float(lease.get("heartbeat", 0)) > LEASE_SECONDS
            or not _alive_here(lease))


def _try_take(output: str, lease: dict) -> dict | None:
    """Take the lease if it is free or stale; None when taken, else the holder's lease."""
    fs, root = filesystem(output)
    path = OutputLayout(root).lock()
    data = json.dumps(lease, indent=2).encode()
    fs.makedirs(OutputLayout(root).root, exist_ok=True)
    if is_local(fs):
        try:
            handle = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            holder = read_json(OutputLayout(output).lock())
            if not _stale(holder):
                return holder
            # A dead run's lease: replace it, then make sure no other run replaced it too.
            temporary = f"{path}.{lease['token']}"
            with open(temporary, "wb") as file:
                file.write(data)
            os.replace(temporary, path)
        else:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
            return None
    else:
        holder = read_json(OutputLayout(output).lock())
        if not _stale(holder):
            return holder
        fs.pipe_file(path, data)
        time.sleep(CONFIRM_SECONDS)
    now = read_json(OutputLayout(output).lock())
    return None if now and now.get("token") == lease["token"] else now


@contextmanager
def output_lock(output: str, run_id: str, *, wait_seconds: float = 0.0,
                when_taken: Callable[[], None] | None = None) -> Iterator[dict]:
    """Hold the output's lease for the block; raise `OutputLockedError` naming the run that
    holds it if it is still held after `wait_seconds`. `when_taken` runs once the lease is
    this run's and before its heartbeat thread starts (a caller may fork there)."""
    token, started = uuid.uuid4().hex, _now()
    deadline = started + max(wait_seconds, 0.0)
    while True:
        holder = _try_take(output, _lease(run_id, token, started))
        if holder is None:
            break
        if _now() >= deadline:
            raise OutputLockedError(
                f"output {output} is being written by {_describe(holder or {})}; wait for "
                "it to finish (or pass --wait-for-output SECONDS)")
        time.sleep(min(1.0, max(deadline - _now(), 0.05)))
    stop = threading.Event()

    def heartbeat() -> None:
        fs, root = filesystem(output)
        while not stop.wait(HEARTBEAT_SECONDS):
            current = read_json(OutputLayout(output).lock())
            if not current or current.get("token") != token:
                return  # taken over after we stalled: nothing more to refresh
            fs.pipe_file(OutputLayout(root).lock(),
                         json.dumps(_lease(run_id, token, started), indent=2).encode())

    beat = threading.Thread(target=heartbeat, name="crimegeo-lease", daemon=True)
    try:
        if when_taken is not None:
            when_taken()
        beat.start()
        yield _lease(run_id, token, started)
    finally:
        stop.set()
        if beat.ident is not None:
            beat.join(timeout=5)
        current = read_json(OutputLayout(output).lock())
        if current and current.get("token") == token:
            fs, root = filesystem(output)
            fs.rm(OutputLayout(root).lock())
