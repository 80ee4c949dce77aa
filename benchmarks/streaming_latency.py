"""Seconds from a force file landing to its feedback being readable, with `crimegeo watch`.

Generates (once, cached under `.bench/streaming/`) a demo month of four 15,000-row force files
in the four export formats, and its gazetteer; starts the watcher as its own process on an
empty input folder, lets it ingest a small warm-up file, then lands each 15,000-row file in
turn (written under a hidden name, then renamed, as an upload should) and measures, from the
rename to the moment the force's `summary.json` is readable: the whole latency, the ingest
itself (parse, locate, anonymise, write: the `seconds` of the file's ledger entry), and the
rest (waiting for the next poll and for the file to settle, the micro-batch pipeline's start,
the feedback rebuild). The goal is under the poll interval plus 10 s.

Run from the project root after `make install`:

    .venv/bin/python benchmarks/streaming_latency.py                # --interval 5
    .venv/bin/python benchmarks/streaming_latency.py --interval 2 --rows 15000
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CACHE = ROOT / ".bench" / "streaming"
MONTH = "2024-03"


def demo(rows_per_file: int) -> dict:
    """The cached demo month (four force files of `rows_per_file` rows) and its gazetteer."""
    from crimegeo.flows.sample import generate_sample
    from crimegeo.gazetteer import build_gazetteer

    root = CACHE / f"rows-{rows_per_file}"
    marker = root / "summary.json"
    if not marker.exists():
        summary = generate_sample(root, month=MONTH, rows=rows_per_file * 4, seed=5)
        build_gazetteer([summary["gazetteer_source"]], str(root / "gazetteer"), format="csv")
        summary = {"input": str(summary["input"]), "files": summary["files"],
                   "gazetteer": str(root / "gazetteer")}
        marker.write_text(json.dumps(summary, default=str))
    return json.loads(marker.read_text())


def land(source: Path, target: Path, data: bytes | None = None) -> float:
    """Put a file in place atomically; returns the time it landed."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.part")
    temporary.write_bytes(source.read_bytes() if data is None else data)
    os.replace(temporary, target)
    return time.perf_counter()


def wait_for(path: Path, timeout: float) -> float:
    """Poll (every 10 ms) until `path` exists; returns when it did."""
    deadline = time.perf_counter() + timeout
    while not path.exists():
        if time.perf_counter() > deadline:
            raise TimeoutError(f"{path} did not appear within {timeout} s")
        time.sleep(0.01)
    return time.perf_counter()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=15_000, help="rows per force file")
    parser.add_argument("--interval", type=float, default=5.0, help="the watcher's poll interval")
    parser.add_argument("--settle", type=float, default=2.0, help="the watcher's settle time")
    args = parser.parse_args()
    data = demo(args.rows)
    source = Path(data["input"])
    files = {name: info for name, info in sorted(data["files"].items())}
    with tempfile.TemporaryDirectory(prefix="crimegeo-latency-") as work:
        incoming, output = Path(work) / "incoming", Path(work) / "output"
        incoming.mkdir()
        log = open(Path(work) / "watch.log", "w")  # noqa: SIM115 - closed below
        watcher = subprocess.Popen(
            [sys.executable, "-m", "crimegeo.flows.watch", "--input", str(incoming), "--output",
             str(output), "--gazetteer", data["gazetteer"], "--interval", str(args.interval),
             "--settle", str(args.settle)],
            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=log,
            stderr=subprocess.STDOUT)
        try:
            # Warm-up: the first batch of a process pays for imports and runner start-up.
            first_name = next(iter(files))
            warm = source / first_name
            lines = warm.read_bytes().split(b"\n")
            started = time.perf_counter()
            land(warm, incoming / MONTH / f"warmup-{first_name}",
                 b"\n".join(lines[:51]) + b"\n")
            force = files[first_name]["force"]
            cold = wait_for(output / "feedback" / f"force={force}" / f"month={MONTH}" /
                            "summary.json", 120) - started
            (incoming / MONTH / f"warmup-{first_name}").unlink()
            time.sleep(args.interval + 1)  # let it pick up the removal and go idle
            results = []
            for name, info in files.items():
                force = info["force"]
                summary = (output / "feedback" / f"force={force}" / f"month={MONTH}" /
                           "summary.json")
                if summary.exists():  # the warm-up file's force: wait for a change instead
                    summary.unlink()
                time.sleep(args.interval * (len(results) % 4) / 4)  # land at varied phases
                landed = land(source / name, incoming / MONTH / name)
                readable = wait_for(summary, args.interval + 120)
                entry = json.loads((output / "_ledger" / "files" / MONTH /
                                    f"{name}.json").read_text())
                results.append((name, info["rows"], readable - landed, entry["seconds"]))
        finally:
            watcher.send_signal(2)  # Ctrl-C: stops cleanly between batches
            watcher.wait(timeout=120)
            log.close()
    goal = args.interval + 10
    print(f"poll interval {args.interval:g} s, settle {args.settle:g} s; goal: under "
          f"{goal:g} s from landing to readable feedback\n")
    print(f"{'file':36} {'rows':>7} {'latency s':>10} {'ingest s':>9} {'rest s':>7}")
    for name, rows, latency, ingest in results:
        print(f"{name:36} {rows:7,} {latency:10.2f} {ingest:9.2f} {latency - ingest:7.2f}")
    latencies = [r[2] for r in results]
    print(f"\nmedian {statistics.median(latencies):.2f} s, worst {max(latencies):.2f} s "
          f"({'within' if max(latencies) < goal else 'OVER'} the goal of {goal:g} s); "
          f"first file after the watcher started (cold): {cold:.2f} s")
    print("note: the file that shares the warm-up's force republishes rather than publishes "
          "its feedback (the summary is removed first so the same wait applies)")


if __name__ == "__main__":
    main()
