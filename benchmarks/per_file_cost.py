"""What each input file costs besides its rows: the month's files cut to a few rows each.

A worker runs each file's whole chain (`transforms.batches.process_file`); some of that is
paid once a file whatever its size (opening and reading it, some ninety Arrow calls, three
Parquet parts written, its force's area in the gazetteer the first time). This cuts every
file of `benchmarks/national_month.py`'s cached workload (generated first if missing) to its
header and `--rows` rows, runs them all in this one process, first cold (each force's area
built, as a worker meets each force once) and then warm, and prints the milliseconds a file
by stage, and what the month's files cost that way in all.

    .venv/bin/python benchmarks/per_file_cost.py [--workload generated] [--rows 50] [--rounds 3]
"""

from __future__ import annotations

import argparse
import collections
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.national_month import MONTH, WORKLOADS, prepare_workload  # noqa: E402
from crimegeo.standards.profiles import load_profiles  # noqa: E402
from crimegeo.standards.public_ids import key_from_text  # noqa: E402
from crimegeo.store.inputs import discover_month  # noqa: E402
from crimegeo.transforms.batches import Resources, load_resources, process_file  # noqa: E402
from crimegeo.transforms.locate import LocateOptions  # noqa: E402


def cut_files(source: Path, target: Path, rows: int) -> None:
    """Each file of the month under `source` as its first line and `rows` more (a JSON
    Lines file: its first `rows` lines), under `target`."""
    for path in sorted((source / MONTH).iterdir()):
        keep = rows if path.suffix == ".jsonl" else rows + 1
        with path.open("rb") as handle:
            lines = [line for _, line in zip(range(keep), handle, strict=False)]
        (target / MONTH).mkdir(parents=True, exist_ok=True)
        (target / MONTH / path.name).write_bytes(b"".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workload", choices=WORKLOADS, default="generated")
    parser.add_argument("--rows", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3, help="warm rounds after the cold one")
    parser.add_argument("--month-rows", type=int, default=550_000,
                        help="size of the cached workload whose files are cut")
    args = parser.parse_args()
    folder = prepare_workload(args.workload, args.month_rows)
    profiles = {profile.name: profile for profile in load_profiles()}
    with tempfile.TemporaryDirectory() as scratch:
        cut = Path(scratch) / "input"
        cut_files(folder / "input", cut, args.rows)
        files = discover_month(str(cut), MONTH, list(profiles.values())).files
        loaded = load_resources(Resources(
            gazetteer=str(folder / "gazetteer"), map_points=None, boundaries=(),
            boundary_tolerance_m=0, public_id_key=key_from_text("k" * 40, "benchmark")))
        options = LocateOptions(min_geocode_score=0.8, far_from_street_m=1000.0)
        print(f"{args.workload}: {len(files)} files of {args.rows} rows each, one process")
        warm: list[float] = []
        for round_number in range(args.rounds + 1):
            staging = Path(scratch) / f"staging-{round_number}"
            stages: collections.Counter = collections.Counter()
            started = time.perf_counter()
            for item in files:
                result = process_file(item, profiles[item.profile], MONTH, str(staging),
                                      loaded, options)
                for _, stats in result.stats:
                    stages.update({key.removesuffix("_seconds"): value
                                   for key, value in stats.items()
                                   if key.endswith("_seconds") and value})
            seconds = time.perf_counter() - started
            shutil.rmtree(staging, ignore_errors=True)
            per_file = {stage: round(value * 1000 / len(files), 1)
                        for stage, value in stages.items()}
            other = (seconds - sum(stages.values())) * 1000 / len(files)
            label = "cold" if round_number == 0 else f"warm {round_number}"
            print(f"  {label:7} {seconds * 1000:6.0f} ms, {seconds * 1000 / len(files):5.1f} "
                  f"ms a file: {per_file}, other {other:.1f}")
            if round_number:
                warm.append(seconds)
        if warm:
            print(f"  warm median {statistics.median(warm) * 1000 / len(files):.1f} ms a file")


if __name__ == "__main__":
    main()
