"""`crimegeo watch`: ingest force files as they land, for users without Dataflow.

A plain long-running loop (no Prefect server needed; run it under systemd, a container
supervisor or `nohup`): every `--interval` seconds it lists the input prefix through fsspec
(local folders, `gs://`, `s3://`, ...), picks the files whose generation is not the one the
ledger records (new files, resubmissions), and runs the streaming pipeline over them as one
micro-batch on the in-process runner. The pipeline writes each file's parts and ledger entry
and republishes its forces' feedback; the loop only decides what to hand it. Because the
ledger lives in the output and is written once a file is published, a restart neither skips
nor repeats a file. The first Ctrl-C (or SIGTERM) stops the loop cleanly between batches;
a second one aborts at once (the ledger still makes the next start safe).

    crimegeo watch --input /data/incoming --output /data/output --gazetteer /data/gazetteer
    python -m crimegeo.flows.watch --input gs://bucket/incoming --output gs://bucket/output ...

Must not do data work itself (that is the pipeline's) nor write anything but through it.
"""

from __future__ import annotations

import os
import select
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, Protocol

import typer
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from crimegeo.flows.errors import exists, one_line_errors, preflight, printable
from crimegeo.flows.options import BEAM_PASSTHROUGH, FLOW_ONLY, takes_settings
from crimegeo.pipelines.settings import RunSettings
from crimegeo.store.layout import OutputLayout

if TYPE_CHECKING:
    from crimegeo.pipelines.streaming import FileArrival

#: How often the same generation of a file is tried when its micro-batch keeps failing.
MAX_ATTEMPTS = 3
#: Written by the signal handler itself, so the operator sees at once that Ctrl-C was heard.
STOPPING_MESSAGE = b"stopping after the current batch (Ctrl-C again to abort now)\n"


@dataclass(frozen=True, kw_only=True)
class Polling:
    """How often the watcher looks, how long a file must be still, and how many it takes at
    once; what it watches and how the pipeline runs are the run's `RunSettings`."""

    interval: float = 30.0
    settle: float = 2.0
    max_files: int = 50


@dataclass
class WatchStatus:
    """What the watcher has done since it started, for the live display and the summary."""

    started: float = field(default_factory=time.monotonic)
    seen: int = 0
    pending: int = 0
    unsettled: int = 0
    ingested: int = 0
    unchanged: int = 0
    not_ingested: int = 0
    rows_in: int = 0
    rows_written: int = 0
    rows_rejected: int = 0
    batches: int = 0
    failures: int = 0
    last: str = "waiting for the first poll"

    def table(self, settings: RunSettings, polling: Polling) -> Table:
        """The live display: files seen, processed, rows and time elapsed."""
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold")
        grid.add_column()
        elapsed = time.monotonic() - self.started
        grid.add_row("watching", f"{settings.inputs.input}  ->  {settings.output}")
        grid.add_row("files", f"{self.seen} seen, {self.ingested} ingested, "
                              f"{self.unchanged} unchanged, {self.not_ingested} not ingested, "
                              f"{self.pending} pending, {self.unsettled} still being written")
        grid.add_row("rows", f"{self.rows_in:,} in, {self.rows_written:,} written, "
                             f"{self.rows_rejected:,} rejected")
        grid.add_row("batches", f"{self.batches} run, {self.failures} failed")
        grid.add_row("elapsed", f"{elapsed:,.0f} s (polling every {polling.interval:g} s)")
        grid.add_row("last", self.last)
        return grid


