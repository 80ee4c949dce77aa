"""Streaming a month file by file and closing it gives what one batch run over the files gives.

The files are streamed one at a time through the watcher's micro-batches (the streaming
pipeline), with a resubmission on the way; a batch run over the final files writes to another
output. Restricted, public and rejected tables (sorted by source file and row) and the
feedback CSV and GeoJSON bytes are compared before the close (streaming alone already agrees)
and after it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
from pathlib import Path

import pytest
from rich.console import Console
from streaming_support import (
    CITY,
    KENT,
    MERSEYSIDE,
    MONTH,
    WEST_MIDLANDS,
    feedback_bytes,
    first_rows,
    sorted_table,
    summaries,
)

from crimegeo.feeds.store import FeedStore
from crimegeo.flows.watch import Polling, Watcher
from crimegeo.pipelines.settings import settings_from_argv
from crimegeo.pipelines.streaming import close_month
from crimegeo.store.ledger import read_close
from tests.conftest import live, live_parts, run_month_args

pytestmark = pytest.mark.slow


def _drop(source: Path, target: Path, data: bytes | None = None) -> None:
    """Land a file the way an upload should: temporary hidden name, then rename."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.part")
    temporary.write_bytes(source.read_bytes() if data is None else data)
    os.replace(temporary, target)


def _assert_same(streamed: Path, batch: Path, *, provisional: bool) -> None:
    for kind in ("restricted", "public", "rejected"):
        left, right = sorted_table(streamed, kind), sorted_table(batch, kind)
        assert left.num_rows == right.num_rows, kind
        assert left.equals(right), f"{kind} differs"
    assert feedback_bytes(streamed) == feedback_bytes(batch)
    assert feedback_bytes(streamed)  # not vacuous
    assert summaries(streamed) == summaries(batch)
    for path in (live(streamed, MONTH) / "feedback").glob(f"force=*/month={MONTH}/summary.json"):
        assert json.loads(path.read_text()).get("provisional", False) is provisional


def test_streamed_then_closed_equals_one_batch_run(demo_month: dict, tmp_path: Path) -> None:
    source = Path(demo_month["input"])
    incoming, streamed, batch = tmp_path / "incoming", tmp_path / "streamed", tmp_path / "batch"
    month_folder = incoming / MONTH
    month_folder.mkdir(parents=True)
    watcher = Watcher(settings_from_argv(["--input", str(incoming), "--output", str(streamed),
                                          "--gazetteer", demo_month["gazetteer"]]),
                      Polling(interval=0.1, settle=0.0),
                      Console(file=open(os.devnull, "w")))  # noqa: SIM115
    never = threading.Event()
    for name in (CITY, KENT, MERSEYSIDE, WEST_MIDLANDS):  # one file per micro-batch
        _drop(source / name, month_folder / name)
        status = watcher.run(never, once=True)
    assert status.ingested == 4 and status.batches == 4
    # Kent resubmits: its first 300 rows replace the thousand.
    _drop(source / KENT, month_folder / KENT, first_rows((source / KENT).read_bytes(), 300))
    assert watcher.run(never, once=True).ingested == 5

    run_month_args(["--month", MONTH, "--input", str(incoming), "--output",
                              str(batch), "--gazetteer", demo_month["gazetteer"]])
    _assert_same(streamed, batch, provisional=True)
    # The force feeds service serves what streaming published, checksums and all.
    store = FeedStore(str(streamed), ["city-of-london", "kent", "merseyside",
                                      "west-midlands"])
    assert store.forces() == ["city-of-london", "kent", "merseyside", "west-midlands"]
    for force in store.forces():
        [entry] = store.months(force)
        assert entry["month"] == MONTH and entry["run_id"] == "streaming"
        for name, meta in entry["files"].items():
            data = store.read_month_file(force, MONTH, name)
            assert hashlib.sha256(data).hexdigest() == meta["sha256"]

    result = close_month(settings_from_argv([
        "--input", str(incoming), "--output", str(streamed),
        "--gazetteer", demo_month["gazetteer"]]), MONTH)
    _assert_same(streamed, batch, provisional=False)
    closed = read_close(str(streamed), MONTH)
    assert closed["run_id"] == result.manifest["run_id"]
    assert closed["streamed"] == sorted([CITY, KENT, MERSEYSIDE, WEST_MIDLANDS])
    assert closed["not_streamed"] == []
    assert closed["parts"]["changed"] == closed["parts"]["removed"] == []
    assert closed["parts"]["added"] == []
    assert closed["parts"]["identical"] == len(list(streamed.glob("*/month=*/*/*.parquet")))
    # Closed: the same files as the batch run's, parts byte for byte, and a manifest.
    assert live_parts(streamed, MONTH) == live_parts(batch, MONTH)
    assert live(streamed, MONTH) != streamed  # the close committed a generation
    manifest = json.loads((live(streamed, MONTH) / "runs" / MONTH / "manifest.json").read_text())
    assert manifest["files"][KENT]["rows_in"] == 300
    index = json.loads((streamed / "feedback" / "force=kent" / "index.json").read_text())
    assert index["months"][0]["run_id"] == result.manifest["run_id"]


def test_a_file_the_watcher_never_saw_is_closed_too(demo_month: dict, tmp_path: Path) -> None:
    incoming, output = tmp_path / "incoming", tmp_path / "output"
    shutil.copytree(demo_month["input"], incoming / MONTH)
    watcher = Watcher(settings_from_argv(["--input", str(incoming), "--output", str(output),
                                          "--gazetteer", demo_month["gazetteer"]]),
                      Polling(settle=0.0), Console(file=open(os.devnull, "w")))  # noqa: SIM115
    # Only Kent is streamed (the watcher is given only Kent's arrival).
    pending = [a for a in watcher.poll() if a.name == KENT]
    watcher.run_batch(pending)
    close_month(settings_from_argv(["--input", str(incoming), "--output", str(output),
                                    "--gazetteer", demo_month["gazetteer"]]), MONTH)
    closed = read_close(str(output), MONTH)
    assert closed["streamed"] == [KENT]
    assert sorted(closed["not_streamed"]) == sorted([CITY, MERSEYSIDE, WEST_MIDLANDS])
    assert len(closed["parts"]["added"]) == 9 and closed["parts"]["identical"] == 3
