"""The in-process runner's parallel files: each file's whole chain in a worker process.

A month run with files in worker processes must publish what the step-by-step graph in
one process publishes, byte for byte, and a file that fails there must fail the run with
its own error and leave the published month alone.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from crimegeo.pipelines.monthly import build_pipeline, run_month
from crimegeo.pipelines.settings import settings_from_argv
from crimegeo.standards.profiles import load_profiles
from crimegeo.store.current import live_files
from crimegeo.store.inputs import InputFile, discover_month
from crimegeo.transforms.workers import PARALLEL_MIN_BYTES, cores, files_at_once
from tests.conftest import live, live_parts, run_month_args

MONTH = "2024-03"


def _args(demo_month: dict, output: Path, workers: int) -> list[str]:
    return ["--month", MONTH, "--input", str(demo_month["root"] / "input"), "--output",
            str(output), "--gazetteer", demo_month["gazetteer"], "--parallel-files",
            str(workers)]


def _feedback_files(output: Path) -> dict[str, bytes]:
    """The month's feedback CSV and GeoJSON by path (their JSON summaries name the run)."""
    root = live(output, MONTH) / "feedback"
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.suffix in (".csv", ".geojson")}


def _disclosure(output: Path) -> dict:
    report = json.loads((live(output, MONTH) / "runs" / MONTH / "disclosure.json").read_text())
    return {key: value for key, value in report.items() if key != "run_id"}


def test_files_in_worker_processes_publish_what_one_process_publishes(
        demo_month: dict, tmp_path: Path) -> None:
    alone = run_month_args(_args(demo_month, tmp_path / "alone", 1))
    shared = run_month_args(_args(demo_month, tmp_path / "workers", 2))

    assert alone.manifest["files_at_once"] == 1
    assert shared.manifest["files_at_once"] == 2
    assert shared.manifest["totals"] == alone.manifest["totals"]
    for name, record in alone.manifest["files"].items():
        other = shared.manifest["files"][name]
        for count in ("rows_in", "rows_written", "rows_rejected", "rejected_by_reason",
                      "rows_by_status"):
            assert other[count] == record[count], (name, count)
        assert set(other["seconds"]) == set(record["seconds"])  # every step timed
    parts = live_parts(tmp_path / "alone", MONTH)
    assert parts and live_parts(tmp_path / "workers", MONTH) == parts
    assert any(path.startswith("rejected/") for path in parts)
    feedback = _feedback_files(tmp_path / "alone")
    assert feedback and _feedback_files(tmp_path / "workers") == feedback
    assert _disclosure(tmp_path / "workers") == _disclosure(tmp_path / "alone")


