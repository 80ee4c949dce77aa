"""A month on a real Dask cluster: a `dask scheduler` and two `dask worker` processes on
loopback, started here with the environment's `dask` command, give the same restricted,
public, rejected and feedback output as the in-process runner, with tasks on both workers.

Also: the DoFns that travel in every task stay small (resources travel as URIs), and months
run at once under one hold of the output's lease each publish on their own.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import IO

import pytest

from crimegeo.pipelines.monthly import (
    beam_options,
    build_pipeline,
    months_at_once,
    run_month,
)
from crimegeo.pipelines.settings import settings_from_argv
from crimegeo.standards.profiles import load_profiles
from crimegeo.store.inputs import discover_month
from crimegeo.store.lock import OutputLockedError, output_lock
from tests.conftest import live, run_month_args

DASK = Path(sys.executable).with_name("dask")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A scheduler and two single-threaded worker processes on loopback; stopped after."""
    from dask.distributed import Client

    folder = tmp_path_factory.mktemp("dask")
    address = f"tcp://127.0.0.1:{_free_port()}"
    processes: list[subprocess.Popen] = []
    with ExitStack() as logs:
        def log(name: str) -> IO[bytes]:
            return logs.enter_context(open(folder / f"{name}.log", "wb"))

        try:
            processes.append(subprocess.Popen(
                [str(DASK), "scheduler", "--host", "127.0.0.1",
                 "--port", address.rsplit(":", 1)[1], "--no-dashboard"],
                stdout=subprocess.DEVNULL, stderr=log("scheduler"), cwd=folder))
            for name in ("worker-a", "worker-b"):
                processes.append(subprocess.Popen(
                    [str(DASK), "worker", address, "--name", name, "--nthreads", "1",
                     "--no-dashboard", "--local-directory", str(folder / name)],
                    stdout=subprocess.DEVNULL, stderr=log(name), cwd=folder))
            with Client(address, timeout=60) as client:
                client.wait_for_workers(2, timeout=90)
            yield address
        finally:
            for process in reversed(processes):
                _stop(process)


def _published(output: Path) -> dict[str, bytes]:
    """Every published file but those carrying run ids and times; the disclosure report is
    compared without its run id."""
    files = {re.sub(r"^generations/[^/]+/", "", str(p.relative_to(output))): p.read_bytes()
             for p in sorted(output.rglob("*")) if p.is_file() and p.name not in (
                 "manifest.json", "index.json", "summary.json", "current.json")}
    for path in [p for p in files if p.endswith("disclosure.json")]:
        report = json.loads(files[path])
        report.pop("run_id")
        files[path] = json.dumps(report, sort_keys=True).encode()
    return files


