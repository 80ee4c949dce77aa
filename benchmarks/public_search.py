"""How fast the public site answers over a year of national public data, and how big it is.

Prepares (once, cached under `.bench/public-search/`) a year of national public data: the
national month of `benchmarks/national_month.py` (550k rows, 44 forces, 3,000 streets per
force) run once through `crimegeo pipeline`, its `public/` month then hard-linked as each of
12 months (the same rows each month; the queries' costs do not depend on which). Then starts
`crimegeo public serve` as a child process and measures, over HTTP, one client at a time:

  - time to first answer: from starting the process to the first 200 of a crimes-street query;
  - p50 and p95 latency per query type: `crimes-street` within one mile of a public map point
    (random points, random months), `crimes-at-location` by `location_id`, name search
    (`/api/locate?q=` with real street names of the gazetteer), `crimes-street?q=` by name, and
    the `/search` page;
  - the server's resident memory after the run and its peak (VmRSS, VmHWM).

Run from the project root after `make install`:

    .venv/bin/python benchmarks/public_search.py                       # 200 queries per type
    .venv/bin/python benchmarks/public_search.py --source /path/to/.bench/national-550000
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CACHE = ROOT / ".bench" / "public-search"
MONTH = "2024-03"
YEAR = [f"{2023 + (m + 3) // 12}-{(m + 3) % 12 + 1:02d}" for m in range(12)]  # 2023-04..2024-03


def prepare(source: Path) -> Path:
    """The year of public data (cached): one pipeline run, then 12 hard-linked months."""
    output = CACHE / "year"
    done = output / "public" / f"month={YEAR[-1]}"
    if done.exists() and len(list((output / "public").iterdir())) == 12:
        return output
    from crimegeo.store.current import live_files, live_root

    month_output = CACHE / "month-output"
    if not live_files(str(month_output), "public", MONTH):
        print(f"running the national month {source} through the pipeline ...", flush=True)
        # The national month has force references: its public ids need a key. A throwaway
        # one (as `crimegeo demo` makes) unless the caller gives theirs.
        env = {"CRIMEGEO_PUBLIC_ID_KEY": secrets.token_hex(32), **os.environ}
        subprocess.run([str(ROOT / ".venv" / "bin" / "crimegeo"), "pipeline", "--month", MONTH,
                        "--input", str(source / "input"), "--output", str(month_output),
                        "--gazetteer", str(source / "gazetteer")], check=True, env=env)
    # The month as committed: under the generation its pointer names.
    month_public = Path(live_root(str(month_output), MONTH)) / "public" / f"month={MONTH}"
    for month in YEAR:
        target = output / "public" / f"month={month}"
        if target.exists():
            continue
        for part in month_public.rglob("*.parquet"):
            dest = target / part.parent.name / part.name
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.link(part, dest)
    return output


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _memory(pid: int) -> dict[str, int]:
    values = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(("VmRSS", "VmHWM")):
                key, value = line.split(":")
                values[key] = int(value.split()[0]) // 1024
    return values


STATUSES: dict[int, int] = {}


def _timed(client: httpx.Client, url: str) -> float:
    """Milliseconds for one answer; 300 (choices) and 503 (over 10,000 crimes, as police.uk
    answers) are answers too, counted in STATUSES."""
    started = time.perf_counter()
    response = client.get(url)
    seconds = time.perf_counter() - started
    if response.status_code not in (200, 300, 503):
        raise RuntimeError(f"{url}: HTTP {response.status_code}: {response.text[:200]}")
    STATUSES[response.status_code] = STATUSES.get(response.status_code, 0) + 1
    return seconds * 1000


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    """Prepare, serve, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--source", type=Path, default=ROOT / ".bench" / "national-550000",
                        help="a national month folder of benchmarks/national_month.py "
                             "(generated when absent)")
    parser.add_argument("--queries", type=int, default=200, help="queries per type")
    parser.add_argument("--seed", type=int, default=18)
    args = parser.parse_args()
    if not (args.source / "gazetteer" / "manifest.json").exists():
        from benchmarks.national_month import prepare as prepare_national

        args.source = prepare_national(550_000)
    output = prepare(args.source)
    import pyarrow.parquet as pq

    sample = pq.read_table(output / "public" / f"month={MONTH}",
                           columns=["location_id", "public_lon", "public_lat"]).to_pandas()
    sample = sample[sample["location_id"].notna()].drop_duplicates("location_id")
    rows = sum(pq.ParquetFile(p).metadata.num_rows
               for p in (output / "public").rglob("*.parquet"))
    import csv

    from crimegeo.standards.registry import load_registry

    registry = load_registry()
    with open(args.source / "gazetteer-source" / "streets.csv", encoding="utf-8") as handle:
        streets = [(r["name"], registry.get(r["force"]).name) for r in csv.DictReader(handle)
                   if r["local_type"] == "Named Road"]
    names = sorted({name for name, _ in streets})
    rng = random.Random(args.seed)

    port = _free_port()
    started = time.perf_counter()
    server = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "crimegeo"), "public", "serve", "--output", str(output),
         "--gazetteer", str(args.source / "gazetteer"), "--port", str(port), "--rate", "100000",
         "--burst", "100000", "--log-level", "warning"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    first = sample.iloc[0]
    first_url = (f"{base}/api/crimes-street/all-crime?lat={first.public_lat:.6f}"
                 f"&lng={first.public_lon:.6f}")
    try:
        with httpx.Client(timeout=60) as client:
            while True:
                try:
                    if client.get(first_url).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if server.poll() is not None:
                    raise RuntimeError(server.stderr.read().decode()[-2000:])
                time.sleep(0.05)
            first_answer = time.perf_counter() - started
            timings: dict[str, list[float]] = {}
            points = sample.sample(args.queries, random_state=args.seed)
            results = []
            for row in points.itertuples():
                month = rng.choice(YEAR)
                url = (f"{base}/api/crimes-street/all-crime?lat={row.public_lat:.6f}"
                       f"&lng={row.public_lon:.6f}&date={month}")
                timings.setdefault("crimes-street, 1 mile", []).append(_timed(client, url))
                answer = client.get(url)
                results.append(len(answer.json()) if answer.status_code == 200 else 10_001)
            for row in points.itertuples():
                url = (f"{base}/api/crimes-at-location?location_id={int(row.location_id)}"
                       f"&date={rng.choice(YEAR)}")
                timings.setdefault("crimes-at-location", []).append(_timed(client, url))
            queries = rng.sample(names, min(args.queries, len(names)))
            for name in queries:
                timings.setdefault("name search (/api/locate?q=Street)", []).append(
                    _timed(client, f"{base}/api/locate?q={quote(name)}"))
            for name in queries:
                timings.setdefault("crimes-street?q= (name; choices)", []).append(
                    _timed(client, f"{base}/api/crimes-street/all-crime?q={quote(name)}"
                                   f"&date={rng.choice(YEAR)}"))
            # The same names with their force ("Mill Mews, Kent Police"): one place each.
            qualified = rng.sample(streets, min(args.queries, len(streets)))
            for name, force in qualified:
                timings.setdefault("name search, 'Street, Force'", []).append(
                    _timed(client, f"{base}/api/locate?q={quote(f'{name}, {force}')}"))
            for name, force in qualified:
                timings.setdefault("crimes-street?q='Street, Force'", []).append(
                    _timed(client, f"{base}/api/crimes-street/all-crime?"
                                   f"q={quote(f'{name}, {force}')}&date={rng.choice(YEAR)}"))
            for name, force in qualified[: max(1, args.queries // 4)]:
                timings.setdefault("/search page (map, lists)", []).append(
                    _timed(client, f"{base}/search?q={quote(f'{name}, {force}')}"
                                   f"&date={rng.choice(YEAR)}"))
            for name in queries[: max(1, args.queries // 4)]:
                timings.setdefault("/search page (choices)", []).append(
                    _timed(client, f"{base}/search?q={quote(name)}&date={rng.choice(YEAR)}"))
            memory = _memory(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)

    report = {
        "rows": rows, "months": len(YEAR), "cpus": os.cpu_count(),
        "time_to_first_answer_s": round(first_answer, 2),
        "crimes_per_1_mile_answer_median": statistics.median(results),
        "statuses": STATUSES, "server_rss_mib": memory.get("VmRSS"),
        "server_peak_rss_mib": memory.get("VmHWM"),
        "latency_ms": {kind: {"n": len(v), "p50": round(_percentile(v, 0.5), 1),
                              "p95": round(_percentile(v, 0.95), 1),
                              "max": round(max(v), 1)} for kind, v in timings.items()},
    }
    print(f"public data: {rows:,} rows in {len(YEAR)} months; {os.cpu_count()} CPUs")
    print(f"time to first answer: {report['time_to_first_answer_s']} s")
    print(f"server memory: {memory.get('VmRSS')} MiB resident, {memory.get('VmHWM')} MiB peak")
    print(f"crimes in a 1-mile answer (median): {report['crimes_per_1_mile_answer_median']}; "
          f"answers by status: {STATUSES} (503: over 10,000 crimes, as police.uk)")
    print(f"{'query':36} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for kind, stats in report["latency_ms"].items():
        print(f"{kind:36} {stats['n']:>5} {stats['p50']:>8} {stats['p95']:>8} {stats['max']:>8}")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
