"""Helpers for the force feeds tests: a feedback tree in the pipeline's layout, keys, a server.

The fixture tree follows the contract the pipeline writes::

    OUTPUT/feedback/force=<code>/index.json
    OUTPUT/feedback/force=<code>/month=<YYYY-MM>/corrections.csv | .geojson | summary.json

Every row's ``detail`` names the run that wrote it, so a test can tell two runs apart inside
one response. The server is the real one: uvicorn on a loopback socket in a background thread,
stopped at the end of its fixture (and by a watchdog timer whatever happens).
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import uvicorn

from crimegeo.feeds.keys import MIN_ITERATIONS, add_key
from crimegeo.standards.schema import CORRECTION_COLUMNS
from crimegeo.store.layout import FEEDBACK_FILES as MONTH_FILES

#: Forces with a feed in the fixture tree; ``surrey`` has no index.json (listing fallback).
FEED_FORCES = ("city-of-london", "kent", "west-midlands", "merseyside", "surrey")
NO_INDEX_FORCE = "surrey"
#: A force with a key but no feedback at all.
NO_FEED_FORCE = "dorset"
MONTHS = ("2024-02", "2024-03")
CANARY = "CANARY-7c1e-never-served"


def correction_rows(force: str, month: str, run_id: str, count: int) -> list[dict]:
    """``count`` corrections rows for a force and month, each naming ``run_id`` in ``detail``."""
    rows = []
    for i in range(count):
        rows.append({
            "crime_id": f"{force[:2].upper()}/{month}/{i:05d}", "month": month,
            "source_file": f"{force}_{month}.csv", "source_row": str(i + 1),
            "action": "located from street name" if i % 2 else "coordinates corrected",
            "location_status": "geocoded_street" if i % 2 else "corrected",
            # a cell a spreadsheet would run: the pipeline neutralises it with an apostrophe
            "supplied_location": "'=HYPERLINK(\"x\")" if i == 0 else f"On or near Street {i}",
            "supplied_x": "", "supplied_y": "", "supplied_crs": "EPSG:4326",
            "lon": f"{-1.5 + i / 1000:.6f}", "lat": f"{52.4 + i / 1000:.6f}",
            "x_bng": "", "y_bng": "", "match_type": "exact" if i % 2 else "",
            "geocode_score": "1.0" if i % 2 else "", "gazetteer_id": "",
            "reasons": "SWAPPED_AXES" if i % 2 == 0 else "MISSING_COORDINATES;GEOCODED_STREET",
            "reason_meanings": "meaning", "detail": f"run {run_id}",
        })
    return rows


def month_files(force: str, month: str, run_id: str, count: int) -> dict[str, bytes]:
    """The three files of one month folder, as the pipeline would write them."""
    rows = correction_rows(force, month, run_id, count)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CORRECTION_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    features = []
    for row in rows:
        features.append({"type": "Feature",
                         "geometry": {"type": "Point",
                                      "coordinates": [float(row["lon"]), float(row["lat"])]},
                         "properties": {**row, "reasons": row["reasons"].split(";")}})
    geojson = {"type": "FeatureCollection", "features": features}
    summary = {"force": force, "month": month, "run_id": run_id, "records": count,
               "counts_by_status": {"corrected": (count + 1) // 2, "geocoded_street": count // 2},
               "counts_by_reason": {}, "rejected": 0, "previous_month": None}
    return {"corrections.csv": buffer.getvalue().encode(),
            "corrections.geojson": json.dumps(geojson).encode(),
            "summary.json": json.dumps(summary).encode()}


def write_month(folder: Path, force: str, month: str, run_id: str, count: int) -> None:
    """Write one month folder's files into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in month_files(force, month, run_id, count).items():
        (folder / name).write_bytes(data)


def write_index(force_dir: Path) -> dict:
    """Rebuild ``index.json`` for a force folder, atomically (temporary file, then replace)."""
    months = []
    for folder in sorted(force_dir.glob("month=*")):
        files = {}
        run_id = None
        for name in MONTH_FILES:
            path = folder / name
            if path.exists():
                data = path.read_bytes()
                files[name] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
                if name == "summary.json":
                    run_id = json.loads(data)["run_id"]
        months.append({"month": folder.name.removeprefix("month="), "run_id": run_id,
                       "updated_at": "2024-04-02T09:00:00+00:00", "files": files})
    index = {"force": force_dir.name.removeprefix("force="), "months": months}
    temporary = force_dir / f".index-{uuid.uuid4().hex}"
    temporary.write_text(json.dumps(index, indent=2))
    os.replace(temporary, force_dir / "index.json")
    return index


def rerun_month(output: Path, force: str, month: str, run_id: str, count: int, *,
                gap: float = 0.0) -> None:
    """Replace a published month as the pipeline does: old folder aside, new one in, index.

    ``gap`` seconds pass between the two renames, as when a bucket copies objects one by one.
    """
    staged = output / "_staging" / run_id / "feedback" / f"force={force}" / f"month={month}"
    write_month(staged, force, month, run_id, count)
    published = output / "feedback" / f"force={force}" / f"month={month}"
    trash = output / "_trash" / uuid.uuid4().hex
    trash.mkdir(parents=True)
    if published.exists():
        os.rename(published, trash / "0")
    time.sleep(gap)
    os.rename(staged, published)
    write_index(published.parent)
    shutil.rmtree(trash)
    shutil.rmtree(output / "_staging" / run_id)


def build_tree(output: Path) -> None:
    """The fixture feedback tree, plus canary files outside it that must never be served."""
    for n, force in enumerate(FEED_FORCES):
        for month in MONTHS:
            write_month(output / "feedback" / f"force={force}" / f"month={month}", force,
                        month, f"{month}-run-{force}", 5 + n)
        if force != NO_INDEX_FORCE:
            write_index(output / "feedback" / f"force={force}")
    (output / "secret.txt").write_text(CANARY)
    (output / "feedback" / "secret.txt").write_text(CANARY)
    (output / "feedback" / "force=kent" / "secret.txt").write_text(CANARY)
    (output / "feedback" / "force=kent" / "month=2024-03" / "secret.txt").write_text(CANARY)
    (output.parent / "secret.txt").write_text(CANARY)


def make_keys(path: Path, forces: tuple[str, ...]) -> dict[str, str]:
    """A key per force and one operator key (``"*"``) in the keys file at ``path``."""
    keys = {}
    for force in (*forces, "*"):
        _, keys[force] = add_key(path, force, iterations=MIN_ITERATIONS)
    return keys


@contextlib.contextmanager
def running_server(app: object, *, watchdog_seconds: float = 120.0) -> Iterator[str]:
    """Run ``app`` under uvicorn on 127.0.0.1 (a free port) in a thread; yields its base URL."""
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted sockets only when the
    # listening socket says so; without it every response waits ~40 ms (Nagle + delayed ACK).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                            timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    watchdog = threading.Timer(watchdog_seconds, lambda: setattr(server, "should_exit", True))
    watchdog.daemon = True
    thread.start()
    watchdog.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the feeds server did not start")
            time.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        watchdog.cancel()
        thread.join(10)
        sock.close()


