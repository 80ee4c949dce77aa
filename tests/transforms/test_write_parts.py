"""Writing record parts in the background: the same files as writing them in line, and a
failed write fails the bundle instead of being lost."""

from __future__ import annotations

from pathlib import Path

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from apache_beam.testing.util import assert_that, equal_to

from crimegeo.pipelines.local import local_runner, local_runner_options
from crimegeo.standards.schema import RECORD_SCHEMA
from crimegeo.transforms.anonymise import public_table
from crimegeo.transforms.locate import locate
from crimegeo.transforms.standardise import PARSED_SCHEMA
from crimegeo.transforms.steps import Batch, WriteRecordParts
from tests.conftest import default_locate_options, suite_public_id_key

DEFAULTS = default_locate_options()

MONTH = "2024-03"


def _batch(force: str, source: str, rows: int) -> Batch:
    base = {"crime_id": "c", "month": MONTH, "force": force, "crime_type": "Burglary",
            "outcome": None, "context": None, "location_text": None, "street_name": None,
            "area_name": None, "supplied_crs": "EPSG:4326", "coordinates_invalid": False,
            "supplied_lsoa_code": None, "supplied_lsoa_name": None, "source_file": source}
    parsed = pa.Table.from_pylist(
        [{**base, "crime_id": f"{source}-{i}", "supplied_x": -0.09 - i * 1e-4,
          "supplied_y": 51.51 + i * 1e-4, "source_row": i + 1} for i in range(rows)],
        schema=PARSED_SCHEMA)
    table = locate(parsed, None, DEFAULTS)
    assert table.schema == RECORD_SCHEMA
    return Batch(source, force, table, public_table(table, key=suite_public_id_key()))


BATCHES = [_batch(force, f"{force}-{n}.csv", rows)
           for n, (force, rows) in enumerate([("kent", 30), ("city-of-london", 7),
                                              ("kent", 12), ("merseyside", 1),
                                              ("essex", 20), ("surrey", 3), ("kent", 5)])]


def _run(staging: Path, in_background: bool) -> None:
    options = local_runner_options(beam.options.pipeline_options.PipelineOptions())
    with beam.Pipeline(runner=local_runner(options), options=options) as pipeline:
        stats = (pipeline | beam.Create(BATCHES, reshuffle=False)
                 | beam.ParDo(WriteRecordParts(str(staging), MONTH,
                                               in_background=in_background, max_pending=2)))
        assert_that(stats | beam.Map(lambda s: (s[0], s[1]["rows_written"])),
                    equal_to([(b.source_file, b.table.num_rows) for b in BATCHES]))


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.parquet"))}


def test_background_writes_equal_writes_in_line(tmp_path: Path) -> None:
    _run(tmp_path / "inline", in_background=False)
    _run(tmp_path / "background", in_background=True)
    inline, background = _files(tmp_path / "inline"), _files(tmp_path / "background")
    assert len(inline) == 2 * len(BATCHES)  # a restricted and a public part per batch
    assert background == inline
    part = tmp_path / "background/restricted/month=2024-03/force=kent"
    assert sum(pq.read_table(p).num_rows for p in part.glob("*.parquet")) == 30 + 12 + 5


def test_a_failed_background_write_fails_the_run(tmp_path: Path) -> None:
    blocker = tmp_path / "staging"
    blocker.write_text("a file where the staging folder should be")
    with pytest.raises(Exception, match="staging"):
        _run(blocker, in_background=True)