def test_forces_are_finished_in_the_workers_only_when_the_bundle_is_the_whole_month(
        demo_month: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With every file of the month in its bundle, the workers write each force's feedback
    and count its disclosure; a bundle of part of the month (a runner that split it)
    leaves both to the later steps. Either way the month is the same."""
    from crimegeo.transforms import steps

    finished: list[str] = []
    finish_force = steps.ProcessFilesInWorkers._finish_force

    def counted(self: steps.ProcessFilesInWorkers, pool, force, feedback, disclosure):
        finished.append(force)
        return finish_force(self, pool, force, feedback, disclosure)

    monkeypatch.setattr(steps.ProcessFilesInWorkers, "_finish_force", counted)
    run_month_args(_args(demo_month, tmp_path / "whole", 2))
    # every force finished in the workers, once (the demo's files are a force each)
    assert finished and len(finished) == len(set(finished))
    before = len(finished)

    in_workers = steps.ProcessMonth._in_workers

    def as_if_split(self: steps.ProcessMonth, files):
        self.month_files += 1  # no bundle holds the whole month
        return in_workers(self, files)

    monkeypatch.setattr(steps.ProcessMonth, "_in_workers", as_if_split)
    run_month_args(_args(demo_month, tmp_path / "split", 2))
    assert len(finished) == before  # not called again
    assert _feedback_files(tmp_path / "split") == _feedback_files(tmp_path / "whole")
    assert _disclosure(tmp_path / "split") == _disclosure(tmp_path / "whole")
    assert live_parts(tmp_path / "split", MONTH) == live_parts(tmp_path / "whole", MONTH)


def test_the_feedback_rows_workers_leave_are_removed_with_the_run(
        demo_month: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers leave each file's rendered feedback rows in a local folder for the driver;
    the folder goes when the run ends, whether it commits or fails."""
    import tempfile

    left: list[str] = []
    cleanup = tempfile.TemporaryDirectory.cleanup

    def seen_then_cleaned(folder: tempfile.TemporaryDirectory) -> None:
        left.extend(path.suffix for path in Path(folder.name).iterdir())
        cleanup(folder)

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    monkeypatch.setattr(tempfile.TemporaryDirectory, "cleanup", seen_then_cleaned)
    (tmp_path / "tmp").mkdir()
    result = run_month_args(_args(demo_month, tmp_path / "out", 2))
    assert result.manifest["files_at_once"] == 2 and _feedback_files(tmp_path / "out")
    assert left and set(left) == {".csv", ".geojson"}  # the rows went through files
    assert [path for path in (tmp_path / "tmp").iterdir() if "crimegeo" in path.name] == []


def test_the_graph_is_one_step_in_workers_and_step_by_step_otherwise(
        demo_month: dict, tmp_path: Path) -> None:
    files = list(discover_month(str(demo_month["root"] / "input"), MONTH,
                                load_profiles()).files)

    def labels(*extra: str) -> set[str]:
        settings = settings_from_argv(["--input", "unused", "--output", str(tmp_path),
                                       "--gazetteer", demo_month["gazetteer"], *extra])
        pipeline, _ = build_pipeline(settings, MONTH, files, "graph-check")
        return {t.full_label for t in pipeline.transforms_stack[0].parts[1].parts}

    in_workers = labels("--parallel-files", "2")
    assert "ProcessMonth/ProcessFiles" in in_workers
    assert "ProcessMonth/LocateRecords" not in in_workers
    step_by_step = labels("--parallel-files", "1")
    assert {"ProcessMonth/LocateRecords", "ProcessMonth/WriteRecords"} <= step_by_step
    assert "ProcessMonth/ProcessFiles" not in step_by_step
    # k-merging groups a force's month before anonymising: never per file in a worker.
    assert "ProcessMonth/ProcessFiles" not in labels("--parallel-files", "2",
                                                     "--min-public-count", "3")
    # Another runner shares the files among its own workers.
    assert "ProcessMonth/ProcessFiles" not in labels("--parallel-files", "2",
                                                     "--direct_running_mode=multi_processing")


@pytest.mark.parametrize("workers", [1, 2])
def test_a_file_failing_in_a_worker_fails_the_run_and_keeps_the_published_month(
        demo_month: dict, tmp_path: Path, workers: int) -> None:
    inputs = tmp_path / "inputs"
    shutil.copytree(demo_month["root"] / "input", inputs)
    output = tmp_path / "out"
    args = ["--input", str(inputs), "--output", str(output), "--gazetteer",
            demo_month["gazetteer"], "--parallel-files", str(workers)]
    run_month_args(["--month", MONTH, *args])
    published = live_parts(output, MONTH)

    settings = settings_from_argv(args)
    discovery = discover_month(str(inputs), MONTH, load_profiles())
    gone = max(discovery.files, key=lambda item: item.size)
    Path(gone.url).unlink()  # found by discovery, gone when its worker opens it
    # Beam names the step it failed in; the file and the error are the same either way.
    with pytest.raises(RuntimeError, match=f"FileNotFoundError.*{gone.name}"):
        run_month(settings, MONTH, discovery)
    assert live_parts(output, MONTH) == published
    assert live_files(str(output), "restricted", MONTH)


def test_how_many_files_at_once() -> None:
    def month(*sizes: int) -> list[InputFile]:
        return [InputFile(url=f"/in/{i}.csv", name=f"{i}.csv", profile="police-uk-street",
                          size=size, checksum=str(i)) for i, size in enumerate(sizes)]

    big = PARALLEL_MIN_BYTES
    assert files_at_once(0, month(big, big, big)) == min(cores(), 3)
    assert files_at_once(0, month(1024, 2048)) == 1  # a small month: start-up would cost more
    assert files_at_once(0, month(4 * big)) == 1  # one file: nothing to share out
    assert files_at_once(3, month(10, 10)) == 2  # never more workers than files
    assert files_at_once(1, month(big, big)) == 1
    assert files_at_once(2, month(10, 10, 10)) == 2


def test_no_more_workers_than_memory_holds(monkeypatch: pytest.MonkeyPatch,
                                           demo_month: dict) -> None:
    from crimegeo.pipelines import ahead
    from crimegeo.transforms import workers

    files = [InputFile(url=f"/in/{i}.csv", name=f"{i}.csv", profile="police-uk-street",
                       size=PARALLEL_MIN_BYTES, checksum=str(i)) for i in range(8)]
    monkeypatch.setattr(workers, "cores", lambda: 8)
    monkeypatch.setattr(workers, "available_memory", lambda: 10 * 2**30)
    assert files_at_once(0, files, worker_bytes=3 * 2**30) == 3  # 10 GiB holds three
    assert files_at_once(0, files, worker_bytes=20 * 2**30) == 1
    assert files_at_once(0, files, worker_bytes=2**20) == 8  # then the cores decide
    assert files_at_once(4, files, worker_bytes=20 * 2**30) == 4  # asked for: as asked
    monkeypatch.setattr(workers, "available_memory", lambda: None)  # not Linux: cores
    assert files_at_once(0, files, worker_bytes=20 * 2**30) == 8
    # A worker's estimate grows with the gazetteer it loads (its manifest's features).
    settings = settings_from_argv(["--input", "in", "--output", "out", "--gazetteer",
                                   demo_month["gazetteer"]])
    features = json.loads((Path(demo_month["gazetteer"]) / "manifest.json").read_text())[
        "features"]
    assert ahead.worker_bytes(settings) == (ahead.WORKER_BASE_BYTES
                                           + features * ahead.BYTES_PER_FEATURE)
    no_gazetteer = settings_from_argv(["--input", "in", "--output", "out"])
    assert ahead.worker_bytes(no_gazetteer) == ahead.WORKER_BASE_BYTES


def test_workers_started_ahead_are_handed_over_or_shut_down(demo_month: dict) -> None:
    from crimegeo.pipelines.monthly import worker_resources
    from crimegeo.transforms import workers

    settings = settings_from_argv(["--input", "unused", "--output", "unused", "--gazetteer",
                                   demo_month["gazetteer"]])
    resources, dirs = worker_resources(settings), settings.inputs.profiles
    with workers.pool_started(2, resources, dirs):  # never taken: a run failing early
        pass
    assert not workers._STARTED
    with workers.pool_started(2, resources, dirs):
        pool = workers.take_pool(2, resources, dirs).pool
        assert not workers._STARTED
    try:  # handed over alive, loaded, and the step's to shut down
        pids = {pool.submit(workers.os.getpid).result() for _ in range(4)}
        assert pids and all(pid != workers.os.getpid() for pid in pids)
    finally:
        pool.shutdown()
    with workers.pool_started(1, resources, dirs):  # one worker: nothing started
        assert not workers._STARTED


def test_files_given_to_the_workers_ahead_are_taken_by_the_step_not_run_again(
        demo_month: dict, tmp_path: Path) -> None:
    """`month_started` takes the lease, recovers, and gives the files to the workers before
    Beam is imported; the step then takes those tasks, and the month is the same as one
    run step by step in one process."""
    from crimegeo.pipelines.ahead import month_started, worker_resources
    from crimegeo.store.lock import OutputLockedError
    from crimegeo.transforms import workers

    settings = settings_from_argv(_args(demo_month, tmp_path / "ahead", 2)[2:])
    key = (2, worker_resources(settings), tuple(settings.inputs.profiles))
    with month_started(settings, MONTH) as start:
        assert start.files_at_once == 2 and start.run_id and start.spill_to
        started = workers._STARTED[key]
        started.starting.join()
        given = dict(started.given)
        assert len(given) == len(start.discovery.files) > 1
        with pytest.raises(OutputLockedError):  # the lease is this run's from the start
            run_month(settings, MONTH)
        result = run_month(settings, MONTH, started=start)
    assert not started.given  # every task given ahead was taken by the step
    assert all(task.done() and task.exception() is None for task in given.values())
    assert result.manifest["run_id"] == start.run_id
    assert result.manifest["started_at"] == start.began_at  # timed from the files' start
    assert result.manifest["files_at_once"] == 2
    alone = run_month_args(_args(demo_month, tmp_path / "alone", 1))
    assert result.manifest["totals"] == alone.manifest["totals"]
    assert live_parts(tmp_path / "ahead", MONTH) == live_parts(tmp_path / "alone", MONTH)
    assert _feedback_files(tmp_path / "ahead") == _feedback_files(tmp_path / "alone")


def test_a_run_failing_before_its_pipeline_takes_the_files_releases_the_output(
        demo_month: dict, tmp_path: Path) -> None:
    """Files given ahead to a run that then fails (Beam's import, the pipeline's build):
    the workers stop, the lease is released, nothing is published, and the next run
    removes what was staged."""
    from crimegeo.pipelines.ahead import month_started
    from crimegeo.transforms import workers

    output = tmp_path / "out"
    settings = settings_from_argv(_args(demo_month, output, 2)[2:])
    with (pytest.raises(RuntimeError, match="the pipeline's build failed"),
          month_started(settings, MONTH) as start):
        raise RuntimeError("the pipeline's build failed")
    assert not workers._STARTED
    assert not live_files(str(output), "restricted", MONTH)
    result = run_month(settings, MONTH)  # the lease is free again
    assert any(start.run_id in action for action in result.manifest["recovered"])
    assert result.manifest["totals"]["rows_written"] > 0


def test_the_command_runs_files_in_workers_as_a_user_starts_it(
        demo_month: dict, tmp_path: Path) -> None:
    import subprocess
    import sys
    import tempfile

    done = subprocess.run(
        [sys.executable, "-m", "crimegeo.flows", "pipeline", *_args(demo_month, tmp_path / "o",
                                                                   2), "--json"],
        cwd=tempfile.gettempdir(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    manifest = json.loads(done.stdout[done.stdout.index("{"):])
    assert manifest["files_at_once"] == 2
    assert manifest["totals"]["rows_in"] == manifest["totals"]["rows_written"] + manifest[
        "totals"]["rows_rejected"] > 0
    run_month_args(_args(demo_month, tmp_path / "one", 1))
    assert live_parts(tmp_path / "o", MONTH) == live_parts(tmp_path / "one", MONTH)


@pytest.mark.parametrize("extra", [
    [], ["--runner", "DirectRunner"], ["--direct_running_mode=in_memory"],
    ["--direct_running_mode=multi_processing"], ["--direct_running_mode", "multi_threading"],
    ["--runner", "PortableRunner"], ["--streaming"], ["--runner=FlinkRunner"]])
def test_runs_here_agrees_with_beam_without_importing_it(extra: list[str]) -> None:
    """The early start reads the runner from the settings alone; Beam's own parse of the
    same options must agree, or workers would start for a run that never takes them."""
    from crimegeo.pipelines.ahead import runs_here
    from crimegeo.pipelines.local import runs_in_this_process
    from crimegeo.pipelines.monthly import beam_options

    settings = settings_from_argv(["--input", "in", "--output", "out", *extra])
    assert runs_here(settings) == runs_in_this_process(beam_options(settings))


def test_a_worker_process_killed_mid_month_is_named_with_the_files_not_finished(
        demo_month: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker killed by the system (out of memory, say) breaks the whole pool: the run
    fails saying so, naming the files not finished, and publishes nothing."""
    import os
    import signal

    from crimegeo.transforms import steps, workers

    def killing_pool(*args):
        pool = workers.worker_pool(*args)
        pid = pool.submit(os.getpid).result()  # a worker, started and loaded
        os.kill(pid, signal.SIGKILL)
        return workers.StartedPool(pool)

    monkeypatch.setattr(steps, "take_pool", killing_pool)
    output = tmp_path / "out"
    with pytest.raises(RuntimeError, match="worker process stopped abruptly.*not finished: "
                                           r".*\.(csv|jsonl)"):
        run_month_args(_args(demo_month, output, 2))
    assert not live_files(str(output), "restricted", MONTH)


_FORK_PROBE = """
import json, os, sys, threading, time
beside = sys.argv[2]
if beside == "conversion":  # convertbng's thread pool, started before the kernels' import
    from crimegeo.standards.coordinates import to_bng
    to_bng([-0.1], [51.5])
from crimegeo.pipelines.ahead import worker_resources
from crimegeo.pipelines.settings import settings_from_argv
from crimegeo.transforms import workers

settings = settings_from_argv(["--input", "i", "--output", "o", "--gazetteer", sys.argv[1]])
resources, dirs = worker_resources(settings), settings.inputs.profiles
if beside == "thread":  # a thread beside this one, as a lease's heartbeat
    threading.Thread(target=time.sleep, args=(30,), daemon=True).start()
elif beside == "native":  # a native pool started since the kernels' import
    import io, pyarrow.csv
    pyarrow.csv.read_csv(io.BytesIO(b"a,b\\n1,2\\n" * 50000))
elif beside == "beam":
    import apache_beam
with workers.pool_prepared(2, resources, dirs) as prepare:
    prepare()
    prepared = bool(workers._PREPARED)
    with workers.pool_started(2, resources, dirs):
        pool = workers.take_pool(2, resources, dirs).pool
parents = {pool.submit(os.getppid).result(timeout=60) for _ in range(4)}
pool.shutdown()
print(json.dumps({"prepared": prepared, "forked_here": parents == {os.getpid()}}))
"""


@pytest.mark.parametrize(("beside", "forked"), [
    ("nothing", True), ("thread", False), ("native", False), ("conversion", False),
    ("beam", False)])
def test_workers_are_forked_from_the_run_only_where_nothing_else_runs(
        demo_month: dict, beside: str, forked: bool) -> None:
    """A fresh run's process forks its workers (they share its kernels: no fork server to
    start and import them again). With another thread, a native pool started since the
    kernels' import, coordinates converted (convertbng's pool: a forked child's conversion
    never returns), or Beam loaded, the fork server starts them."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", _FORK_PROBE, demo_month["gazetteer"], beside],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    probe = json.loads(done.stdout.strip().splitlines()[-1])
    assert probe == {"prepared": forked, "forked_here": forked}


def test_the_lease_is_taken_before_workers_are_forked_and_kept_from_them(
        demo_month: dict, tmp_path: Path) -> None:
    """A run refused the output's lease forks no worker; one that takes it forks them before
    the lease's heartbeat thread starts."""
    from crimegeo.store.lock import OutputLockedError, output_lock
    from crimegeo.transforms import workers

    calls = []
    with output_lock(str(tmp_path), "holder"):
        with pytest.raises(OutputLockedError), output_lock(
                str(tmp_path), "other", when_taken=lambda: calls.append("forked")):
            pass
        assert not calls
    import threading

    def when_taken() -> None:
        calls.append(threading.active_count())

    before = threading.active_count()
    with output_lock(str(tmp_path), "run", when_taken=when_taken):
        assert threading.active_count() == before + 1  # the heartbeat, started after
    assert calls == [before]
    assert not workers._PREPARED


def test_the_fork_server_imports_the_module_the_workers_run() -> None:
    """The early start names the worker module by text, so as not to import it."""
    from crimegeo.transforms import forkserver, workers

    assert workers.__name__ == forkserver.WORKER_MODULE


def test_the_fork_server_starts_early_only_for_runs_that_may_have_workers(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from crimegeo.pipelines import ahead
    from crimegeo.transforms import forkserver

    started = []
    monkeypatch.setattr(forkserver, "start_fork_server", lambda: started.append(True))
    # a process that cannot fork its workers itself (a Prefect flow's threads, say)
    monkeypatch.setattr(forkserver, "may_fork_here", lambda: False)
    small, big = tmp_path / "small", tmp_path / "big"
    small.mkdir()
    (small / "2024-03-kent-street.csv").write_text("Crime ID\n1\n")
    (big / "2024-03").mkdir(parents=True)
    with open(big / "2024-03" / "2024-03-kent-street.csv", "wb") as sparse:
        sparse.truncate(PARALLEL_MIN_BYTES)  # as big as a month worth workers, for nothing
    for folder, extra, expected in (
            (big, [], True), (big, ["--parallel-files", "1"], False),
            (big, ["--min-public-count", "3"], False), (big, ["--runner", "PortableRunner"],
                                                        False),
            (small, [], False), (small, ["--parallel-files", "2"], True),
            ("gs://bucket/in", [], True)):  # a bucket is not listed for this
        started.clear()
        ahead.start_fork_server_early(settings_from_argv(["--input", str(folder), "--output",
                                                          "o", *extra]))
        assert bool(started) is expected, (folder, extra)
    # one that can forks them: no server to start
    monkeypatch.setattr(forkserver, "may_fork_here", lambda: True)
    started.clear()
    ahead.start_fork_server_early(settings_from_argv(["--input", str(big), "--output", "o"]))
    assert not started
