"""Committing a month: reruns replace it, crashes leave the previous month or the new one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from crimegeo.store.current import live_files, live_layout, read_pointer
from crimegeo.store.layout import OutputLayout
from crimegeo.store.publish import (
    COMMIT_STEPS,
    SimulatedCrashError,
    commit_month,
    read_manifest,
    recover,
)


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
    """What a reader finds for the month: through its pointer, as every reader goes."""
    found = {Path(path).read_text() for kind in ("restricted", "public", "rejected")
             for path in live_files(str(output), kind, month)}
    feedback = Path(live_layout(str(output), month).feedback_file(
        "kent", month, "corrections.csv"))
    if feedback.exists():
        found.add(feedback.read_text())
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


#: What the next run's recovery says after a kill at each commit step, and which month it
#: leaves readers: the previous one until the pointer switched, the new one after.
AFTER_A_KILL_AT = {
    "staged": ("removed the staging of unfinished run run-2", "good", "run-1"),
    "moved": ("removed generation run-2, which no month points at", "good", "run-1"),
    "switched": ("finished the commit of run run-2", "new", "run-2"),
    "indexed": ("finished the commit of run run-2", "new", "run-2"),
}


def test_every_commit_step_has_an_expected_outcome() -> None:
    assert tuple(AFTER_A_KILL_AT) == COMMIT_STEPS


@pytest.mark.parametrize("step", COMMIT_STEPS)
def test_a_commit_killed_at_any_step_leaves_one_whole_month(tmp_path: Path, step: str) -> None:
    _stage(tmp_path, "run-1", "2024-03", "good")
    commit_month(str(tmp_path), "run-1", "2024-03", _manifest("run-1", "2024-03"))
    _stage(tmp_path, "run-2", "2024-03", "new")
    with pytest.raises(SimulatedCrashError, match=step):
        commit_month(str(tmp_path), "run-2", "2024-03", _manifest("run-2", "2024-03"),
                     crash_at=step)
    action, marker, run_id = AFTER_A_KILL_AT[step]
    # Before any recovery, readers already see one whole month, and its manifest.
    assert _published(tmp_path, "2024-03") == {marker}
    assert read_manifest(str(tmp_path), "2024-03")["run_id"] == run_id
    assert recover(str(tmp_path)) == [action]
    assert _published(tmp_path, "2024-03") == {marker}
    assert read_manifest(str(tmp_path), "2024-03")["run_id"] == run_id
    assert not list((tmp_path / "_staging").iterdir())
    assert sorted(p.name for p in (tmp_path / "generations").iterdir()) == (
        ["run-1", "run-2"] if run_id == "run-2" else ["run-1"])
    index = json.loads((tmp_path / "feedback" / "force=kent" / "index.json").read_text())
    assert index["months"][0]["run_id"] == run_id
    assert recover(str(tmp_path)) == []  # nothing left to do


def test_a_first_commit_killed_before_its_switch_leaves_no_month(tmp_path: Path) -> None:
    _stage(tmp_path, "run-1", "2024-03", "new")
    with pytest.raises(SimulatedCrashError):
        commit_month(str(tmp_path), "run-1", "2024-03", _manifest("run-1", "2024-03"),
                     crash_at="moved")
    recover(str(tmp_path))
    assert _published(tmp_path, "2024-03") == set()
    with pytest.raises(FileNotFoundError):
        read_manifest(str(tmp_path), "2024-03")


def test_the_previous_generation_is_kept_until_the_next_commit(tmp_path: Path) -> None:
    """A reader that resolved the pointer just before a switch can still read what it
    resolved; the commit after that deletes it."""
    for number in (1, 2, 3):
        _stage(tmp_path, f"run-{number}", "2024-03", f"v{number}")
        commit_month(str(tmp_path), f"run-{number}", "2024-03",
                     _manifest(f"run-{number}", "2024-03"))
        pointer = read_pointer(str(tmp_path), "2024-03")
        assert pointer["generation"] == f"generations/run-{number}"
        kept = sorted(p.name for p in (tmp_path / "generations").iterdir())
        assert kept == [f"run-{n}" for n in (number - 1, number) if n >= 1]
    assert pointer["previous"] == "generations/run-2"
    assert _published(tmp_path, "2024-03") == {"v3"}


def test_a_month_written_in_place_stays_readable_and_is_replaced(tmp_path: Path) -> None:
    """An output from before generations (or a month only streaming wrote) has no pointer:
    readers find it in the root; its first commit switches to a generation, and the commit
    after that deletes the in-place files."""
    for kind in ("restricted", "public", "rejected"):
        folder = tmp_path / kind / "month=2024-03" / "force=kent"
        folder.mkdir(parents=True)
        (folder / "part.parquet").write_text("in place")
    assert _published(tmp_path, "2024-03") == {"in place"}
    for number in (1, 2):
        _stage(tmp_path, f"run-{number}", "2024-03", f"v{number}")
        commit_month(str(tmp_path), f"run-{number}", "2024-03",
                     _manifest(f"run-{number}", "2024-03"))
        assert _published(tmp_path, "2024-03") == {f"v{number}"}
        assert (tmp_path / "public" / "month=2024-03").exists() == (number == 1)


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