class Watcher:
    """Polls the input prefix and ingests new or changed files in micro-batches."""

    def __init__(self, settings: RunSettings, polling: Polling | None = None,
                 console: Console | None = None,
                 ingest: Callable[[RunSettings, list[FileArrival]], dict[str, dict]] | None
                 = None) -> None:
        # Beam is imported here, not with the module, so `crimegeo --help` stays quick.
        from crimegeo.pipelines import streaming
        from crimegeo.store.ledger import read_ledger

        self.streaming = streaming
        self.read_ledger = read_ledger
        self.settings = settings
        self.polling = polling or Polling()
        self.console = console or Console(stderr=True, soft_wrap=True, highlight=False)
        self.ingest = ingest or streaming.ingest_files
        self.status = WatchStatus()
        self.ledger = read_ledger(settings.output)
        # Feedback a killed run recorded but did not publish is published first.
        self.recovered = streaming.refresh_pending_feedback(settings.output, self.ledger)
        self.attempts: dict[tuple[str, str], int] = {}

    def poll(self) -> list[FileArrival]:
        """The settled input files whose current generation the ledger does not record."""
        arrivals, unsettled = self.streaming.list_arrivals(
            self.settings.inputs.input, settle_seconds=self.polling.settle)
        pending = [a for a in arrivals
                   if self.ledger.get(a.key, {}).get("generation") != a.generation
                   and self.attempts.get((a.key, a.generation), 0) < MAX_ATTEMPTS]
        self.status.seen = len(arrivals) + len(unsettled)
        self.status.pending = len(pending)
        self.status.unsettled = len(unsettled)
        return pending

    def run_batch(self, arrivals: list[FileArrival]) -> dict[str, dict]:
        """Run the pipeline over one micro-batch; a failed batch is logged and retried later."""
        started = time.perf_counter()
        for arrival in arrivals:
            key = (arrival.key, arrival.generation)
            self.attempts[key] = self.attempts.get(key, 0) + 1
        self.status.batches += 1
        self.status.last = f"ingesting {len(arrivals)} file(s)"
        try:
            entries = self.ingest(self.settings, arrivals)
        except Exception as error:  # noqa: BLE001 - a bad batch must not stop the watcher
            self.status.failures += 1
            self.status.last = f"batch failed: {error}"
            self.console.print(f"[red]batch of {len(arrivals)} file(s) failed:[/] "
                               f"{printable(str(error))}")
            self.ledger = self.read_ledger(self.settings.output)  # what got through
            return {}
        for arrival in arrivals:
            entry = entries.get(arrival.key)
            if entry is None or entry.get("generation") != arrival.generation:
                continue
            self.ledger[arrival.key] = entry
            self._report(entry)
        seconds = time.perf_counter() - started
        self.status.last = f"{len(arrivals)} file(s) in {seconds:.1f} s"
        return entries

    def _report(self, entry: dict) -> None:
        status = entry["status"]
        if status == "processed":
            self.status.ingested += 1
            self.status.rows_in += entry.get("rows_in", 0)
            self.status.rows_written += entry.get("rows_written", 0)
            self.status.rows_rejected += entry.get("rows_rejected", 0)
            self.console.print(
                f"ingested {printable(entry['key'])} generation {entry['generation']}: "
                f"{entry['rows_in']} rows in, {entry['rows_written']} written, "
                f"{entry['rows_rejected']} rejected; feedback published for "
                f"{', '.join(entry['forces']) or 'no force'}")
        elif status == "unchanged":
            self.status.unchanged += 1
            self.console.print(f"unchanged {printable(entry['key'])} generation "
                               f"{entry['generation']}: same bytes as already ingested")
        else:
            self.status.not_ingested += 1
            self.console.print(f"[yellow]{printable(status)}[/] {printable(entry['key'])}: "
                               f"{printable(str(entry.get('why')))}")

    def run(self, stop: StopRequest, *, once: bool = False) -> WatchStatus:
        """Poll and ingest until `stop` is set (or, with `once`, until nothing is pending)."""
        live = (Live(self._render(), console=self.console, refresh_per_second=2,
                     transient=True) if self.console.is_terminal else nullcontext())
        with live:
            while not stop.is_set():
                try:
                    pending = self.poll()
                except (OSError, ValueError) as error:
                    self.status.last = f"listing failed: {error}"
                    self.console.print(f"[red]listing {printable(self.settings.inputs.input)} "
                                       f"failed:[/] {printable(str(error))}")
                    pending = []
                self._refresh(live)
                if pending:
                    failures = self.status.failures
                    self.run_batch(pending[:self.polling.max_files])
                    self._refresh(live)
                    if self.status.failures == failures:
                        continue
                    stop.wait(self.polling.interval)  # a failed batch is retried later
                    continue
                if once and not self.status.unsettled:
                    break
                wait = self.polling.interval
                if self.status.unsettled:
                    wait = min(wait, max(self.polling.settle / 2, 0.2))
                stop.wait(wait)
        return self.status

    def _render(self) -> Group:
        return Group(self.status.table(self.settings, self.polling),
                     Text("Ctrl-C stops after the current batch", style="dim"))

    def _refresh(self, live: Any) -> None:
        if isinstance(live, Live):
            live.update(self._render())


class StopRequest(Protocol):
    """What `Watcher.run` needs of a stop signal: a `threading.Event` fits."""

    def is_set(self) -> bool: ...

    def wait(self, timeout: float | None = None) -> bool: ...


