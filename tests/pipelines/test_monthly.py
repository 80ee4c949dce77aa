"""The monthly pipeline on its own: reruns replace a month, other months stay, real data
reconciles, and a failed run leaves the published month untouched."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from crimegeo.pipelines.monthly import build_pipeline, check_month
from crimegeo.pipelines.settings import settings_from_argv
from crimegeo.standards.profiles import UnmatchedFileError, load_profiles
from crimegeo.store.current import live_files, live_layout
from crimegeo.store.inputs import discover_month
from crimegeo.store.publish import (
    ReconciliationError,
    ShrinkError,
    check_reconciliation,
    read_manifest,
)
from tests.conftest import live, live_parts, read_live, run_month_args, shared_data


def _run(input_url: str, output: Path, month: str, gazetteer: str | None = None):
    args = ["--month", month, "--input", input_url, "--output", str(output)]
    if gazetteer:
        args += ["--gazetteer", gazetteer]
    return run_month_args(args)


def _rows(output: Path, kind: str, month: str) -> int:
    folder = live(output, month) / kind / f"month={month}"
    return pq.read_table(folder).num_rows if folder.exists() else 0


def _force_rows(output: Path, month: str, force: str) -> int:
    return pq.read_table(live(output, month) / "restricted" / f"month={month}" /
                         f"force={force}").num_rows


def test_rerun_replaces_exactly_its_month(demo_month: dict, tmp_path: Path) -> None:
    from crimegeo.flows.sample import generate_sample

    other = generate_sample(tmp_path / "april", month="2024-04", rows=300, seed=3)
    inputs = tmp_path / "inputs"
    shutil.copytree(demo_month["root"] / "input", inputs)
    shutil.copytree(Path(other["input"]), inputs / "2024-04")
    output = tmp_path / "out"
    march = _run(str(inputs), output, "2024-03", demo_month["gazetteer"])
    april = _run(str(inputs), output, "2024-04", demo_month["gazetteer"])
    april_files = live_parts(output, "2024-04")
    first = _rows(output, "restricted", "2024-03")
    assert first == march.manifest["totals"]["rows_written"]
    march_bytes = live_parts(output, "2024-03")

    again = _run(str(inputs), output, "2024-03", demo_month["gazetteer"])
    assert _rows(output, "restricted", "2024-03") == first  # replaced, not duplicated
    assert _rows(output, "public", "2024-03") == first
    assert again.manifest["run_id"] != march.manifest["run_id"]
    assert april_files == live_parts(output, "2024-04")
    assert _rows(output, "restricted", "2024-04") == april.manifest["totals"]["rows_written"]
    assert not list((output / "_staging").iterdir())
    # Same inputs, same data: the Parquet files of a rerun are byte-identical.
    assert march_bytes == live_parts(output, "2024-03")


def test_a_failed_run_leaves_the_published_month(demo_month: dict, tmp_path: Path) -> None:
    inputs = tmp_path / "inputs"
    shutil.copytree(demo_month["root"] / "input", inputs)
    output = tmp_path / "out"
    _run(str(inputs), output, "2024-03")
    before = _rows(output, "restricted", "2024-03")
    (inputs / "2024-03" / "2024-03-unknown-export.csv").write_text("ref,when\n1,2\n")
    with pytest.raises(UnmatchedFileError, match="2024-03-unknown-export.csv"):
        _run(str(inputs), output, "2024-03")
    assert _rows(output, "restricted", "2024-03") == before


def test_real_city_of_london_month_through_the_pipeline(tmp_path: Path) -> None:
    folder = shared_data("police-uk", "city-of-london")
    result = _run(str(folder), tmp_path / "out", "2020-06")
    manifest = result.manifest
    assert list(manifest["files"]) == ["2020-06-city-of-london-street.csv"]
    assert len(manifest["skipped_files"]) == 35
    stats = manifest["files"]["2020-06-city-of-london-street.csv"]
    with open(folder / "2020-06-city-of-london-street.csv", encoding="utf-8") as handle:
        data_rows = sum(1 for _ in handle) - 1
    assert stats["rows_in"] == data_rows
    assert stats["rows_written"] == data_rows and stats["rows_rejected"] == 0
    restricted = read_live(tmp_path / "out", "restricted").to_pylist()
    # The id 69cf6aa3... occurs twice in this month with different locations: both kept.
    twice = [r for r in restricted if r["crime_id"].startswith("69cf6aa3")]
    assert len(twice) == 2 and twice[0]["source_row"] != twice[1]["source_row"]


def test_discovery_takes_a_month_folder_and_skips_other_months(demo_month: dict) -> None:
    found = discover_month(str(demo_month["root"] / "input"), "2024-03", load_profiles())
    assert sorted(f.name for f in found.files) == sorted(demo_month["files"])
    assert {f.profile for f in found.files} == {info["profile"]
                                                for info in demo_month["files"].values()}
    with pytest.raises(FileNotFoundError):
        discover_month(str(demo_month["root"] / "nowhere"), "2024-03", load_profiles())


def test_build_pipeline_returns_an_unrun_pipeline(tmp_path: Path) -> None:
    settings = settings_from_argv(["--input", str(tmp_path), "--output", str(tmp_path / "o")])
    pipeline, stats = build_pipeline(settings, "2024-03", [], str(tmp_path / "staging"))
    assert stats is not None
    assert not (tmp_path / "staging").exists()
    assert pipeline.options.view_as(__import__(
        "apache_beam.options.pipeline_options", fromlist=["StandardOptions"]
    ).StandardOptions).runner == "DirectRunner"


def test_month_and_reconciliation_checks() -> None:
    assert check_month("2024-03") == "2024-03"
    for bad in ("2024-3", "2024-13", "24-03", ""):
        with pytest.raises(ValueError, match="YYYY-MM"):
            check_month(bad)
    check_reconciliation({"a.csv": {"rows_in": 3, "rows_written": 2, "rows_rejected": 1}})
    with pytest.raises(ReconciliationError, match="a.csv: 3 rows in"):
        check_reconciliation({"a.csv": {"rows_in": 3, "rows_written": 1, "rows_rejected": 1}})


def test_a_month_through_memory_filesystem(demo_month: dict) -> None:
    """Any fsspec URL works for input and output: here fsspec's in-memory filesystem."""
    import fsspec

    memory = fsspec.filesystem("memory")
    for name in demo_month["files"]:
        memory.pipe_file(f"/crimes-in/2024-03/{name}",
                         (Path(demo_month["input"]) / name).read_bytes())
    result = run_month_args([
        "--month", "2024-03", "--input", "memory://crimes-in", "--output", "memory://crimes-out",
        "--gazetteer", demo_month["gazetteer"]])
    totals = result.manifest["totals"]
    assert totals["rows_in"] == sum(info["rows"] for info in demo_month["files"].values())
    parts = live_files("memory://crimes-out", "restricted", "2024-03")
    assert len(parts) == 4
    rows = sum(pq.ParquetFile(memory.open(p, "rb")).metadata.num_rows for p in parts)
    assert rows == totals["rows_written"]
    generation = live_layout("memory://crimes-out", "2024-03")
    assert generation.root.startswith("memory://crimes-out/generations/")
    assert memory.exists(generation.manifest("2024-03"))
    assert memory.exists(generation.feedback_file("kent", "2024-03", "corrections.csv"))
    assert not memory.glob("/crimes-out/_staging/*/*")
    memory.rm("/crimes-in", recursive=True)
    memory.rm("/crimes-out", recursive=True)


