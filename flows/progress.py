"""Progress of long work, from the flow's tasks to whoever is watching (the command line).

Tasks announce what they are doing with `emit()` (a month started, files found, rows done, a
month finished); the command line listens with `RichProgress`, a rich live display of files
read, rows done and elapsed time per month. Nobody listening (a served or deployed flow) costs
nothing: no events are kept and the staging folder is not polled. While the Beam pipeline
runs, `watch_rows()` counts the rows already written to the run's staging folder from the
Parquet footers, so the display moves on every runner, local or remote.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from crimegeo.store.parts import rows_by_force

Listener = Callable[[str, dict[str, Any]], None]
_listeners: list[Listener] = []


def emit(event: str, **fields: Any) -> None:
    """Tell every listener that `event` happened (no-op when nobody listens)."""
    for listener in list(_listeners):
        listener(event, fields)


def listening() -> bool:
    """True when someone is watching progress."""
    return bool(_listeners)


@contextlib.contextmanager
def listen(listener: Listener) -> Iterator[None]:
    """Receive progress events while the block runs."""
    _listeners.append(listener)
    try:
        yield
    finally:
        _listeners.remove(listener)


def staged_rows(staging: str) -> tuple[int, int]:
    """Rows already written to a run's staging folder: (record parts, rejected rows)."""
    return (sum(rows_by_force(staging, "restricted").values()),
            sum(rows_by_force(staging, "rejected").values()))


@contextlib.contextmanager
def watch_rows(month: str, staging: str, interval: float = 1.0) -> Iterator[None]:
    """While the block runs, emit `rows` events counted from the staging folder."""
    if not listening():
        yield
        return
    stop = threading.Event()

    def poll() -> None:
        while not stop.wait(interval):
            try:
                written, rejected = staged_rows(staging)
            except (OSError, ValueError):  # a part being renamed into place; next time
                continue
            emit("rows", month=month, rows=written + rejected)

    thread = threading.Thread(target=poll, name=f"crimegeo-progress-{month}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


class RichProgress:
    """A rich live display of the flow's progress: one line per month, one for the range."""

    def __init__(self, console: Console, months: int = 1) -> None:
        self.progress = Progress(
            SpinnerColumn(), TextColumn("{task.description}"),
            BarColumn(bar_width=20), MofNCompleteColumn(),
            TextColumn("files {task.fields[files]}"), TextColumn("rows {task.fields[rows]}"),
            TimeElapsedColumn(), console=console, transient=False)
        self.overall: TaskID | None = None
        if months > 1:
            self.overall = self.progress.add_task("months", total=months, files="", rows="")
        self.months: dict[str, TaskID] = {}

    def __enter__(self) -> RichProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def __call__(self, event: str, fields: dict[str, Any]) -> None:
        """Update the display for one event."""
        month = fields.get("month", "")
        if month and month not in self.months:
            self.months[month] = self.progress.add_task(
                f"{month}: starting", total=None, files="-", rows="-")
        task = self.months.get(month)
        if task is None:
            return
        if event == "stage":
            self.progress.update(task, description=f"{month}: {fields['stage']}")
        elif event == "files":
            self.progress.update(task, files=f"{fields['files']} ({fields['bytes']:,} B)",
                                 total=fields.get("rows_expected"))
        elif event == "rows":
            rows = fields["rows"]
            self.progress.update(task, rows=f"{rows:,}", completed=rows)
        elif event == "done":
            description = f"{month}: {fields['status']}"
            if fields.get("why"):
                description += f" ({fields['why']})"
            self.progress.update(task, description=description,
                                 rows=f"{fields.get('rows', 0):,}",
                                 total=max(fields.get("rows", 0), 1),
                                 completed=max(fields.get("rows", 0), 1))
            if self.overall is not None:
                self.progress.advance(self.overall)