class SignalStop:
    """A stop flag that a signal handler may set: no lock is taken on the way.

    `threading.Event.set()` takes the event's lock, which the main thread holds for a
    moment inside every `Event.wait()`; a handler that runs in that moment waits for a lock
    its own thread holds, for ever (seen in CI: a watcher that never stopped after Ctrl-C).
    Here the handler only sets a flag and writes a byte to a pipe; `wait` sleeps in
    `select` on that pipe, so it wakes as soon as the signal comes.
    """

    def __init__(self) -> None:
        self._set = False
        self._read, self._write = os.pipe()
        os.set_blocking(self._write, False)

    def set(self) -> None:
        """Ask the loop to stop; safe inside a signal handler."""
        self._set = True
        with suppress(BlockingIOError):  # a full pipe already wakes the waiter
            os.write(self._write, b"x")

    def is_set(self) -> bool:
        """True once `set` has been called."""
        return self._set

    def wait(self, timeout: float | None = None) -> bool:
        """Sleep up to `timeout` seconds, less if `set` is called; whether it was."""
        if not self._set:
            select.select([self._read], [], [], timeout)
        return self._set

    def close(self) -> None:
        """Release the pipe."""
        os.close(self._read)
        os.close(self._write)


@contextmanager
def stop_on_signals(console: Console) -> Iterator[SignalStop]:
    """A stop set by the first SIGINT or SIGTERM; the second SIGINT aborts at once."""
    stop = SignalStop()
    if threading.current_thread() is not threading.main_thread():
        try:
            yield stop
        finally:
            stop.close()
        return

    def handler(signum: int, frame: Any) -> None:
        if stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        stop.set()
        # Straight to the file descriptor: the console's buffers and locks may be held by
        # the very code this handler interrupted.
        with suppress(OSError):
            os.write(console.file.fileno(), STOPPING_MESSAGE)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
        stop.close()


@takes_settings(exclude=FLOW_ONLY)
def watch(
    ctx: typer.Context,
    settings: RunSettings,
    interval: Annotated[float, typer.Option(
        "--interval", min=0.1, help="Seconds between polls of the input.")] = Polling.interval,
    settle: Annotated[float, typer.Option(
        "--settle", min=0.0, help="A local file modified less than this many seconds ago may "
                                  "still be being copied: it waits for a later poll.")]
    = Polling.settle,
    max_files: Annotated[int, typer.Option(
        "--max-files", min=1, help="Most files in one micro-batch.")] = Polling.max_files,
    once: Annotated[bool, typer.Option(
        "--once", help="Ingest what is pending, then exit (for cron or a test).")] = False,
) -> None:
    """Ingest force files as they land: poll, run the pipeline on new or changed files.

    Each file is published as its own part of its month and force, with its feedback, within
    one poll interval plus the pipeline's few seconds. A ledger in OUTPUT/_ledger/ records
    every file ingested (generation, checksum, when, counts), so a restart neither skips nor
    repeats one. With --min-public-count above 1 the public parts are written when the
    month is closed. The first Ctrl-C stops cleanly after the current batch. The monthly run
    (`crimegeo run`) closes each month. Arguments after the options pass to Beam.
    """
    if getattr(ctx, "invoked_subcommand", None) is not None:
        return
    polling = Polling(interval=interval, settle=settle, max_files=max_files)
    input, output = settings.inputs.input, settings.output
    console = Console(stderr=True, soft_wrap=True, highlight=False)
    with one_line_errors(console):
        preflight(settings, input_may_be_missing=True)
        watcher = Watcher(settings, polling, console)
    if not exists(input):
        console.print(f"[yellow]{printable(input)} does not exist yet[/]: watching for it to "
                      "appear")
    if watcher.recovered:
        console.print("published the feedback a stopped run had left pending for "
                      f"{printable(', '.join(watcher.recovered))}")
    console.print(f"watching {printable(input)} every {interval:g} s; {len(watcher.ledger)} "
                  f"file(s) in the ledger at {printable(OutputLayout(output).ledger())}")
    with stop_on_signals(console) as stop:
        status = watcher.run(stop, once=once)
    console.print(
        f"stopped: {status.ingested} file(s) ingested, {status.unchanged} unchanged, "
        f"{status.not_ingested} not ingested, {status.rows_in:,} rows in, "
        f"{status.batches} batch(es) in {time.monotonic() - status.started:,.1f} s")


#: `crimegeo watch`, to mount with `app.add_typer(watch_app, name="watch")`.
app = typer.Typer(
    help="Watch an input folder or bucket prefix and ingest force files as they arrive.",
    add_completion=False)
app.callback(invoke_without_command=True, context_settings=BEAM_PASSTHROUGH)(watch)

#: `python -m crimegeo.flows.watch`: the same command on its own.
standalone = typer.Typer(add_completion=False)
standalone.command(context_settings=BEAM_PASSTHROUGH)(watch)

if __name__ == "__main__":
    standalone()
