"""Forces finished as their files end (`transforms.workers.files_then_forces`).

The files and the finishings here are threads that end when the test says so, so each
order of events is played exactly: a force finished beside the last file, a force in two
files finished again with both, an error raised when seen.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pyarrow as pa
import pytest

from crimegeo.transforms.batches import FileResult
from crimegeo.transforms.workers import files_then_forces


def _result(name: str, *forces: tuple[str, int]) -> FileResult:
    """File `name`'s result holding each (force, disclosure cells) given; its feedback
    parts name the file and the force, so that the order of parts can be checked."""
    return FileResult(stats=[], feedback=[(force, f"{name}:{force}") for force, _ in forces],
                      disclosure=[(force, pa.table({"n": list(range(cells))}))
                                  for force, cells in forces])


class Month:
    """Files that end when `end(name)` is called, and a log of what happened when."""

    def __init__(self, files: dict[str, FileResult | Exception]) -> None:
        self.pool = ThreadPoolExecutor(max_workers=len(files) + 8)
        self.log: list[tuple[str, ...]] = []
        self.lock = threading.Lock()
        self.gates = {name: threading.Event() for name in files}
        self.running = [self.pool.submit(self._file, name, outcome)
                        for name, outcome in files.items()]
        self.finishing: dict[str, int] = {}  # force -> finishings running now
        self.most_at_once = 0

    def _note(self, *event: str) -> None:
        with self.lock:
            self.log.append(event)

    def _file(self, name: str, outcome: FileResult | Exception) -> FileResult:
        self.gates[name].wait(10)
        self._note("file", name)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def end(self, name: str) -> None:
        self.gates[name].set()

    def finish(self, force: str, feedback: list[Any], disclosure: list[pa.Table]) -> Future:
        def run() -> dict:
            with self.lock:
                self.finishing[force] = self.finishing.get(force, 0) + 1
                self.most_at_once = max(self.most_at_once, self.finishing[force])
                self.log.append(("finish", force, *feedback))
            threading.Event().wait(0.05)  # long enough for a file to end meanwhile
            with self.lock:
                self.finishing[force] -= 1
            return {"force": force, "cells": sum(t.num_rows for t in disclosure)}
        return self.pool.submit(run)


def _play(month: Month, ends: list[str], workers: int = 2) -> tuple[list, dict]:
    """Run `files_then_forces` while the files end in the order given, each a little after
    the one before (so that what the function does between them is seen)."""
    def ender() -> None:
        for name in ends:
            threading.Event().wait(0.1)
            month.end(name)
    thread = threading.Thread(target=ender)
    thread.start()
    try:
        return files_then_forces(month.running, workers, month.finish)
    finally:
        thread.join()
        month.pool.shutdown(wait=True)


def test_each_force_is_finished_once_biggest_first_and_results_keep_the_files_order() -> None:
    month = Month({"a": _result("a", ("kent", 5)), "b": _result("b", ("met", 9)),
                   "c": _result("c", ("city", 1))})
    results, counts = _play(month, ["c", "a", "b"])

    assert [r.feedback[0][1] for r in results] == ["a:kent", "b:met", "c:city"]
    assert list(counts) == ["met", "kent", "city"]  # biggest first
    assert counts["met"] == {"force": "met", "cells": 9}
    assert sorted(e[1] for e in month.log if e[0] == "finish") == ["city", "kent", "met"]


def test_forces_are_finished_beside_the_last_file_not_after_it() -> None:
    month = Month({"big": _result("big", ("met", 9)), "small": _result("small", ("city", 1)),
                   "last": _result("last", ("kent", 5))})
    _play(month, ["small", "big", "last"])

    order = month.log.index(("file", "last"))
    # with two workers and one file left, the other files' forces start at once
    assert ("finish", "city", "small:city") in month.log[:order]
    assert ("finish", "met", "big:met") in month.log[:order]
    assert ("finish", "kent", "last:kent") in month.log[order:]


def test_a_force_a_later_file_holds_too_is_finished_again_with_every_part() -> None:
    month = Month({"first": _result("first", ("met", 4)),
                   "second": _result("second", ("city", 1)),
                   "third": _result("third", ("city", 2), ("met", 3))})
    results, counts = _play(month, ["first", "second", "third"])

    met = [e for e in month.log if e[:2] == ("finish", "met")]
    # finished when its first file ended beside the last, then again with both files'
    # parts, in the files' order
    assert met[0] == ("finish", "met", "first:met")
    assert met[-1] == ("finish", "met", "first:met", "third:met")
    city = [e for e in month.log if e[:2] == ("finish", "city")]
    assert city[-1] == ("finish", "city", "second:city", "third:city")
    assert counts["met"]["cells"] == 7 and counts["city"]["cells"] == 3
    assert month.most_at_once == 1  # never two finishings of one force at once
    assert len(results) == 3


def test_a_force_finished_already_when_another_file_adds_to_it_is_finished_again() -> None:
    month = Month({"first": _result("first", ("met", 4)),
                   "slow": _result("slow", ("city", 1)), "late": _result("late", ("met", 2))})

    def ender() -> None:
        month.end("first")
        threading.Event().wait(0.1)
        month.end("slow")
        threading.Event().wait(0.4)  # met's first finishing is over by now
        month.end("late")
    thread = threading.Thread(target=ender)
    thread.start()
    try:
        _, counts = files_then_forces(month.running, 2, month.finish)
    finally:
        thread.join()
        month.pool.shutdown(wait=True)

    met = [e for e in month.log if e[:2] == ("finish", "met")]
    assert met[-1] == ("finish", "met", "first:met", "late:met")
    assert counts["met"]["cells"] == 6


def test_a_file_that_fails_raises_its_own_error() -> None:
    month = Month({"good": _result("good", ("met", 1)),
                   "bad": ValueError("bad.csv row 3: no month")})
    with pytest.raises(ValueError, match="bad.csv row 3"):
        _play(month, ["bad", "good"])