def test_a_whole_file_of_another_month_is_named_and_skipped(tmp_path: Path) -> None:
    """Issue 17, finding 6: it used to 'succeed' with thousands of WRONG_MONTH rejects."""
    folder = shared_data("police-uk", "city-of-london")
    inputs = tmp_path / "in" / "2019-10"
    inputs.mkdir(parents=True)
    shutil.copy(folder / "2019-10-city-of-london-street.csv", inputs / "city-october.csv")
    shutil.copy(folder / "2020-06-city-of-london-street.csv", inputs / "city-resent.csv")
    result = run_month_args(["--month", "2019-10", "--input", str(tmp_path / "in"),
                             "--output", str(tmp_path / "out")])
    manifest = result.manifest
    assert list(manifest["files"]) == ["city-october.csv"]
    (skipped,) = manifest["skipped_files"]
    assert skipped["url"].endswith("city-resent.csv")
    assert skipped["why"].startswith("all ") and "are for 2020-06, not 2019-10" in skipped["why"]
    assert manifest["totals"]["rows_rejected"] == 0
    assert not (tmp_path / "out" / "rejected").exists() or not any(
        (tmp_path / "out" / "rejected").rglob("*.parquet"))


def test_a_header_only_resubmission_does_not_wipe_the_published_month(
        demo_month: dict, tmp_path: Path) -> None:
    """Issue 17, finding 3: it used to replace the force's month, feedback and feed."""
    inputs = tmp_path / "in" / "2024-03"
    shutil.copytree(demo_month["input"], inputs)
    output = tmp_path / "out"
    first = run_month_args(["--month", "2024-03", "--input", str(tmp_path / "in"),
                            "--output", str(output), "--gazetteer", demo_month["gazetteer"]])
    kent = next(inputs.glob("kent*"))
    header = kent.read_bytes().splitlines(keepends=True)[0]
    kent.write_bytes(header)
    args = ["--month", "2024-03", "--input", str(tmp_path / "in"), "--output", str(output),
            "--gazetteer", demo_month["gazetteer"]]
    before = _rows(output, "restricted", "2024-03")
    with pytest.raises(ShrinkError, match="kent from [0-9,]+ to 0 records"):
        run_month_args(args)
    assert _rows(output, "restricted", "2024-03") == before
    assert read_manifest(str(output), "2024-03")["run_id"] == first.manifest["run_id"]
    assert not any((output / "_staging").iterdir())
    allowed = run_month_args([*args, "--allow-shrink"])
    assert "kent" not in allowed.manifest["forces"]