@pytest.mark.slow
def test_a_month_on_two_dask_workers_matches_the_in_process_runner(
        demo_month: dict, tmp_path: Path, dask_cluster: str) -> None:
    from dask.distributed import Client, get_task_stream

    common = ["--month", "2024-03", "--input", str(demo_month["root"] / "input"),
              "--gazetteer", demo_month["gazetteer"]]
    run_month_args([*common, "--output", str(tmp_path / "in-process")])
    with Client(dask_cluster) as client:
        names = {address: info["name"]
                 for address, info in client.scheduler_info()["workers"].items()}
        # The scheduler records every task from here on, with the worker that ran it.
        with get_task_stream(client=client) as stream:
            done = subprocess.run(
                [sys.executable, "-m", "crimegeo.flows", "pipeline", *common, "--output",
                 str(tmp_path / "dask"), "--runner", "dask", "--dask-address", dask_cluster,
                 "--json"], capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
        tasks = stream.data
    assert json.loads(done.stdout)["runner"].endswith("ClusterDaskRunner")
    ran_on = {names.get(task["worker"], task["worker"]) for task in tasks}
    assert ran_on == {"worker-a", "worker-b"}, f"tasks ran on {ran_on} of {names}"

    reference = _published(tmp_path / "in-process")
    on_dask = _published(tmp_path / "dask")
    for kind in ("restricted/", "public/", "rejected/"):
        assert any(p.startswith(kind) and p.endswith(".parquet") for p in reference), kind
    assert sum(p.endswith("corrections.csv") for p in reference) == 4
    assert on_dask.keys() == reference.keys()
    different = [path for path in reference if on_dask[path] != reference[path]]
    assert different == []


def test_the_dofns_in_every_task_carry_uris_not_resources(demo_month: dict,
                                                          tmp_path: Path) -> None:
    """What Dask pickles into each task (with cloudpickle, as Dask does) is a few kilobytes:
    the gazetteer is named, loaded on the worker."""
    import apache_beam as beam
    import cloudpickle

    settings = settings_from_argv([
        "--input", str(demo_month["root"] / "input"), "--output", str(tmp_path),
        "--gazetteer", demo_month["gazetteer"], "--runner", "dask"])
    files = list(discover_month(settings.inputs.input, "2024-03", load_profiles()).files)
    pipeline, _ = build_pipeline(settings, "2024-03", files, "size-check")
    sizes: dict[str, int] = {}

    class Sizes(beam.pipeline.PipelineVisitor):
        def visit_transform(self, node: beam.pipeline.AppliedPTransform) -> None:
            if isinstance(node.transform, beam.ParDo):
                sizes[node.full_label] = len(cloudpickle.dumps(node.transform.fn))

    pipeline.visit(Sizes())
    # on Dask each file's whole chain is one step, holding the resources' names
    assert "ProcessMonth/ProcessFiles/ParDo(ProcessWholeFiles)" in sizes
    gazetteer_bytes = sum(p.stat().st_size for p in Path(demo_month["gazetteer"]).rglob("*"))
    assert max(sizes.values()) < 20_000 < gazetteer_bytes, sizes
    assert beam_options(settings).get_all_options()["runner"].endswith("ClusterDaskRunner")


@pytest.mark.slow
def test_months_at_once_publish_each_month_under_one_lease(demo_month: dict,
                                                           tmp_path: Path) -> None:
    """Two months run at the same time in one process under the output's one lease: both
    publish, each force's feedback index lists both (the commits took turns), and another
    writer is refused while they run."""
    from crimegeo.flows.sample import generate_sample

    inputs = tmp_path / "input"
    shutil.copytree(demo_month["root"] / "input" / "2024-03", inputs / "2024-03")
    generate_sample(tmp_path / "april", month="2024-04", rows=1500, seed=12)
    shutil.copytree(tmp_path / "april" / "input" / "2024-04", inputs / "2024-04")
    output = tmp_path / "out"
    settings = settings_from_argv(["--input", str(inputs), "--output", str(output),
                                   "--gazetteer", demo_month["gazetteer"]])
    results: dict[str, object] = {}
    errors: list[BaseException] = []

    def one(month: str) -> None:
        try:
            results[month] = run_month(settings, month, run_id=f"{month}-run")
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    with months_at_once(settings, "two-months"):
        with pytest.raises(OutputLockedError, match="two-months"), \
                output_lock(str(output), "intruder"):
            pass
        threads = [threading.Thread(target=one, args=(month,))
                   for month in ("2024-03", "2024-04")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    assert set(results) == {"2024-03", "2024-04"}
    for month in ("2024-03", "2024-04"):
        manifest = json.loads((live(output, month) / "runs" / month / "manifest.json").read_text())
        assert manifest["run_id"] == f"{month}-run"
        assert list((live(output, month) / "restricted" / f"month={month}").rglob("*.parquet"))
    indexes = list((output / "feedback").glob("force=*/index.json"))
    assert indexes
    for path in indexes:
        months = {entry["month"] for entry in json.loads(path.read_text())["months"]}
        assert months == {"2024-03", "2024-04"}, path
    assert not (output / "_lock.json").exists()  # released
    assert not any((output / "_staging").glob("*"))


def test_each_step_runs_once_whatever_reads_its_outputs(tmp_path: Path,
                                                        dask_cluster: str) -> None:
    """A step whose outputs several steps read (one as a side input, through the
    `CombineGlobally` the per-file stats use, one grouped by key, two as they are) runs
    once for each element on the workers. Before, Dask copied the steps upstream of a side
    input, and of each leaf it optimised on its own: every file of a month was read,
    parsed, located and anonymised three times."""
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions
    from apache_beam.runners.dask.dask_runner import DaskOptions

    from crimegeo.pipelines.dask_runner import ClusterDaskRunner

    calls, results = tmp_path / "calls", tmp_path / "results"
    calls.mkdir()
    results.mkdir()

    class Step(beam.DoFn):  # defined here, so that it travels to the workers by value
        def process(self, element: int) -> Iterator:
            import os
            import uuid

            (calls / f"{element}-{os.getpid()}-{uuid.uuid4().hex}").touch()
            yield element
            yield beam.pvalue.TaggedOutput("counts", ("rows", element))

    def keep(name: str) -> Callable[[object], None]:
        def write(value: object) -> None:
            import uuid

            (results / f"{name}-{uuid.uuid4().hex}").write_text(repr(value))
        return write

    options = PipelineOptions([])
    options.view_as(DaskOptions).address = dask_cluster
    elements = list(range(12))
    pipeline = beam.Pipeline(runner=ClusterDaskRunner(), options=options)
    stepped = (pipeline | beam.Create(elements, reshuffle=False)
               | beam.ParDo(Step()).with_outputs("counts", main="rows"))
    total = (stepped.counts | "Values" >> beam.Map(lambda pair: pair[1])
             | "Total" >> beam.CombineGlobally(sum))
    _ = (stepped.rows | "WithTotal" >> beam.Map(lambda row, all_: (row, all_),
                                                 beam.pvalue.AsSingleton(total))
         | "KeepWithTotal" >> beam.Map(keep("with-total")))
    _ = stepped.counts | "Group" >> beam.GroupByKey() | "KeepGroup" >> beam.Map(keep("group"))
    _ = stepped.rows | "KeepA" >> beam.Map(keep("a"))
    _ = stepped.rows | "KeepB" >> beam.Map(keep("b"))
    assert pipeline.run().wait_until_finish() == "DONE"

    ran = sorted(int(path.name.split("-")[0]) for path in calls.iterdir())
    assert ran == elements, f"the step ran {len(ran)} times for {len(elements)} elements"
    kept = [path.name.split("-")[0] for path in results.iterdir()]
    assert {name: kept.count(name) for name in set(kept)} == {
        "with": 12, "group": 1, "a": 12, "b": 12}
    with_total = sorted(eval(p.read_text()) for p in results.glob("with-total-*"))  # noqa: S307
    assert with_total == [(element, sum(elements)) for element in elements]
    (group,) = [eval(p.read_text()) for p in results.glob("group-*")]  # noqa: S307
    assert group[0] == "rows" and sorted(group[1]) == elements


def test_a_group_by_key_over_many_files_groups_every_value_in_few_tasks() -> None:
    """A month's per-file outputs (here 220 partitions of (file, counts) pairs, as the
    per-file stats are) grouped by key: every value reaches its key, on few tasks. Dask's
    own task shuffle took ~7,600 tasks for this; each costs the scheduler and a worker
    about a millisecond."""
    import dask
    import dask.bag as db

    from crimegeo.pipelines.dask_runner import _BagBuilder

    pairs = [(f"file-{i % 44:02d}.csv", {"rows": i}) for i in range(2200)]
    source = db.from_sequence(pairs, npartitions=220)
    for workers in (1, 2, 8):
        grouped = _BagBuilder({}, group_partitions=workers)._group_by_key(source)
        (optimised,) = dask.optimize(grouped)
        tasks = len(optimised.__dask_graph__())
        assert tasks < 220 + 30 * workers + workers * workers, (workers, tasks)
        assert grouped.npartitions == workers
        result = dict(grouped.compute(scheduler="sync"))
        assert sorted(result) == sorted({key for key, _ in pairs})
        for key, values in result.items():
            assert sorted(v["rows"] for v in values) == sorted(
                v["rows"] for k, v in pairs if k == key)
    old = source.groupby(lambda kv: kv[0], shuffle="tasks")
    assert len(dask.optimize(old)[0].__dask_graph__()) > 5000
