"""Parsing with files read ahead on a thread: the same batches, rejected rows and stats as
parsing in line, the last file's included; a file that cannot be read fails the run."""

from __future__ import annotations

from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam import pvalue
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.utils.windowed_value import WindowedValue

from crimegeo.pipelines.local import local_runner, local_runner_options
from crimegeo.standards.profiles import load_profiles
from crimegeo.store.inputs import InputFile, discover_month
from crimegeo.transforms.steps import REJECTED, STATS, ParseByProfile

MONTH = "2024-03"


def _files(demo_month: dict) -> list[InputFile]:
    files = list(discover_month(str(demo_month["input"]), MONTH, load_profiles()).files)
    assert len(files) >= 4  # the demo month: four forces, four export formats
    return files


def _summary(tag: str, value) -> tuple:
    if tag == STATS:
        name, stats = value
        return (tag, name, stats["rows_in"], stats["rows_rejected"])
    rows = value.table["crime_id" if tag == "records" else "source_row"].to_pylist()
    return (tag, value.source_file, value.force, tuple(rows))


def _outputs(files: list[InputFile], read_ahead: bool) -> list[tuple]:
    """The step's outputs, in order, called as a runner calls it: one bundle of all files."""
    step = ParseByProfile(MONTH, read_ahead=read_ahead)
    step.setup()
    step.start_bundle()
    found = []
    emitted = [*(out for item in files for out in step.process(item)), *step.finish_bundle()]
    step.teardown()
    for out in emitted:
        tag, value = ((out.tag, out.value) if isinstance(out, pvalue.TaggedOutput)
                      else ("records", out))
        if isinstance(value, WindowedValue):  # from finish_bundle
            value = value.value
        found.append(_summary(tag, value))
    return found


def test_read_ahead_gives_what_parsing_in_line_does(demo_month: dict) -> None:
    files = _files(demo_month)
    in_line, ahead = _outputs(files, read_ahead=False), _outputs(files, read_ahead=True)
    assert ahead == in_line  # the same outputs in the same order
    stats = [out for out in ahead if out[0] == STATS]
    assert [name for _, name, *_ in stats] == [f.name for f in files]  # the last file too
    for _, name, rows_in, rejected in stats:
        records = sum(len(rows) for tag, source, _, rows in ahead
                      if tag == "records" and source == name)
        assert rows_in == records + rejected > 0


def test_read_ahead_in_a_pipeline(demo_month: dict) -> None:
    files = _files(demo_month)
    expected = _outputs(files, read_ahead=False)
    options = local_runner_options(beam.options.pipeline_options.PipelineOptions())
    with beam.Pipeline(runner=local_runner(options), options=options) as pipeline:
        parsed = (pipeline | beam.Create(files, reshuffle=False)
                  | beam.ParDo(ParseByProfile(MONTH, read_ahead=True))
                  .with_outputs(STATS, REJECTED, main="records"))
        summaries = [parsed[tag] | f"Summary {tag}" >> beam.Map(
            lambda value, tag=tag: _summary(tag, value)) for tag in ("records", REJECTED, STATS)]
        assert_that(summaries | beam.Flatten(), equal_to(expected))


def test_a_file_that_cannot_be_read_fails_the_run(demo_month: dict, tmp_path: Path) -> None:
    files = _files(demo_month)
    gone = files[1]
    missing = InputFile(**{**gone.__dict__, "url": str(tmp_path / "no-such-file.csv")})

    def run() -> None:
        options = local_runner_options(beam.options.pipeline_options.PipelineOptions())
        with beam.Pipeline(runner=local_runner(options), options=options) as pipeline:
            result = (pipeline | beam.Create([files[0], missing, *files[2:]], reshuffle=False)
                      | beam.ParDo(ParseByProfile(MONTH, read_ahead=True)))
            assert_that(result | beam.Map(lambda b: b.source_file), equal_to([]))

    with pytest.raises(Exception, match="no-such-file"):
        run()