def test_a_resubmission_that_loses_most_records_is_refused_past_max_shrink(
        demo_month: dict, tmp_path: Path) -> None:
    """Issue 17, finding 3's threshold: not only a drop to none. Kent resubmits with about a
    third of its rows: refused at the default --max-shrink 0.5, published at 0.8."""
    inputs = tmp_path / "in" / "2024-03"
    shutil.copytree(demo_month["input"], inputs)
    output = tmp_path / "out"
    args = ["--month", "2024-03", "--input", str(tmp_path / "in"), "--output", str(output),
            "--gazetteer", demo_month["gazetteer"]]
    first = run_month_args(args)
    kent = next(inputs.glob("kent*"))
    lines = kent.read_bytes().splitlines(keepends=True)
    kent.write_bytes(b"".join(lines[: 1 + (len(lines) - 1) // 3]))
    before = _rows(output, "restricted", "2024-03")
    with pytest.raises(ShrinkError, match="kent from [0-9,]+ to [1-9][0-9,]* records"):
        run_month_args(args)
    assert _rows(output, "restricted", "2024-03") == before
    assert read_manifest(str(output), "2024-03")["run_id"] == first.manifest["run_id"]
    kent_before = _force_rows(output, "2024-03", "kent")
    run_month_args([*args, "--max-shrink", "0.8"])
    assert 0 < _force_rows(output, "2024-03", "kent") < kent_before / 2


def test_published_files_that_disagree_with_the_manifest_fail_loudly(
        demo_month: dict, tmp_path: Path) -> None:
    """Issue 17's honest commit: after a commit the published rows are counted again; a part
    that went missing (a store that lost an object, a hand deleting one) is an error naming
    the kind and both counts, never a month the manifest vouches for."""
    from crimegeo.flows.monthly import verify_outputs
    from crimegeo.store.publish import ReconciliationError

    output = tmp_path / "out"
    run_month_args(["--month", "2024-03", "--input", demo_month["input"], "--output",
                    str(output), "--gazetteer", demo_month["gazetteer"]])
    counts = verify_outputs(str(output), "2024-03")
    assert sum(counts["restricted"].values()) == _rows(output, "restricted", "2024-03")
    kent = live(output, "2024-03") / "restricted" / "month=2024-03" / "force=kent"
    lost = pq.read_table(kent).num_rows
    for part in kent.glob("*.parquet"):
        part.unlink()
    total = sum(counts["restricted"].values())
    with pytest.raises(ReconciliationError, match=f"restricted holds {total - lost} rows, "
                                                  f"manifest says {total}"):
        verify_outputs(str(output), "2024-03")
