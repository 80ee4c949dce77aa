"""Print how fast the force feeds server answers: first (key check) and cached requests, 200 vs
304 pulls of a month's corrections, and the JSON form derived from the CSV.

    python benchmarks/feeds_pull.py [--rows 20000] [--requests 200]

Builds a synthetic feedback month in a temporary folder, runs the real server (uvicorn) on a
loopback port in a thread and times sequential requests with httpx.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crimegeo.feeds.app import create_app  # noqa: E402
from crimegeo.feeds.keys import add_key  # noqa: E402
from crimegeo.standards.schema import CORRECTION_COLUMNS  # noqa: E402


def build(output: Path, rows: int) -> None:
    """One month of kent feedback with ``rows`` corrections, and its index."""
    folder = output / "feedback" / "force=kent" / "month=2024-03"
    folder.mkdir(parents=True)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CORRECTION_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for i in range(rows):
        writer.writerow({c: "" for c in CORRECTION_COLUMNS} | {
            "crime_id": f"KT/{i}", "month": "2024-03", "source_file": "kent.csv",
            "source_row": i + 1, "action": "located from street name",
            "location_status": "geocoded_street", "supplied_location": f"Street {i}",
            "lon": 1.0 + i / 1e6, "lat": 51.0 + i / 1e6, "geocode_score": 0.93,
            "reasons": "MISSING_COORDINATES;GEOCODED_STREET"})
    data = buffer.getvalue().encode()
    (folder / "corrections.csv").write_bytes(data)
    index = {"force": "kent", "months": [{"month": "2024-03", "run_id": "bench", "files": {
        "corrections.csv": {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}}}]}
    (output / "feedback" / "force=kent" / "index.json").write_text(json.dumps(index))


def timed(client: httpx.Client, path: str, n: int, headers: dict | None = None) -> tuple:
    """Median and 95th percentile milliseconds of ``n`` sequential GETs, and the last status."""
    times = []
    status = 0
    for _ in range(n):
        started = time.perf_counter()
        status = client.get(path, headers=headers or {}).status_code
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1], status


def main() -> None:
    """Run the benchmark and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        output = Path(tmp) / "output"
        build(output, args.rows)
        _, key = add_key(Path(tmp) / "keys.json", "kent")
        app = create_app(str(output), Path(tmp) / "keys.json", rate_limit=1e9)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.bind(("127.0.0.1", 0))
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.01)
        base = f"http://127.0.0.1:{sock.getsockname()[1]}"
        csv_path = "/v1/forces/kent/months/2024-03/corrections.csv"
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}) as client:
            started = time.perf_counter()
            first = client.get("/v1/forces/kent/months")
            elapsed = (time.perf_counter() - started) * 1000
            print(f"first request (PBKDF2 key check): {elapsed:.1f} ms -> {first.status_code}")
            size = len(client.get(csv_path).content)
            etag = client.get(csv_path).headers["etag"]
            json_etag = client.get(csv_path.replace(".csv", ".json")).headers["etag"]
            rows = [
                ("months list", *timed(client, "/v1/forces/kent/months", args.requests)),
                (f"corrections.csv ({size / 1e6:.1f} MB)", *timed(client, csv_path, args.requests)),
                ("corrections.csv, 304", *timed(client, csv_path, args.requests,
                                                {"If-None-Match": etag})),
                ("corrections.json", *timed(client, csv_path.replace(".csv", ".json"),
                                            max(10, args.requests // 10))),
                ("corrections.json, 304", *timed(client, csv_path.replace(".csv", ".json"),
                                                 args.requests, {"If-None-Match": json_etag})),
                ("another force's feed, 404", *timed(client, "/v1/forces/surrey/months",
                                                     args.requests)),
            ]
        server.should_exit = True
        thread.join(10)
    print(f"{'request':34} {'median ms':>10} {'p95 ms':>8} status   ({args.rows} rows)")
    for name, median, p95, status in rows:
        print(f"{name:34} {median:10.2f} {p95:8.2f} {status}")


if __name__ == "__main__":
    main()
