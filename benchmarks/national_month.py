"""Throughput of a national month, measured against the floor.

Two workloads, each generated once and cached under `.bench/`:

  generated:   the sample generator's national month: 44 forces, the Metropolitan Police
               about a fifth of the rows, four export formats, and the defect mix of real
               exports (about 7% to geocode by name, 4% bad coordinates, 1% rows to reject),
               with a gazetteer of 3,000 streets per force;
  real-shaped: real police.uk rows (../shared/data/police-uk/city-of-london, 36 months)
               moved, street pattern intact, into each of the 44 forces' areas in the same
               shares, each force with its own copy of the real map points in the gazetteer,
               so supplied points are valid and on the street they name, as in most real
               rows (`flows.sample.generate_real_shaped`).

For each workload it measures, each in a fresh process:

  (a) the floor: read every file with pyarrow, project to British National Grid, write zstd
      Parquet partitioned by force, nothing else;
  (b) `crimegeo pipeline` (Beam, in-process runner);
  (c) `crimegeo run` (the same through Prefect, with its temporary server);
  (d) a bare Prefect flow of one task on a temporary server: Prefect's fixed start-up cost,
      which (c) - (b) is compared against;

and prints medians of the repeats: wall time, rows/s, peak resident memory, the ratios b/a and
c/a, and where (b)'s time goes: process start-up and imports, and the pipeline's per-stage
seconds (from its run manifest). With `--scaling` it runs (a) and (b) at several sizes and
prints time per row, and the marginal time per row between sizes (the cost of each added
row once the fixed start-up is paid), which is what grows or not with size.

Run from the project root after `make install`:

    .venv/bin/python benchmarks/national_month.py                 # 550k rows, 3 repeats
    .venv/bin/python benchmarks/national_month.py --workload real-shaped --no-flow
    .venv/bin/python benchmarks/national_month.py --scaling 55000,550000,2200000 --repeats 1
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CACHE = ROOT / ".bench"
MONTH = "2024-03"
POLICE_UK = ROOT.parent / "shared" / "data" / "police-uk" / "city-of-london"
WORKLOADS = ("generated", "real-shaped")

# Runs a command as a child and reports the child's wall time and peak RSS (KiB on Linux).
MEASURE = """
import json, resource, subprocess, sys, time
started = time.perf_counter()
done = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
seconds = time.perf_counter() - started
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
peak, cpu = usage.ru_maxrss, usage.ru_utime + usage.ru_stime
print(json.dumps({"seconds": seconds, "peak_kib": peak, "cpu": cpu, "code": done.returncode,
                  "stdout": done.stdout.decode(errors="replace")[-200000:],
                  "stderr": done.stderr.decode(errors="replace")[-4000:]}))
"""

FLOOR = """
import sys
from pathlib import Path
import pyarrow as pa, pyarrow.compute as pc, pyarrow.csv as pacsv
from crimegeo.transforms.readers import read_source
import pyarrow.parquet as pq
from crimegeo.standards.coordinates import to_bng, to_lonlat
from crimegeo.standards.profiles import load_profiles
from crimegeo.store.inputs import discover_month
month, input_url, output = sys.argv[1:4]
profiles = {p.name: p for p in load_profiles()}
for item in discover_month(input_url, month, list(profiles.values())).files:
    profile = profiles[item.profile]
    if profile.format == "jsonl":
        # pyarrow's JSON reader gives up on a file with one broken line; read line by line.
        table = read_source(lambda: open(item.url, "rb"), profile).table
    else:
        utf8 = profile.encoding.lower() in ("utf-8", "utf-8-sig")
        encoding = "utf8" if utf8 else profile.encoding
        table = pacsv.read_csv(
            item.url, read_options=pacsv.ReadOptions(encoding=encoding),
            parse_options=pacsv.ParseOptions(invalid_row_handler=lambda r: "skip"))
    x = pc.cast(table[profile.columns["x"]], pa.float64(), safe=False).to_numpy(
        zero_copy_only=False)
    y = pc.cast(table[profile.columns["y"]], pa.float64(), safe=False).to_numpy(
        zero_copy_only=False)
    if profile.coordinate_crs == "EPSG:27700":
        east, north = x, y
        x, y = to_lonlat(east, north)
    else:
        east, north = to_bng(x, y)
    table = table.append_column("x_bng", pa.array(east)).append_column("y_bng", pa.array(north))
    folder = Path(output) / f"force={item.name.split('.')[0]}"
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, folder / "part-0.parquet", compression="zstd")
"""


BARE_FLOW = """
import os
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
from prefect import flow, task

