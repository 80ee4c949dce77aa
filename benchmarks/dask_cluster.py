"""The in-process runner against a two-worker Dask cluster: a national month, and backfills.

Starts a `dask scheduler` and two single-threaded `dask worker` processes on loopback (fresh
for every measured run, so each worker's peak memory is that run's), then times, each as a
whole `crimegeo` process:

  national: `crimegeo pipeline` on the national month of `benchmarks/national_month.py`
            (generated there, cached under `.bench/`), in-process and `--runner dask`;
  backfill: `crimegeo backfill --force` over 6, 12 and 24 months of `--month-rows` rows each
            (real police.uk rows moved into the 44 forces' areas, other rows each month, one
            gazetteer; generated once under `.bench/`), in-process (one month at a time)
            and `--runner dask` (four months at once): seconds, seconds per month and per
            row, and the marginal cost per month between sizes (linear?).

Peak memory: the driver's (the `crimegeo` process) and each worker's resident peak, read
from the worker itself after the run. Run from the project root after `make install`:

    .venv/bin/python benchmarks/dask_cluster.py --repeats 3
    .venv/bin/python benchmarks/dask_cluster.py --only backfill --months 6,12,24
"""

from __future__ import annotations

import argparse
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
CACHE = ROOT / ".bench"
DASK = Path(sys.executable).with_name("dask")

from national_month import MONTH, POLICE_UK, measure, prepare  # noqa: E402


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Cluster:
    """A scheduler and two workers on loopback, for one measured run."""

    def __enter__(self) -> Cluster:
        from dask.distributed import Client

        self.address = f"tcp://127.0.0.1:{_free_port()}"
        self.scratch = Path(tempfile.mkdtemp(prefix="dask-bench-"))
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        self.processes = [subprocess.Popen(
            [str(DASK), "scheduler", "--host", "127.0.0.1", "--port",
             self.address.rsplit(":", 1)[1], "--no-dashboard"], **quiet)]
        for name in ("a", "b"):
            self.processes.append(subprocess.Popen(
                [str(DASK), "worker", self.address, "--name", name, "--nthreads", "1",
                 "--no-dashboard", "--local-directory", str(self.scratch / name)], **quiet))
        self.client = Client(self.address, timeout=60)
        self.client.wait_for_workers(2, timeout=90)
        return self

    def worker_peaks_mib(self) -> list[float]:
        """Each worker process's peak resident memory so far (MiB)."""
        def peak() -> float:
            import resource

            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

        return sorted(self.client.run(peak).values())

    def __exit__(self, *exc: object) -> None:
        self.client.close()
        for process in reversed(self.processes):
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(self.scratch, ignore_errors=True)


def crimegeo(*args: str) -> list[str]:
    return [sys.executable, "-m", "crimegeo.flows", *args]


def timed(command: list[str], on_dask: bool) -> dict:
    """One run in a fresh process; on a fresh cluster when `on_dask`."""
    if not on_dask:
        result = measure(command)
        result["workers_mib"] = []
        return result
    with Cluster() as cluster:
        result = measure([*command, "--runner", "dask", "--dask-address", cluster.address])
        result["workers_mib"] = cluster.worker_peaks_mib()
    return result


def report(label: str, runs: list[dict], rows: int) -> float:
    seconds = statistics.median(r["seconds"] for r in runs)
    driver = statistics.median(r["peak_kib"] for r in runs) / 1024
    workers = ([statistics.median(r["workers_mib"][i] for r in runs) for i in range(2)]
               if runs[0]["workers_mib"] else [])
    spread = max(r["seconds"] for r in runs) / min(r["seconds"] for r in runs) - 1
    each_worker = " / ".join(f"{w:.0f}" for w in workers) or "-"
    each_run = ", ".join(f"{r['seconds']:.1f}" for r in runs)
    print(f"  {label:34} {seconds:8.1f} s {rows / seconds:9,.0f} rows/s  driver "
          f"{driver:5.0f} MiB  workers {each_worker:>11} MiB  (runs {each_run}; spread "
          f"{spread:.0%})", flush=True)
    return seconds


