"""The monthly run's composite transforms, each alone in a TestPipeline on the demo month."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to

from crimegeo.pipelines.local import local_runner, local_runner_options
from crimegeo.standards import reasons
from crimegeo.standards.profiles import load_profiles
from crimegeo.store.inputs import discover_month
from crimegeo.transforms.batches import (
    Resources,
    load_resources,
    locate_batch,
    parse_file,
    read_file,
)
from crimegeo.transforms.steps import (
    REJECTED,
    STATS,
    AnonymiseRecords,
    ParseFiles,
    StatsPerFile,
    WriteMonthFeedback,
    shared_handles,
)
from tests.conftest import default_locate_options, live, suite_public_id_key

MONTH = "2024-03"


def _pipeline() -> BeamTestPipeline:
    options = local_runner_options(PipelineOptions([]))
    return BeamTestPipeline(runner=local_runner(options), options=options, argv=[])


@pytest.fixture(scope="module")
def month(demo_month: dict) -> dict:
    """The demo month's files, parsed and located outside Beam (as the DoFns would)."""
    profiles = {p.name: p for p in load_profiles()}
    files = list(discover_month(str(demo_month["input"]), MONTH, load_profiles()).files)
    resources = Resources(gazetteer=demo_month["gazetteer"], map_points=None, boundaries=(),
                          boundary_tolerance_m=0.0, public_id_key=suite_public_id_key())
    loaded = load_resources(resources)
    parsed = {item.name: parse_file(item, *read_file(item, profiles[item.profile]),
                                    profiles[item.profile], MONTH) for item in files}
    located = [locate_batch(batch, loaded, default_locate_options())[0]
               for result in parsed.values() for batch in result.records]
    rejected = [result.rejected for result in parsed.values() if result.rejected is not None]
    return {"files": files, "parsed": parsed, "located": located, "rejected": rejected,
            "resources": resources}


def test_parse_files_splits_records_rejected_and_stats(month: dict) -> None:
    expected_records = sorted((b.source_file, b.force, b.table.num_rows)
                              for r in month["parsed"].values() for b in r.records)
    expected_rejected = sorted((b.source_file, b.table.num_rows) for b in month["rejected"])
    expected_stats = sorted((name, r.stats["rows_in"], r.stats["rows_rejected"])
                            for name, r in month["parsed"].items())
    assert expected_rejected, "the demo month has rows that cannot be records"
    with _pipeline() as pipeline:
        parsed = (pipeline | beam.Create(month["files"], reshuffle=False)
                  | ParseFiles(MONTH, (), read_ahead=False))
        assert_that(parsed.records | beam.Map(lambda b: (b.source_file, b.force,
                                                         b.table.num_rows)),
                    equal_to(expected_records), label="records")
        assert_that(parsed[REJECTED] | beam.Map(lambda b: (b.source_file, b.table.num_rows)),
                    equal_to(expected_rejected), label="rejected")
        assert_that(parsed[STATS] | beam.Map(lambda s: (s[0], s[1]["rows_in"],
                                                        s[1]["rows_rejected"])),
                    equal_to(expected_stats), label="stats")
    for name, rows_in, rejected in expected_stats:
        records = sum(rows for source, _, rows in expected_records if source == name)
        assert rows_in == records + rejected


@pytest.mark.parametrize("k", [1, 3])
def test_anonymise_records_moves_every_record_to_a_public_point(month: dict, k: int) -> None:
    located = month["located"]
    rows_in = sum(b.table.num_rows for b in located)

    def check(batches: list) -> None:
        assert sum(b.table.num_rows for b in batches) == rows_in
        for batch in batches:
            assert batch.public is not None and batch.public.num_rows == batch.table.num_rows
            assert "lon" not in batch.public.column_names  # no exact point in public rows
            for row in batch.table.select(["lon", "public_label", "reasons"]).to_pylist():
                if row["lon"] is None:  # no location: no public point either
                    assert row["public_label"] is None
                else:
                    assert row["public_label"] or reasons.NO_PUBLIC_POINT in row["reasons"]
        if k > 1:  # each force's public points hold k records or more
            counts: dict = {}
            for batch in batches:
                for label, x, y in zip(batch.public["public_label"].to_pylist(),
                                       batch.public["public_lon"].to_pylist(),
                                       batch.public["public_lat"].to_pylist(), strict=True):
                    if label is not None:
                        key = (batch.force, label, x, y)
                        counts[key] = counts.get(key, 0) + 1
            assert counts and min(counts.values()) >= k

    with _pipeline() as pipeline:
        anonymised = (pipeline | beam.Create(located, reshuffle=False)
                      | AnonymiseRecords(month["resources"], shared_handles(), k))
        assert_that(anonymised.records | beam.combiners.ToList(), lambda found: check(found[0]))
        assert_that(anonymised[STATS] | beam.Map(lambda s: s[0]) | beam.Distinct(),
                    equal_to(sorted({b.source_file for b in located})), label="stats")


def test_write_month_feedback_writes_each_forces_files(month: dict, tmp_path: Path) -> None:
    staging, output = tmp_path / "staging", tmp_path / "output"
    located, rejected = month["located"], month["rejected"]
    forces = sorted({b.force for b in located})
    expected = [str(live(staging, MONTH) / "feedback" / f"force={force}" / f"month={MONTH}")
                for force in forces]
    with _pipeline() as pipeline:
        folders = ((pipeline | "Records" >> beam.Create(located, reshuffle=False),
                    pipeline | "Rejected" >> beam.Create(rejected, reshuffle=False))
                   | WriteMonthFeedback(str(staging), str(output), MONTH, "run-1"))
        assert_that(folders, equal_to(expected))
    for folder in map(Path, expected):
        summary = json.loads((folder / "summary.json").read_text())
        force = folder.parent.name.removeprefix("force=")
        assert summary["run_id"] == "run-1"
        assert summary["records"] == sum(b.table.num_rows for b in located if b.force == force)
        with open(folder / "corrections.csv", newline="") as handle:
            rows = list(csv.DictReader(handle))
        files = {b.source_file for b in [*located, *rejected]
                 if b.force == force or (b.force is None and force in
                                         b.table["force"].to_pylist())}
        assert rows and {row["source_file"] for row in rows} <= files
        assert json.loads((folder / "corrections.geojson").read_text())["type"] == (
            "FeatureCollection")


def test_stats_per_file_adds_every_steps_counts() -> None:
    with _pipeline() as pipeline:
        parse = pipeline | "Parse" >> beam.Create([("a.csv", {"rows_in": 5, "rows_rejected": 1}),
                                                   ("b.csv", {"rows_in": 2, "rows_rejected": 0})])
        write = pipeline | "Write" >> beam.Create([
            ("a.csv", {"rows_written": 3, "rows_by_status": {"supplied": 3}}),
            ("a.csv", {"rows_written": 1, "rows_by_status": {"supplied": 1, "unlocated": 0}}),
            ("b.csv", {"rows_written": 2, "rows_by_status": {"geocoded_street": 2}})])
        stats = (parse, write) | StatsPerFile()
        assert_that(stats, equal_to([{
            "a.csv": {"rows_in": 5, "rows_rejected": 1, "rows_written": 4,
                      "rows_by_status": {"supplied": 4, "unlocated": 0}},
            "b.csv": {"rows_in": 2, "rows_rejected": 0, "rows_written": 2,
                      "rows_by_status": {"geocoded_street": 2}}}]))
