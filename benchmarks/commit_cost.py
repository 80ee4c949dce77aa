"""What a month's commit costs: the generation switch against the per-kind swaps it replaced.

    .venv/bin/python benchmarks/commit_cost.py [--forces 43] [--repeats 5] [--gcs]

Stages a month shaped like a national one (per force: a restricted, public and rejected part
and the three feedback files; the Parquet bytes are small, since a local commit moves folders
and a bucket commit copies objects whatever their size... the count of objects is what costs),
then times `commit_month` over a month that was already published (a rerun), repeats, and
prints the median and every run. The old algorithm is main's `store/publish.py` before
generations, loaded from git (`git show <rev>:store/publish.py`). `--gcs` runs both against
the GCS emulator (`gcp-storage-emulator`, as the tests do) instead of a local folder.

    .venv/bin/python benchmarks/commit_cost.py --history 0,24,96,190

times this code's commit, in a local folder, after that many months were published before
it: what a long backfill's commits, which take turns, cost as its history grows.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crimegeo.store import publish  # noqa: E402
from crimegeo.store.current import live_months  # noqa: E402
from crimegeo.store.files import filesystem, write_bytes_atomic  # noqa: E402
from crimegeo.store.layout import OutputLayout  # noqa: E402
from tests.store.test_reader_atomic import _manifest, _parquet  # noqa: E402

MONTH = "2024-03"


def old_publish(revision: str) -> types.ModuleType:
    """main's publish module from before generations, loaded from git."""
    source = subprocess.run(["git", "show", f"{revision}:store/publish.py"], check=True,
                            capture_output=True, text=True,
                            cwd=Path(__file__).resolve().parents[1]).stdout
    module = types.ModuleType("old_publish")
    exec(compile(source, "old_publish.py", "exec"), module.__dict__)
    return module


def stage(output: str, run_id: str, forces: list[str]) -> dict:
    staged = OutputLayout(output).staged(run_id)
    rows = {force: 50 for force in forces}
    data = _parquet(run_id, 50)
    for force in forces:
        for kind in ("restricted", "public", "rejected"):
            write_bytes_atomic(staged.part(kind, MONTH, force, "part-0.parquet"), data)
        for name in ("corrections.csv", "corrections.geojson", "summary.json"):
            write_bytes_atomic(staged.feedback_file(force, MONTH, name),
                               b'{"run_id": "%s"}' % run_id.encode())
    return _manifest(run_id, rows)


def time_commits(commit, output: str, forces: list[str], repeats: int) -> list[float]:
    seconds = []
    manifest = stage(output, "warm", forces)
    commit(output, "warm", MONTH, manifest)  # a month already published: every commit a rerun
    for number in range(repeats):
        run_id = f"run-{number}"
        manifest = stage(output, run_id, forces)
        started = time.perf_counter()
        commit(output, run_id, MONTH, manifest)
        seconds.append(time.perf_counter() - started)
    return seconds


def months_before(month: str, count: int) -> list[str]:
    """The `count` months before `month`, oldest first."""
    year, number = map(int, month.split("-"))
    index = year * 12 + number - 1
    return [f"{(index - back) // 12}-{(index - back) % 12 + 1:02d}"
            for back in range(count, 0, -1)]


def with_history(output: str, forces: list[str], months: int) -> None:
    """`months` months published before MONTH, each with every force's feedback, and the
    forces' indexes listing them all (built once at the end, not by every commit: that is
    what is timed after)."""
    real_index = publish.write_force_index
    publish.write_force_index = lambda *args, **kwargs: {}
    try:
        for month in months_before(MONTH, months):
            run_id = f"history-{month}"
            staged = OutputLayout(output).staged(run_id)
            for force in forces:
                for name in ("corrections.csv", "corrections.geojson", "summary.json"):
                    write_bytes_atomic(staged.feedback_file(force, month, name),
                                       b'{"run_id": "%s"}' % run_id.encode())
            manifest = _manifest(run_id, {force: 0 for force in forces})
            manifest["month"] = month
            publish.commit_month(output, run_id, month, manifest)
    finally:
        publish.write_force_index = real_index
    live = live_months(output)
    for force in forces:
        real_index(output, force, live=live)


def history_costs(base: str, forces: list[str], histories: list[int], repeats: int) -> None:
    """A month's commit with each number of months published before it."""
    for months in histories:
        output = f"{base}/history-{months}"
        with_history(output, forces, months)
        seconds = time_commits(publish.commit_month, output, forces, repeats)
        print(f"{months:4d} months before it: commit median "
              f"{statistics.median(seconds) * 1000:8.1f} ms   runs: "
              + " ".join(f"{s * 1000:.1f}" for s in seconds))
        fs, root = filesystem(output)
        fs.rm(root, recursive=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--forces", type=int, default=43)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--gcs", action="store_true")
    parser.add_argument("--old", default="main", help="git revision of the old commit")
    parser.add_argument("--history", default=None, metavar="N,N,...",
                        help="time this code's commit with N months published before it")
    args = parser.parse_args()
    forces = [f"force-{i:02d}" for i in range(args.forces)]
    if args.history:
        histories = [int(n) for n in args.history.split(",")]
        print(f"{args.forces} forces; a month's commit (a rerun) after months published "
              f"before it, {args.repeats} commits each")
        with tempfile.TemporaryDirectory() as folder:
            history_costs(folder, forces, histories, args.repeats)
        return
    old = old_publish(args.old)

    def run(base: str) -> None:
        for name, commit in (("per-kind swaps (old)", old.commit_month),
                             ("generation + pointer (new)", publish.commit_month)):
            output = f"{base}/{name.split()[0]}"
            seconds = time_commits(commit, output, forces, args.repeats)
            print(f"{name:28s} median {statistics.median(seconds) * 1000:8.1f} ms   runs: "
                  + " ".join(f"{s * 1000:.1f}" for s in seconds))
            fs, root = filesystem(output)
            fs.rm(root, recursive=True)

    print(f"{args.forces} forces, {args.forces * 6} files per month, {args.repeats} commits each")
    if args.gcs:
        from tests.streaming.streaming_support import gcs_emulator

        with gcs_emulator("crimegeo-bench"):
            run("gs://crimegeo-bench")
    else:
        with tempfile.TemporaryDirectory() as folder:
            run(folder)


if __name__ == "__main__":
    main()
