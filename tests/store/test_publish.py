"""Committing a month: reruns replace it, crashes leave the previous month or the new one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from crimegeo.store.layout import OutputLayout
from crimegeo.store.publish import commit_month, read_manifest, recover


def _stage(output: Path, run_id: str, month: str, marker: str) -> None:
    staging = Path(OutputLayout(str(output)).staging(run_id))
    for kind in ("restricted", "public", "rejected"):
        folder = staging / kind / f"month={month}" / "force=kent"
        folder.mkdir(parents=True)
        (folder / "part.parquet").write_text(marker)
    feedback = staging / "feedback" / "force=kent" / f"month={month}"
    feedback.mkdir(parents=True)
    (feedback / "corrections.csv").write_text(marker)
    (feedback / "summary.json").write_text(json.dumps({"run_id": run_id}))


def _manifest(run_id: str, month: str) -> dict:
    """A run manifest of a month with no input files, as `RunManifest` has it."""
    return {"run_id": run_id, "month": month, "started_at": "2024-04-03T06:00:00+00:00",
            "seconds": 1.0, "pipeline_seconds": 1.0, "code_version": "test",
            "standard_version": "1.0", "beam_version": "2.77.0", "runner": "DirectRunner",
            "coordinate_transformation": "OSTN15", "input": "in", "output": "out",
            "gazetteer": None, "gazetteer_checksum": None, "options": {}, "files": {},
            "skipped_files": [], "forces": ["kent"], "recovered": [],
            "totals": {"rows_in": 0, "rows_written": 0, "rows_rejected": 0,
                       "rows_by_status": {}}}


def test_a_manifest_that_does_not_match_its_model_is_not_written(tmp_path: Path) -> None:
    _stage(tmp_path, "run-1", "2024-03", "first")
    wrong = {**_manifest("run-1", "2024-03"), "totals": {"rows_in": 3}}
    with pytest.raises(ValidationError, match="rows_written"):
        commit_month(str(tmp_path), "run-1", "2024-03", wrong)
    with pytest.raises(FileNotFoundError):
        read_manifest(str(tmp_path), "2024-03")
    assert _published(tmp_path, "2024-03") == set()  # nothing moved either


def _published(output: Path, month: str) -> set[str]:
    found = {p.read_text() for p in output.glob(f"*/month={month}/force=kent/part.parquet")}
    found |= {p.read_text() for p in output.glob(
        f"feedback/force=kent/month={month}/corrections.csv")}
    return found


def test_commit_then_rerun_replaces_the_month(tmp_path: Path) -> None:
    _stage(tmp_path, "run-1", "2024-03", "first")
    commit_month(str(tmp_path), "run-1", "2024-03", _manifest("run-1", "2024-03"))
    _stage(tmp_path, "run-0", "2024-02", "february")
    commit_month(str(tmp_path), "run-0", "2024-02", _manifest("run-0", "2024-02"))
    assert _published(tmp_path, "2024-03") == {"first"}
    _stage(tmp_path, "run-2", "2024-03", "second")
    commit_month(str(tmp_path), "run-2", "2024-03", _manifest("run-2", "2024-03"))
    assert _published(tmp_path, "2024-03") == {"second"}
    assert _published(tmp_path, "2024-02") == {"february"}
    assert read_manifest(str(tmp_path), "2024-03")["run_id"] == "run-2"
    assert not list((tmp_path / "_staging").iterdir())
    index = json.loads((tmp_path / "feedback" / "force=kent" / "index.json").read_text())
    assert [m["month"] for m in index["months"]] == ["2024-02", "2024-03"]
    assert index["months"][1]["run_id"] == "run-2"
    assert len(index["months"][1]["files"]["corrections.csv"]["sha256"]) == 64


@pytest.mark.parametrize("crash_after", [0, 1, 2, 3, 4])
def test_a_commit_killed_midway_is_rolled_back(tmp_path: Path, crash_after: int) -> None:
    _stage(tmp_path, "run-1", "2024-03", "good")
    commit_month(str(tmp_path), "run-1", "2024-03", _manifest("run-1", "2024-03"))
    _stage(tmp_path, "run-2", "2024-03", "new")
    with pytest.raises(RuntimeError, match="simulated crash"):
        commit_month(str(tmp_path), "run-2", "2024-03", _manifest("run-2", "2024-03"),
                     crash_after_swaps=crash_after)
    actions = recover(str(tmp_path))
    assert actions == ["rolled back the interrupted commit of run run-2"]
    assert _published(tmp_path, "2024-03") == {"good"}
    assert read_manifest(str(tmp_path), "2024-03")["run_id"] == "run-1"
    assert not (tmp_path / "_trash").exists()
    assert not list((tmp_path / "_staging").iterdir())


def test_a_first_commit_killed_midway_leaves_no_half_month(tmp_path: Path) -> None:
    _stage(tmp_path, "run-1", "2024-03", "new")
    with pytest.raises(RuntimeError):
        commit_month(str(tmp_path), "run-1", "2024-03", _manifest("run-1", "2024-03"),
                     crash_after_swaps=2)
    recover(str(tmp_path))
    assert _published(tmp_path, "2024-03") == set()
    with pytest.raises(FileNotFoundError):
        read_manifest(str(tmp_path), "2024-03")


def test_recover_removes_staging_of_runs_that_never_committed(tmp_path: Path) -> None:
    _stage(tmp_path, "run-9", "2024-03", "half")
    assert recover(str(tmp_path)) == ["removed the staging of unfinished run run-9"]
    assert not list((tmp_path / "_staging").iterdir())


def test_rows_counted_apart_from_the_parser_must_match_rows_in() -> None:
    from crimegeo.store.publish import ReconciliationError, check_reconciliation

    fine = {"rows_in": 797, "rows_counted": 797, "rows_written": 790, "rows_rejected": 7}
    check_reconciliation({"a.csv": fine, "b.jsonl": {"rows_in": 2, "rows_written": 2,
                                                     "rows_rejected": 0}})
    # The parser folded 647 rows into one rejected row: its own counts still add up.
    folded = {"rows_in": 151, "rows_counted": 797, "rows_written": 150, "rows_rejected": 1}
    with pytest.raises(ReconciliationError, match="797 data lines but the parser read 151"):
        check_reconciliation({"a.csv": folded})