def national(repeats: int) -> None:
    folder = prepare(550_000)
    rows = 550_000
    print(f"National month ({rows:,} rows, 44 forces), medians of {repeats}:")
    runs: dict[str, list[dict]] = {"in-process": [], "dask, 2 workers": []}
    for _ in range(repeats):  # alternating, so a busy minute falls on both
        for label, on_dask in (("in-process", False), ("dask, 2 workers", True)):
            with tempfile.TemporaryDirectory() as scratch:
                runs[label].append(timed(crimegeo(
                    "pipeline", "--month", MONTH, "--input", str(folder / "input"),
                    "--output", scratch, "--gazetteer", str(folder / "gazetteer"), "--json"),
                    on_dask))
    for label, measured in runs.items():
        report(label, measured, rows)


def months_folder(count: int, month_rows: int) -> Path:
    """`count` months (from 2023-01) of `month_rows` rows each, 44 forces, one gazetteer.

    Each month is the real-shaped workload of `benchmarks/national_month.py` drawn with its
    own seed: other real rows each month, the same streets and map points every month (as
    a force's streets stay put), so the one gazetteer fits every month. (Months drawn by
    the sample generator with different seeds have different streets: after the first,
    none of a month's streets was in the gazetteer, and every row was a failed look-up.)
    """
    from crimegeo.flows.sample import generate_real_shaped
    from crimegeo.gazetteer import build_gazetteer
    from crimegeo.standards.months import Month

    if not POLICE_UK.is_dir():
        raise SystemExit(f"the backfill months need the real police.uk files in {POLICE_UK}")
    folder = CACHE / f"real-shaped-months-{month_rows}"
    month = "2023-01"
    for index in range(count):
        if not (folder / "input" / month).exists():
            print(f"generating {month} ({month_rows:,} rows) ...", flush=True)
            work = folder / "work" / month
            summary = generate_real_shaped(work, POLICE_UK, month=month, rows=month_rows,
                                           seed=100 + index)
            shutil.move(str(work / "input" / month), str(folder / "input" / month))
            if not (folder / "gazetteer" / "manifest.json").exists():
                build_gazetteer([summary["gazetteer_source"]], str(folder / "gazetteer"),
                                format="csv")
            shutil.rmtree(work)
        month = str(Month(month).next())
    return folder


def backfill(counts: list[int], month_rows: int, repeats: int) -> None:
    folder = months_folder(max(counts), month_rows)
    from crimegeo.standards.months import Month

    print(f"\nBackfills of {month_rows:,} real-shaped rows a month (44 forces), medians of "
          f"{repeats}:")
    results: dict[str, list[tuple[int, float]]] = {"in-process": [], "dask": []}
    for count in counts:
        last = Month("2023-01")
        for _ in range(count - 1):
            last = last.next()
        runs: dict[str, list[dict]] = {"in-process": [], "dask": []}
        for _ in range(repeats):  # the two alternate, so a busy minute falls on both
            for label, on_dask in (("in-process", False), ("dask", True)):
                with tempfile.TemporaryDirectory() as scratch:
                    runs[label].append(timed(crimegeo(
                        "backfill", "--from", "2023-01", "--to", str(last), "--force",
                        "--input", str(folder / "input"), "--output", scratch,
                        "--gazetteer", str(folder / "gazetteer"), "--json"), on_dask))
        for label in ("in-process", "dask"):
            seconds = report(f"{count:2d} months, {label}", runs[label], count * month_rows)
            results[label].append((count, seconds))
    print("\nCost as months grow (marginal = extra seconds per extra month):")
    for label, points in results.items():
        for (n0, s0), (n1, s1) in zip(points, points[1:], strict=False):
            print(f"  {label:10} {n0:2d} -> {n1:2d} months: {(s1 - s0) / (n1 - n0):.2f} s a "
                  f"month, {(s1 - s0) / ((n1 - n0) * month_rows) * 1e6:.1f} us a row")
        n0, s0 = points[0]
        print(f"  {label:10} fixed cost (intercept): "
              f"{s0 - (points[-1][1] - s0) / max(points[-1][0] - n0, 1) * n0:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", choices=("national", "backfill"))
    parser.add_argument("--months", default="6,12,24")
    parser.add_argument("--month-rows", type=int, default=20_000)
    args = parser.parse_args()
    started = time.perf_counter()
    if args.only in (None, "national"):
        national(args.repeats)
    if args.only in (None, "backfill"):
        backfill([int(n) for n in args.months.split(",")], args.month_rows, args.repeats)
    print(f"\n(benchmark took {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
