"""A poison file in the stream is dead-lettered and recorded, and the rest goes on.

The poison is a file on which ingestion raises something nobody foresaw (here a RecursionError
from locating it, as a very deeply nested record could cause): on Dataflow a DoFn that raises
is retried for ever, so the file must leave through the dead letter instead."""

from __future__ import annotations

import shutil
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.testing.util import assert_that, equal_to
from streaming_support import CITY, KENT, MONTH

from crimegeo.pipelines.settings import settings_from_argv
from crimegeo.pipelines.streaming import build_streaming_pipeline, list_arrivals, read_ledger
from crimegeo.transforms import streaming
from crimegeo.transforms.batches import Batch

POISON = "2024-03-city-of-london-street-resubmitted.csv"


def test_a_file_that_raises_goes_to_the_dead_letter(demo_month: dict, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    incoming, output = tmp_path / "incoming", tmp_path / "out"
    (incoming / MONTH).mkdir(parents=True)
    shutil.copy(Path(demo_month["input"]) / KENT, incoming / MONTH / KENT)
    shutil.copy(Path(demo_month["input"]) / CITY, incoming / MONTH / POISON)
    locate_batch = streaming.locate_batch

    def poisoned(batch: Batch, *args: object) -> tuple:
        if batch.source_file == POISON:
            raise RecursionError("maximum recursion depth exceeded")
        return locate_batch(batch, *args)

    # The in-process runner runs the DoFn in this process, so it sees the patch.
    monkeypatch.setattr(streaming, "locate_batch", poisoned)
    arrivals, _ = list_arrivals(str(incoming))
    assert sorted(a.name for a in arrivals) == sorted([KENT, POISON])
    settings = settings_from_argv(["--input", str(incoming), "--output", str(output),
                                   "--gazetteer", demo_month["gazetteer"]])
    pipeline, outputs = build_streaming_pipeline(settings, arrivals=arrivals)
    assert_that(outputs["dead_letter"] | beam.Map(lambda d: (d["key"], d["error"])),
                equal_to([(f"{MONTH}/{POISON}", "ingestion failed: RecursionError: maximum "
                                                "recursion depth exceeded")]))
    assert_that(outputs["outcomes"] | beam.Map(lambda o: (o["key"], o["status"])),
                equal_to([(f"{MONTH}/{KENT}", "processed"), (f"{MONTH}/{POISON}", "failed")]),
                label="outcomes")
    pipeline.run().wait_until_finish()
    ledger = read_ledger(str(output))
    assert ledger[f"{MONTH}/{POISON}"]["status"] == "failed"
    assert POISON in ledger[f"{MONTH}/{POISON}"]["url"]
    assert "ingestion failed" in ledger[f"{MONTH}/{POISON}"]["why"]
    assert ledger[f"{MONTH}/{KENT}"]["status"] == "processed"
    assert any((output / "restricted" / f"month={MONTH}" / "force=kent").glob("*.parquet"))