@task
def one() -> int:
    return 1

@flow
def bare() -> int:
    return one()

bare()
"""


def prepare(rows: int) -> Path:
    """Generate (or reuse) the national month of `rows` rows and its gazetteer."""
    from crimegeo.flows.sample import generate_sample, national_forces
    from crimegeo.gazetteer import build_gazetteer

    folder = CACHE / f"national-{rows}"
    if (folder / "gazetteer" / "manifest.json").exists():
        return folder
    print(f"generating a national month of {rows:,} rows in {folder} ...", flush=True)
    summary = generate_sample(folder, month=MONTH, rows=rows, seed=2024,
                              forces=national_forces(), streets_per_force=3000)
    build_gazetteer([summary["gazetteer_source"]], str(folder / "gazetteer"), format="csv")
    return folder


def prepare_real_shaped(rows: int) -> Path:
    """Generate (or reuse) the real-shaped national month of `rows` rows and its gazetteer."""
    from crimegeo.flows.sample import generate_real_shaped
    from crimegeo.gazetteer import build_gazetteer

    folder = CACHE / f"real-shaped-{rows}"
    if (folder / "gazetteer" / "manifest.json").exists():
        return folder
    if not POLICE_UK.is_dir():
        raise SystemExit(f"the real-shaped workload needs the real police.uk files in {POLICE_UK}")
    print(f"moving real police.uk rows into a national month of {rows:,} rows in {folder} ...",
          flush=True)
    summary = generate_real_shaped(folder, POLICE_UK, month=MONTH, rows=rows, seed=2024)
    build_gazetteer([summary["gazetteer_source"]], str(folder / "gazetteer"), format="csv")
    return folder


def prepare_workload(workload: str, rows: int) -> Path:
    """The cached input and gazetteer folder of a workload."""
    return prepare(rows) if workload == "generated" else prepare_real_shaped(rows)


def measure(command: list[str]) -> dict:
    """Run `command` in a fresh process; wall seconds, peak RSS and output."""
    done = subprocess.run([sys.executable, "-c", MEASURE, *command], capture_output=True,
                          text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    result = json.loads(done.stdout)
    if result["code"] != 0:
        raise SystemExit(f"{' '.join(command[:4])} failed:\n{result['stderr']}")
    return result


def run_floor(folder: Path, work: Path) -> dict:
    return measure([sys.executable, "-c", FLOOR, MONTH, str(folder / "input"),
                    str(work / "floor")])


def run_bare_flow() -> dict:
    return measure([sys.executable, "-c", BARE_FLOW])


def run_crimegeo(kind: str, folder: Path, work: Path) -> dict:
    result = measure([sys.executable, "-m", "crimegeo.flows", kind, "--month", MONTH, "--input",
                      str(folder / "input"), "--output", str(work / kind), "--gazetteer",
                      str(folder / "gazetteer"), "--json"])
    result["manifest"] = json.loads(result["stdout"][result["stdout"].index("{"):])
    return result


def median(values: list[float]) -> float:
    return statistics.median(values)


def national(rows: int, repeats: int, with_flow: bool, workloads: list[str]) -> None:
    """Each workload against its floor; the workloads' runs alternate, repeat by repeat, so
    a busy minute on the shared machine falls on both."""
    folders = {workload: prepare_workload(workload, rows) for workload in workloads}
    every = {workload: {"floor": [], "pipeline": [], "run": [], "bare": []}
             for workload in workloads}
    for repeat in range(repeats):
        for workload, folder in folders.items():
            runs = every[workload]
            with tempfile.TemporaryDirectory() as scratch:
                work = Path(scratch)
                runs["floor"].append(run_floor(folder, work))
                runs["pipeline"].append(run_crimegeo("pipeline", folder, work))
                if with_flow:
                    runs["run"].append(run_crimegeo("run", folder, work))
                    runs["bare"].append(run_bare_flow())
            print(f"repeat {repeat + 1}/{repeats}, {workload}: floor "
                  f"{runs['floor'][-1]['seconds']:.1f} s, pipeline "
                  f"{runs['pipeline'][-1]['seconds']:.1f} s ("
                  f"{runs['pipeline'][-1]['seconds'] / runs['floor'][-1]['seconds']:.2f}x)"
                  + (f", run {runs['run'][-1]['seconds']:.1f} s, bare Prefect flow "
                     f"{runs['bare'][-1]['seconds']:.1f} s" if with_flow else ""), flush=True)
    for workload, runs in every.items():
        report_national(workload, rows, repeats, runs)


def report_national(workload: str, rows: int, repeats: int, runs: dict[str, list[dict]]
                    ) -> None:
    """One workload's table: medians against its floor, and where the pipeline's time goes."""
    print(f"\nNational month, {workload}: {rows:,} rows, 44 forces; medians of {repeats} "
          "runs\n")
    print(f"{'':28} {'wall s':>8} {'rows/s':>10} {'peak MiB':>9} {'vs floor':>9} "
          f"{'CPU s':>7}")
    floor = median([r["seconds"] for r in runs["floor"]])
    for kind, label in (("floor", "(a) floor: read+project+write"),
                        ("pipeline", "(b) crimegeo pipeline"), ("run", "(c) crimegeo run")):
        if not runs[kind]:
            continue
        seconds = median([r["seconds"] for r in runs[kind]])
        peak = median([r["peak_kib"] for r in runs[kind]]) / 1024
        cpu = median([r["cpu"] for r in runs[kind]])  # user + system, all threads
        print(f"{label:28} {seconds:8.2f} {rows / seconds:10,.0f} {peak:9.0f} "
              f"{seconds / floor:8.2f}x {cpu:7.2f}")
    if runs["run"]:
        extra = median([r["seconds"] for r in runs["run"]]) - median(
            [r["seconds"] for r in runs["pipeline"]])
        bare = median([r["seconds"] for r in runs["bare"]])
        print(f"\n(c) - (b): Prefect adds {extra:.1f} s to the pipeline (its temporary server, "
              "the flow's discover, verify, feedback and report tasks).")
        print(f"(d) a bare one-task Prefect flow on a temporary server takes {bare:.1f} s: "
              f"(c) - (b) is {extra / bare:.2f} times Prefect's fixed start-up cost.")
    stages: dict[str, list[float]] = {}
    for run in runs["pipeline"]:
        totals: dict[str, float] = {}
        for stats in run["manifest"]["files"].values():
            for stage, seconds in stats["seconds"].items():
                totals[stage] = totals.get(stage, 0.0) + seconds
        for stage, seconds in totals.items():
            stages.setdefault(stage, []).append(seconds)
    pipeline_seconds = median([r["manifest"]["seconds"] for r in runs["pipeline"]])
    wall = median([r["seconds"] for r in runs["pipeline"]])
    workers = runs["pipeline"][0]["manifest"].get("files_at_once", 1)
    print("\nWhere (b)'s wall time goes (median seconds):")
    print(f"  {'outside':10} {wall - pipeline_seconds:6.2f}  (interpreter start-up, the CLI's "
          "imports and settings, the process's exit)")
    if workers > 1:
        print(f"  pipeline stages, summed over files, each file in one of {workers} worker "
              "processes at once:")
    else:
        print("  pipeline stages, summed over files (reads and writes run on their own "
              "threads, beside parse and locate):")
    for stage in ("read", "parse", "locate", "areas", "anonymise", "write"):
        if stage in stages:
            print(f"  {stage:10} {median(stages[stage]):6.2f}")
    staged = sum(median(v) for v in stages.values())
    if workers > 1:
        print(f"  {'other':10} {pipeline_seconds - staged / workers:6.2f}  (the stages' sum "
              f"shared by {workers} workers taken off: discovery, worker start-up, Beam's "
              "import beside the first files, runner, forces' feedback, commit)")
    else:
        print(f"  {'other':10} {pipeline_seconds - staged + overlapped_seconds(stages):6.2f}  "
              "(discovery, gazetteer load, runner, feedback files, commit; reads and writes "
              "overlapped)")
    print(f"  {'the run':10} {pipeline_seconds:6.2f}  (from discovery to the manifest)")
    ratios = [p["seconds"] / f["seconds"] for p, f in zip(runs["pipeline"], runs["floor"],
                                                          strict=True)]
    print(f"  (b)/(a) run by run: {', '.join(f'{r:.2f}x' for r in ratios)}; median "
          f"{median(ratios):.2f}x")


def overlapped_seconds(stages: dict[str, list[float]]) -> float:
    """Read and write seconds spent beside the other stages (on the reader and writer
    threads), not before or after them."""
    return sum(median(stages[stage]) for stage in ("read", "write") if stage in stages)


def scaling(sizes: list[int], repeats: int, workload: str) -> None:
    print(f"{'rows':>10} {'floor s':>8} {'pipeline s':>11} {'us/row floor':>13} "
          f"{'us/row pipeline':>16} {'peak MiB':>9}")
    per_row, seconds = [], []
    for rows in sizes:
        folder = prepare_workload(workload, rows)
        floors, pipes, peaks = [], [], []
        for _ in range(repeats):
            with tempfile.TemporaryDirectory() as scratch:
                floors.append(run_floor(folder, Path(scratch))["seconds"])
                run = run_crimegeo("pipeline", folder, Path(scratch))
                pipes.append(run["manifest"]["pipeline_seconds"])
                peaks.append(run["peak_kib"] / 1024)
        floor, pipe = median(floors), median(pipes)
        per_row.append(pipe / rows)
        seconds.append(pipe)
        print(f"{rows:10,} {floor:8.2f} {pipe:11.2f} {floor / rows * 1e6:13.2f} "
              f"{pipe / rows * 1e6:16.2f} {median(peaks):9.0f}")
    spread = (max(per_row) - min(per_row)) / min(per_row)
    print(f"\nin-process time per row varies by {spread:.0%} across the sizes (a fixed set-up "
          "cost is spread over fewer rows at the small end)")
    marginal = [(seconds[i] - seconds[i - 1]) / (sizes[i] - sizes[i - 1])
                for i in range(1, len(sizes))]
    for i, cost in enumerate(marginal, start=1):
        print(f"marginal time per row from {sizes[i - 1]:,} to {sizes[i]:,} rows: "
              f"{cost * 1e6:.2f} us")
    if len(marginal) > 1:
        change = (max(marginal) - min(marginal)) / min(marginal)
        print(f"marginal time per row varies by {change:.0%} between the intervals")
    fixed = seconds[0] - marginal[0] * sizes[0] if marginal else 0.0
    print(f"fixed in-process cost (intercept of the first interval): {fixed:.2f} s")


def main() -> None:
    # The generated Kent and West Midlands exports hold force references, whose public ids a
    # run makes only under a key: the benchmark makes a throwaway one, as `crimegeo demo` does.
    os.environ.setdefault("CRIMEGEO_PUBLIC_ID_KEY", secrets.token_urlsafe(32))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=550_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-flow", action="store_true", help="skip (c), the Prefect run")
    parser.add_argument("--workload", choices=(*WORKLOADS, "both"), default="both",
                        help="the generated month, real rows moved into every force, or both")
    parser.add_argument("--scaling", default=None,
                        help="comma-separated sizes, e.g. 55000,550000,2200000")
    args = parser.parse_args()
    started = time.perf_counter()
    workloads = list(WORKLOADS) if args.workload == "both" else [args.workload]
    if args.scaling:
        for workload in workloads:
            print(f"\n{workload}:")
            scaling([int(s) for s in args.scaling.split(",")], args.repeats, workload)
    else:
        national(args.rows, args.repeats, not args.no_flow, workloads)
    print(f"\n(benchmark took {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
