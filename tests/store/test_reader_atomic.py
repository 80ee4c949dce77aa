"""Readers never see a mixed month: not while commits run, nor after a kill inside one.

A writer commits the same month over and over, each run with its own row counts; readers
running at the same time resolve the month's pointer and read its manifest, its restricted,
public and rejected parts and every force's feedback summary, the way the public site, the
feed service and an analyst do (`store.current`). Every read must be one run's whole month:
the manifest's run_id on every part and every summary, and the manifest's counts equal to the
rows found. Local disk and the GCS emulator (no rename there: the window the old per-kind
swaps left was a copy per file wide).
"""

from __future__ import annotations

import json
import threading
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from crimegeo.store.current import live_dataset, live_layout, read_pointer
from crimegeo.store.files import filesystem, read_json, write_bytes_atomic
from crimegeo.store.layout import OutputLayout
from crimegeo.store.publish import COMMIT_STEPS, SimulatedCrashError, commit_month, recover

MONTH = "2024-03"
FORCES = ("kent", "merseyside")


def _parquet(run_id: str, rows: int) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(pa.table({"run_id": [run_id] * rows, "row": list(range(rows))}), sink)
    return sink.getvalue().to_pybytes()


def _manifest(run_id: str, rows: dict[str, int]) -> dict:
    written, rejected = sum(rows.values()), len(rows)
    return {"run_id": run_id, "month": MONTH, "started_at": "2024-04-03T06:00:00+00:00",
            "seconds": 1.0, "pipeline_seconds": 1.0, "code_version": "test",
            "standard_version": "1.0", "beam_version": "2.77.0", "runner": "DirectRunner",
            "coordinate_transformation": "OSTN15", "input": "in", "output": "out",
            "gazetteer": None, "gazetteer_checksum": None, "options": {}, "files": {},
            "skipped_files": [], "forces": sorted(rows), "recovered": [],
            "totals": {"rows_in": written + rejected, "rows_written": written,
                       "rows_rejected": rejected, "rows_by_status": {"supplied": written}}}


def _stage(output: str, run_id: str, rows: dict[str, int]) -> dict:
    """Stage a month of `rows` records per force (and one rejected row per force), as a run's
    workers would, with each force's feedback summary; returns its manifest."""
    staged = OutputLayout(output).staged(run_id)
    for force, count in rows.items():
        for kind in ("restricted", "public"):
            write_bytes_atomic(staged.part(kind, MONTH, force, "part-0.parquet"),
                               _parquet(run_id, count))
        write_bytes_atomic(staged.part("rejected", MONTH, force, "part-0.parquet"),
                           _parquet(run_id, 1))
        write_bytes_atomic(staged.feedback_file(force, MONTH, "summary.json"), json.dumps(
            {"run_id": run_id, "records": count}).encode())
    return _manifest(run_id, rows)


def _rows_for(run: int) -> dict[str, int]:
    return {force: 3 + (run * 7 + i * 5) % 40 for i, force in enumerate(FORCES)}


def read_whole_month(output: str) -> str:
    """What a reader does: resolve once, then read everything under that generation; returns
    the run it read, after checking it is one run's whole month."""
    layout = live_layout(output, MONTH)
    manifest = read_json(layout.manifest(MONTH))
    if manifest is None:
        raise FileNotFoundError(layout.manifest(MONTH))
    run_id = manifest["run_id"]
    found = {}
    for kind in ("restricted", "public", "rejected"):
        table = live_dataset(layout.root, kind, MONTH).to_table()
        assert set(table["run_id"].to_pylist()) == {run_id}, f"{kind} mixes runs"
        found[kind] = table.num_rows
    totals = manifest["totals"]
    assert found["restricted"] == found["public"] == totals["rows_written"]
    assert found["rejected"] == totals["rows_rejected"]
    for force in manifest["forces"]:
        summary = read_json(layout.feedback_file(force, MONTH, "summary.json"))
        if summary is None:
            raise FileNotFoundError(layout.feedback_file(force, MONTH, "summary.json"))
        assert summary["run_id"] == run_id, f"{force}'s feedback is of another run"
    return run_id


def _race(output: str, commits: int, pause: float) -> tuple[list[str], list[str], int]:
    """Commit `commits` runs while two readers read; returns the runs committed, the runs
    read, and how many reads found a generation already deleted (a reader slower than two
    commits), which must fail loudly rather than mix."""
    committed, seen, vanished, errors = [], [], [0], []
    done = threading.Event()

    def reader() -> None:
        while not done.is_set():
            try:
                seen.append(read_whole_month(output))
            except (OSError, pa.ArrowException):  # the generation was deleted: loud, not mixed
                vanished[0] += 1
            except AssertionError as error:
                errors.append(error)
                return

    readers = [threading.Thread(target=reader) for _ in range(2)]
    for thread in readers:
        thread.start()
    try:
        for run in range(1, commits + 1):
            run_id = f"run-{run:03d}"
            commit_month(output, run_id, MONTH, _stage(output, run_id, _rows_for(run)))
            committed.append(run_id)
            time.sleep(pause)
    finally:
        done.set()
        for thread in readers:
            thread.join()
    assert not errors, errors[0]
    return committed, seen, vanished[0]


def _seed(output: str) -> None:
    commit_month(output, "run-000", MONTH, _stage(output, "run-000", _rows_for(0)))


def test_readers_during_repeated_commits_on_a_local_disk_see_whole_months(tmp_path) -> None:
    output = str(tmp_path / "out")
    _seed(output)
    committed, seen, vanished = _race(output, commits=25, pause=0.02)
    assert len(seen) > 25  # the readers did overlap the commits
    assert set(seen) <= {"run-000", *committed}
    assert len(set(seen)) > 3  # and saw the month change under them, whole each time
    assert read_whole_month(output) == committed[-1]
    # only the live generation and the one before it are kept
    assert sorted(p.name for p in (tmp_path / "out" / "generations").iterdir()) == \
        committed[-2:]
    assert vanished <= len(seen) // 4


@pytest.mark.parametrize("step", COMMIT_STEPS)
def test_a_kill_at_each_commit_step_leaves_readers_one_whole_month(tmp_path, step) -> None:
    output = str(tmp_path / "out")
    _seed(output)
    with pytest.raises(SimulatedCrashError):
        commit_month(output, "run-001", MONTH, _stage(output, "run-001", _rows_for(1)),
                     crash_at=step)
    expected = "run-000" if COMMIT_STEPS.index(step) < COMMIT_STEPS.index("switched") \
        else "run-001"
    assert read_whole_month(output) == expected  # before any recovery
    recover(output)
    assert read_whole_month(output) == expected
    assert read_pointer(output, MONTH)["run_id"] == expected


@pytest.fixture(scope="module")
def bucket():
    from tests.streaming.streaming_support import gcs_emulator

    with gcs_emulator("crimegeo-atomic") as host:
        yield host


def test_readers_during_repeated_commits_in_a_bucket_see_whole_months(bucket) -> None:
    output = "gs://crimegeo-atomic/race"
    _seed(output)
    committed, seen, _ = _race(output, commits=6, pause=0.05)
    assert len(seen) >= 6
    assert set(seen) <= {"run-000", *committed}
    assert read_whole_month(output) == committed[-1]
    fs, root = filesystem(output)
    fs.invalidate_cache()
    assert sorted(p.rsplit("/", 1)[-1] for p in fs.ls(f"{root}/generations")) == \
        committed[-2:]


@pytest.mark.parametrize("step", ["moved", "switched"])
def test_a_kill_inside_a_commit_in_a_bucket_leaves_one_whole_month(bucket, step) -> None:
    output = f"gs://crimegeo-atomic/kill-{step}"
    _seed(output)
    with pytest.raises(SimulatedCrashError):
        commit_month(output, "run-001", MONTH, _stage(output, "run-001", _rows_for(1)),
                     crash_at=step)
    expected = "run-000" if step == "moved" else "run-001"
    assert read_whole_month(output) == expected
    recover(output)
    assert read_whole_month(output) == expected
